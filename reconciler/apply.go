package reconciler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"

	"github.com/secretsync/secretsync/render"
)

// applier writes one pass's Secrets, part by part.
type applier struct {
	r        *Reconciler
	ctx      context.Context
	live     map[targetKey]*corev1.Secret
	listErr  map[string]error
	merged   map[targetKey]*corev1.Secret
	mergeErr map[targetKey]error
	blocked  map[targetKey]bool
	res      *Result
	// done holds the targets now in their desired state.
	done map[targetKey]*render.ExternalSecret
	// names holds each namespace's Secret names, listed at most once a pass.
	names map[string]map[string]bool
}

func (r *Reconciler) newApplier(ctx context.Context, live map[targetKey]*corev1.Secret, listErr map[string]error,
	merged map[targetKey]*corev1.Secret, mergeErr map[targetKey]error, blocked map[targetKey]bool, res *Result) *applier {
	return &applier{r: r, ctx: ctx, live: live, listErr: listErr, merged: merged, mergeErr: mergeErr, blocked: blocked, res: res,
		done: map[targetKey]*render.ExternalSecret{}, names: map[string]map[string]bool{}}
}

// apply writes every desired Secret whose content differs from the live
// one, each by its creation policy, and adds the targets now in their
// desired state to done. Failed targets are added to blocked so that they
// are kept, not pruned.
func (a *applier) apply(want []desiredSecret) {
	r, ctx, res, live, merged, done := a.r, a.ctx, a.res, a.live, a.merged, a.done
	var mu sync.Mutex
	fail := func(d desiredSecret, err error) {
		a.blocked[d.target] = true
		res.Failed++
		err = fmt.Errorf("apply secret %s for externalsecret %s: %w", d.target, esID(d.es), err)
		res.fail(ApplyFailed, err)
		o := res.outcome(esID(d.es))
		o.err, o.class = err, string(ApplyFailed)
	}
	// written records a write's outcome; the caller holds mu.
	written := func(d desiredSecret, created bool, err error) {
		if err != nil {
			fail(d, err)
			return
		}
		o := res.outcome(esID(d.es))
		o.written, o.created = true, created
		res.Applied++
		done[d.target] = d.es
		r.log.Debug().Str("namespace", d.target.namespace).Str("secret", d.target.name).Msg("applied")
	}
	absent := a.knownAbsent(want)
	// The drift watch must see our own writes as expected, not as drift:
	// record what each Secret will hold before writing it.
	for _, d := range want {
		if !d.gone && d.secret != nil {
			r.expected.Store(d.target, expected{hash: d.hash, shape: d.shape})
		}
	}
	var jobs []func()
	// Merging writers of one target go in one job, in order, so that each
	// expects the version the previous one wrote.
	mergeJobs := map[targetKey][]desiredSecret{}
	for _, d := range want {
		current, readErr := live[d.target], a.listErr[d.target.namespace]
		if merges(d.es) {
			current, readErr = merged[d.target], a.mergeErr[d.target]
		}
		switch {
		case readErr != nil:
			fail(d, readErr)
		case creationPolicy(d.es) == PolicyNone:
			// resolved and reported only
		case d.gone:
			jobs = append(jobs, func() {
				e := Entry{Namespace: d.target.namespace, Name: d.target.name, ExternalSecret: esID(d.es), Source: d.es.Source}
				deleted, err := r.pruneOne(ctx, e)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					fail(d, err)
					return
				}
				if deleted {
					res.deleted = append(res.deleted, e)
				}
				o := res.outcome(esID(d.es))
				o.err, o.class = fmt.Errorf("every remote source is gone; the Secret was deleted (deletionPolicy Delete)"), "SecretDeleted"
			})
		case d.reused || d.shape.matches(current, d.hash):
			res.Unchanged++
			done[d.target] = d.es
		case d.es.Spec.Target.Immutable && current != nil:
			o := res.outcome(esID(d.es))
			o.err, o.class = errors.New("the Secret is immutable and its content changed; delete it to let secretsync create it again"), "Immutable"
			res.Unchanged++
			done[d.target] = d.es
		case merges(d.es):
			mergeJobs[d.target] = append(mergeJobs[d.target], d)
		default:
			jobs = append(jobs, func() {
				err := r.applyOne(ctx, d, current != nil, absent[d.target])
				mu.Lock()
				defer mu.Unlock()
				written(d, current == nil, err)
			})
		}
	}
	for t, ds := range mergeJobs {
		jobs = append(jobs, func() {
			current := merged[t]
			for _, d := range ds {
				next, err := r.applyMerge(ctx, d, current)
				mu.Lock()
				written(d, current == nil, err)
				mu.Unlock()
				if err == nil {
					current = next
				}
			}
		})
	}
	runAll(r.cfg.Concurrency, jobs)
}

// runAll runs jobs with at most n in flight and waits for them all.
func runAll(n int, jobs []func()) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, max(n, 1))
	for _, job := range jobs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			job()
		}()
	}
	wg.Wait()
}

// listManaged lists this instance's Secrets in each namespace the
// ExternalSecrets write to, with one label-selected LIST per namespace.
func (r *Reconciler) listManaged(ctx context.Context, set *render.Set) (map[targetKey]*corev1.Secret, map[string]error) {
	live := map[targetKey]*corev1.Secret{}
	errs := map[string]error{}
	seen := map[string]bool{}
	sel := labels.SelectorFromSet(r.labels()).String()
	for _, es := range set.ExternalSecrets {
		ns := es.Namespace
		if seen[ns] || !r.namespaceAllowed(ns) {
			continue
		}
		seen[ns] = true
		// Pages of 500 keep the peak memory of a large namespace down.
		opts := metav1.ListOptions{LabelSelector: sel, Limit: 500}
		for {
			list, err := r.kube.CoreV1().Secrets(ns).List(ctx, opts)
			if err != nil {
				errs[ns] = fmt.Errorf("list managed secrets in %s: %w", ns, err)
				break
			}
			for i := range list.Items {
				s := &list.Items[i]
				// Keep what the comparison reads and let the page go: at
				// 10,000 Secrets, the rest (managed fields first) is most of it.
				slim := &corev1.Secret{Type: s.Type, Data: s.Data, Immutable: s.Immutable}
				slim.Name, slim.Namespace, slim.ResourceVersion = s.Name, s.Namespace, s.ResourceVersion
				slim.Labels, slim.Annotations = s.Labels, s.Annotations
				live[targetKey{s.Namespace, s.Name}] = slim
			}
			if opts.Continue = list.Continue; opts.Continue == "" {
				break
			}
		}
	}
	return live, errs
}

// applyOne writes one Secret. A Secret that exists but is not this
// instance's is never taken over.
func (r *Reconciler) applyOne(ctx context.Context, d desiredSecret, ours bool, knownAbsent bool) error {
	secrets := r.kube.CoreV1().Secrets(d.target.namespace)
	if !ours && !knownAbsent {
		existing, err := secrets.Get(ctx, d.target.name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
		case err != nil:
			return err
		default:
			return fmt.Errorf("a secret of that name exists and is not managed by secretsync instance %q (labels %s=%q, %s=%q); delete it or rename the target",
				r.cfg.Instance, LabelManagedBy, existing.Labels[LabelManagedBy], LabelInstance, existing.Labels[LabelInstance])
		}
	}
	ac := corev1ac.Secret(d.target.name, d.target.namespace).
		WithLabels(d.secret.Labels).
		WithAnnotations(d.secret.Annotations).
		WithType(d.secret.Type).
		WithData(d.secret.Data)
	if d.secret.Immutable != nil {
		ac = ac.WithImmutable(*d.secret.Immutable)
	}
	_, err := secrets.Apply(ctx, ac, metav1.ApplyOptions{FieldManager: FieldManager, Force: true})
	return err
}

// bulkCreates is how many new Secrets in one namespace make one
// metadata-only LIST of its Secret names cheaper than a GET for each.
const bulkCreates = 32

// knownAbsent finds, for namespaces where many Secrets are to be created,
// which target names no Secret holds yet, with one metadata-only LIST
// (names, no data) per such namespace and pass. Those creates skip the GET
// that otherwise guards against taking over someone else's Secret.
func (a *applier) knownAbsent(want []desiredSecret) map[targetKey]bool {
	creates := map[string][]targetKey{}
	for _, d := range want {
		if !d.reused && owning(d.es) && a.live[d.target] == nil && !d.gone {
			creates[d.target.namespace] = append(creates[d.target.namespace], d.target)
		}
	}
	out := map[targetKey]bool{}
	for ns, targets := range creates {
		names, listed := a.names[ns]
		if !listed && len(targets) < bulkCreates {
			continue
		}
		if !listed {
			var err error
			if names, err = a.r.secretNames(a.ctx, ns); err != nil {
				a.r.log.Debug().Err(err).Str("namespace", ns).Msg("names list failed; checking each create with a GET")
			}
			a.names[ns] = names // nil after a failure: not listed again
		}
		if names == nil {
			continue
		}
		for _, t := range targets {
			if !names[t.name] {
				out[t] = true
			}
		}
	}
	return out
}

// secretNames lists the names of every Secret in ns, by metadata only.
func (r *Reconciler) secretNames(ctx context.Context, ns string) (map[string]bool, error) {
	names := map[string]bool{}
	err := r.listMetadata(ctx, ns, "", func(m metav1.PartialObjectMetadata) { names[m.Name] = true })
	if err != nil {
		return nil, err
	}
	return names, nil
}

// listMetadata lists the Secrets of ns ("" for all) that match selector as
// PartialObjectMetadata, 500 at a time: no Secret data crosses the wire.
func (r *Reconciler) listMetadata(ctx context.Context, ns, selector string, each func(metav1.PartialObjectMetadata)) error {
	cont := ""
	for {
		req := r.kube.CoreV1().RESTClient().Get().Namespace(ns).Resource("secrets").
			SetHeader("Accept", "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1").
			Param("limit", "500")
		if selector != "" {
			req = req.Param("labelSelector", selector)
		}
		if cont != "" {
			req = req.Param("continue", cont)
		}
		raw, err := req.DoRaw(ctx)
		if err != nil {
			return err
		}
		var list metav1.PartialObjectMetadataList
		if err := json.Unmarshal(raw, &list); err != nil {
			return err
		}
		for _, item := range list.Items {
			each(item)
		}
		if cont = list.Continue; cont == "" {
			return nil
		}
	}
}
