package reconciler

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/secretsync/secretsync/desired"
	"github.com/secretsync/secretsync/drift"
	"github.com/secretsync/secretsync/internal/parallel"
	"github.com/secretsync/secretsync/inventory"
	"github.com/secretsync/secretsync/plan"
	"github.com/secretsync/secretsync/render"
)

// applier writes one pass's Secrets, part by part.
type applier struct {
	r        *Reconciler
	ctx      context.Context
	live     *drift.Live
	merged   map[plan.Target]*corev1.Secret
	mergeErr map[plan.Target]error
	res      *Result
	// done holds the targets now in their desired state.
	done map[plan.Target]*render.ExternalSecret
	mu   sync.Mutex // guards res and done while jobs run
}

func (r *Reconciler) newApplier(ctx context.Context, obs *observed, res *Result) *applier {
	return &applier{r: r, ctx: ctx, live: obs.live, merged: obs.merged, mergeErr: obs.mergeErr, res: res,
		done: map[plan.Target]*render.ExternalSecret{}}
}

// apply executes the plan of one part (planWrites): it writes every
// desired Secret whose content differs from the live one, each by its
// creation policy, and adds the targets now in their desired state to
// done. A failed target's outcome says so, so that it is kept, not pruned.
func (a *applier) apply(want []desiredSecret) {
	a.expect(want)
	actions, current := a.r.planWrites(a.ctx, want, a.live, a.merged, a.mergeErr)
	var jobs []func()
	// Merging writers of one target go in one job, in order, so that each
	// expects the version the previous one wrote.
	mergeJobs := map[plan.Target][]desiredSecret{}
	for i, d := range want {
		act := actions[i]
		a.r.executed(act)
		switch act.Kind {
		case plan.Refused:
			a.refused(d, act)
		case plan.Nothing, plan.Keep:
			a.keep(d, act.Kind == plan.Keep)
		case plan.Delete:
			jobs = append(jobs, func() { a.deleteGone(d) })
		case plan.Merge:
			mergeJobs[d.target] = append(mergeJobs[d.target], d)
		case plan.Create, plan.Apply:
			jobs = append(jobs, func() {
				err := a.r.applyOne(a.ctx, d, current[i])
				a.mu.Lock()
				defer a.mu.Unlock()
				a.written(d, current[i] == nil, err)
			})
		}
	}
	for t, ds := range mergeJobs {
		jobs = append(jobs, func() { a.mergeAll(t, ds) })
	}
	parallel.Run(a.r.cfg.Concurrency, jobs)
}

// expect records what each Secret will hold before it is written, so that
// the drift watch sees our own writes as expected, not as drift.
func (a *applier) expect(want []desiredSecret) {
	for _, d := range want {
		if !d.gone && d.secret != nil {
			exp := drift.Expected{Hash: d.hash, Shape: d.shape}
			if !desired.Merges(d.es) {
				if current, _ := a.live.Get(a.ctx, d.target); current != nil && len(current.ManagedFields) > 0 {
					exp.Before = current // OwnByApply writes first
				}
			}
			a.r.watch.Expect(d.target, exp)
		}
	}
}

// fail records a target's failure; the caller holds mu when jobs run.
func (a *applier) fail(d desiredSecret, err error) {
	a.res.Failed++
	err = fmt.Errorf("apply %s for externalsecret %s: %w", d.target.Named(), esID(d.es), err)
	err = a.res.fail(ApplyFailed, err)
	o := a.res.outcome(esID(d.es))
	o.failed, o.err, o.class = true, err, string(ApplyFailed)
}

// written records a write's outcome; the caller holds mu.
func (a *applier) written(d desiredSecret, created bool, err error) {
	if err != nil {
		a.fail(d, err)
		return
	}
	o := a.res.outcome(esID(d.es))
	o.written, o.created = true, created
	a.res.Applied++
	a.done[d.target] = d.es
	a.r.log.Debug().Str("namespace", d.target.Namespace).Str("secret", d.target.Name).Msg("applied")
}

// refused records an action the plan refused: a failure when it carries an
// error, else (an immutable Secret whose content changed) kept as it is.
func (a *applier) refused(d desiredSecret, act plan.Action) {
	if act.Err != nil {
		a.fail(d, act.Err)
		return
	}
	o := a.res.outcome(esID(d.es))
	o.err, o.class = errors.New(act.Reason), "Immutable"
	a.res.Unchanged++
	a.done[d.target] = d.es
}

// keep records a target left as it is; exists is false for a retained one
// with no target, and for policy None.
func (a *applier) keep(d desiredSecret, exists bool) {
	if d.retained {
		a.res.outcome(esID(d.es)).retained = true
	}
	if exists {
		a.res.Unchanged++
		a.done[d.target] = d.es // kept, so it stays in the inventory
	}
}

// deleteGone deletes the target of an ExternalSecret whose remote sources
// are all gone (deletionPolicy Delete), under prune's ownership checks.
func (a *applier) deleteGone(d desiredSecret) {
	e := inventory.EntryOf(d.target, esID(d.es), d.es.Source)
	deleted, err := a.r.pruneOne(a.ctx, e)
	a.mu.Lock()
	defer a.mu.Unlock()
	if err != nil {
		a.fail(d, err)
		return
	}
	if deleted {
		a.res.deleted = append(a.res.deleted, e)
	}
	o := a.res.outcome(esID(d.es))
	o.err, o.class = fmt.Errorf("every remote source is gone; the Secret was deleted (deletionPolicy Delete)"), "SecretDeleted"
}

// mergeAll applies the merging writers of one target in order, each
// expecting the version the previous one wrote.
func (a *applier) mergeAll(t plan.Target, ds []desiredSecret) {
	current := a.merged[t]
	for _, d := range ds {
		var taken map[string]string
		if current != nil {
			taken = plan.ForeignOwners(current, compare(current, d).Changed, plan.MergeManager(esID(d.es)))
		}
		next, err := a.r.targets().ApplyMerge(a.ctx, d.secret, plan.MergeManager(esID(d.es)), current)
		a.mu.Lock()
		a.written(d, current == nil, err)
		if err == nil {
			for _, k := range slices.Sorted(maps.Keys(taken)) {
				a.res.takenOver = append(a.res.takenOver, takeover{target: t, key: k, manager: taken[k], es: esID(d.es)})
			}
		}
		a.mu.Unlock()
		if err == nil {
			current = next
		}
	}
}

// beforeCreate, when set by a test, runs between the pass's LIST and the
// create of a new Secret: the window in which someone else may create it.
var beforeCreate func(namespace, name string)

// applyOne writes one Secret. current is this instance's live Secret, nil
// when there is none. A new Secret is created with a plain create, which
// fails when the name is taken, so a Secret someone else made (even in
// the moment since the pass listed them) is reported, never taken over.
// Later writes are server-side applies.
func (r *Reconciler) applyOne(ctx context.Context, d desiredSecret, current *corev1.Secret) error {
	if current == nil {
		if beforeCreate != nil {
			beforeCreate(d.target.Namespace, d.target.Name)
		}
		err := r.targets().Create(ctx, d.target, d.secret)
		if !apierrors.IsAlreadyExists(err) {
			return err
		}
		existing, err := r.targets().Get(ctx, d.target)
		if err != nil {
			return err
		}
		if !r.owns(d.target.Kind, existing.ObjectMeta) {
			return fmt.Errorf("a %s of that name exists and is not managed by secretsync instance %q (labels %s=%q, %s=%q); delete it or rename the target",
				d.target.Noun(), r.cfg.Instance, LabelManagedBy, existing.Labels[LabelManagedBy], LabelInstance, existing.Labels[LabelInstance])
		}
		current = existing // ours after all: made by another replica or pass
		if !drift.CreatedByUpdate(current) {
			current.ManagedFields = nil
		}
	}
	if len(current.ManagedFields) > 0 {
		if err := r.targets().OwnByApply(ctx, d.target, current); err != nil {
			return err
		}
	}
	return r.targets().Apply(ctx, d.target, d.secret)
}
