// Package reconciler runs one pass: fetch, render, resolve, build the
// desired Secrets, apply them, prune what left Git, and record the result.
// It parses no YAML and calls no cloud API directly.
package reconciler

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/rs/zerolog"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/secretsync/secretsync/desired"
	"github.com/secretsync/secretsync/drift"
	"github.com/secretsync/secretsync/gitsource"
	"github.com/secretsync/secretsync/internal/scrub"
	"github.com/secretsync/secretsync/inventory"
	"github.com/secretsync/secretsync/plan"
	"github.com/secretsync/secretsync/providers"
	"github.com/secretsync/secretsync/pushsecret"
	"github.com/secretsync/secretsync/render"
)

// Labels and annotations secretsync puts on every Secret it applies.
const (
	FieldManager = plan.FieldManager

	LabelManagedBy = plan.LabelManagedBy
	LabelInstance  = plan.LabelInstance
	ManagedByValue = plan.ManagedByValue

	// AnnotationRevision: the revision a Secret was last written at, as
	// the inventory ConfigMap records its own.
	AnnotationRevision       = inventory.AnnotationRevision
	AnnotationSource         = plan.AnnotationSource
	AnnotationExternalSecret = plan.AnnotationExternalSecret
	AnnotationDataHash       = drift.AnnotationDataHash
)

// Annotations on the inventory ConfigMap through which the CLI controls a
// running instance (reconcile, suspend, resume), as Flux's
// reconcile.fluxcd.io/requestedAt does.
const (
	// AnnotationReconcileRequested asks the leader for a pass; its value is
	// the request's id (a timestamp).
	AnnotationReconcileRequested = "secretsync.io/reconcile-requested-at"
	// AnnotationReconcileRefresh, "true" beside a request, makes its pass a
	// forced one (Pass: ESO's force-sync for every ExternalSecret).
	AnnotationReconcileRefresh = "secretsync.io/reconcile-refresh"
	// AnnotationReconcileHandled is the id of the last request handled, and
	// AnnotationReconcileResult the outcome of its pass, one line.
	AnnotationReconcileHandled = "secretsync.io/reconcile-handled-at"
	AnnotationReconcileResult  = "secretsync.io/reconcile-result"
	// AnnotationSuspended "true" stops applying and pruning; polling goes on.
	AnnotationSuspended = "secretsync.io/suspended"
)

// Source is where revisions come from; *gitsource.Source is one.
type Source interface {
	Fetch(ctx context.Context) (gitsource.Snapshot, error)
}

// Config is what a Reconciler needs to know beyond its collaborators.
type Config struct {
	// Instance tells several secretsync installations apart in one cluster:
	// it is the instance label and part of the inventory's name.
	Instance string
	// InventoryNamespace holds the inventory ConfigMap.
	InventoryNamespace string
	// OwnNamespaces are where secretsync keeps its Git credentials,
	// webhook secret and inventory (the pod's namespace and the
	// inventory's): no Merge or CreateOrMerge writes there.
	OwnNamespaces []string
	// Path is the folder in the repo to render.
	Path string
	// RefreshInterval is how often every remote value is fetched again
	// when the revision has not changed.
	RefreshInterval time.Duration
	// Concurrency bounds API-server writes in flight.
	Concurrency int
	// PassTimeout bounds one pass; retries and rate-limit waits end there.
	PassTimeout time.Duration
	// Namespaces are the namespaces secretsync may write Secrets to; empty
	// allows every namespace.
	Namespaces []string
	// AllowEmpty lets a pass that renders no ExternalSecret prune a
	// non-empty inventory.
	AllowEmpty bool
	// ReloadWorkloads turns on rollout on change for workloads that opt in
	// with the secretsync.io/reload annotations.
	ReloadWorkloads bool
	// PruneBudget caps deletions per pass: 0 means the default, the larger
	// of 25% of the inventory and 50; a negative value means no cap.
	PruneBudget int
	// EventsPerPass caps the per-Secret Events of one pass (0 means 100). A
	// cold pass over 10,000 Secrets would otherwise double its writes with
	// as many Created Events; `secretsync status` still lists every one.
	EventsPerPass int
	Render        render.Options
}

// Reconciler holds what persists between passes. Passes must not overlap.
type Reconciler struct {
	cfg       Config
	src       Source
	kube      kubernetes.Interface
	providers providers.Factory
	log       zerolog.Logger
	now       func() time.Time

	mu      sync.Mutex
	lastRev string
	// lastOK: the last pass ran to its end and failed nothing but pushes
	// (Result.settled), so an unchanged revision with nothing due is skipped.
	lastOK bool
	states map[string]*esState // by namespace/name of the ExternalSecret
	// restored holds, for a pass that restores its states (restore), the
	// inventory's refresh state of each ExternalSecret; nil otherwise.
	restored map[string]restoredRow
	// passAt is when the running pass started, to the second: the refresh
	// time of the values it fetches (ESO's refreshTime).
	passAt  time.Time
	push    *pushsecret.Pusher  // the PushSecrets (push.go)
	remotes desired.RemoteIndex // for Touch
	decoded decodedInventory    // the inventory as last written or decoded

	// watch is the drift watch: what each managed Secret should hold, and
	// whether a pass may trust the Secrets still hold it (WatchDrift).
	watch drift.Watch
	// passes counts the passes that remembered their ExternalSecrets; an
	// expected entry carries the one that last confirmed it.
	passes uint64
	// rolledOnce: the first pass checks every opted-in workload once.
	rolledOnce bool
	// onAction, when a test sets it, sees every action of the plan a pass
	// executes (executed).
	onAction func(plan.Action)
	// scrub is the running pass's redactor (Result.scrub), nil between
	// passes: it learns each value as the pass reads, generates or renders
	// it, and scrubs the API server's and the providers' errors where they
	// come in.
	scrub *scrub.Redactor
}

// New returns a Reconciler.
func New(cfg Config, src Source, kube kubernetes.Interface, pf providers.Factory, log zerolog.Logger) (*Reconciler, error) {
	if cfg.Instance == "" || cfg.InventoryNamespace == "" {
		return nil, errors.New("instance and inventory namespace are required")
	}
	if cfg.RefreshInterval <= 0 {
		cfg.RefreshInterval = time.Hour
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 32
	}
	if cfg.EventsPerPass <= 0 {
		cfg.EventsPerPass = 100
	}
	if cfg.PassTimeout <= 0 {
		cfg.PassTimeout = 5 * time.Minute
	}
	if cfg.Render.Cache == nil {
		cfg.Render.Cache = render.NewCache() // passes re-render only what changed
	}
	r := &Reconciler{cfg: cfg, src: src, kube: kube, providers: pf, log: log, now: time.Now, states: map[string]*esState{}}
	r.push = r.newPusher()
	return r, nil
}

func (r *Reconciler) labels() map[string]string {
	return map[string]string{LabelManagedBy: ManagedByValue, LabelInstance: r.cfg.Instance}
}

// Pass runs one reconcile pass. A pass whose revision is unchanged, after a
// successful one, with no ExternalSecret's refresh due, stops after the
// fetch: no render, no AWS call, no API request. force counts every
// ExternalSecret as changed, as ESO's force-sync annotation does (values
// fetched again but for CreatedOnce and refreshInterval 0: plan.Refresh),
// and reads every Secret it keeps.
func (r *Reconciler) Pass(ctx context.Context, force bool) (res Result) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, r.cfg.PassTimeout)
	defer cancel()
	start := r.now()
	r.passAt = start.UTC().Truncate(time.Second)
	r.scrub = scrub.New()
	res.scrub = r.scrub
	defer r.finish(&res, start, r.providers.CallCounts())

	res.enter(StageFetch, r.now())
	snap, err := r.src.Fetch(ctx)
	if err != nil {
		res.fail(FetchFailed, err)
		res.PruneSkipped = "fetch failed"
		return res
	}
	res.Revision = snap.Revision
	watched := r.watch.Start()
	trusted := watched.Trusted && !force
	if !force && r.lastOK && snap.Revision == r.lastRev && !r.anyDue() && !r.push.Due(ctx, r.scrub) && !watched.Drifted {
		res.enter(StageSkipped, r.now())
		return res
	}

	obs, ok := r.observe(ctx, snap, false, &res)
	if !ok {
		return res
	}
	if !obs.old.ours { // a new process, or another leader wrote since: memory may be stale
		r.states = nil
		if err := r.restore(obs.old); err != nil {
			unreadable(&res, err)
			return res
		}
		obs.live.ReadManaged()
		defer func() { r.restored = nil }()
	}
	if obs.lost != "" {
		msg := fmt.Sprintf("%s; rebuilt from the %d Secrets labelled %s=%s; prune guards apply to the rebuilt set", obs.lost, len(obs.old.Inventory.Entries), LabelInstance, r.cfg.Instance)
		r.log.Warn().Msg(msg)
		r.event(ctx, r.inventoryRef(), corev1.EventTypeWarning, "InventoryRebuilt", msg)
	}
	w := r.write(ctx, obs, snap.Revision, force, trusted, &res)
	if !r.record(ctx, obs, snap.Revision, w.applied, &res) {
		return res
	}
	if r.cfg.ReloadWorkloads {
		r.rollout(ctx, w.changed, w.hashes, &res)
		r.rolledOnce = true
	}

	res.enter(StageDone, r.now())
	r.lastRev, r.lastOK = snap.Revision, res.settled()
	r.watch.Done(watched) // this pass read what the watch could not vouch for
	return res
}

// finish completes a pass's Result on every exit path and logs it; before
// is the providers' call counts when the pass began.
func (r *Reconciler) finish(res *Result, start time.Time, before map[string]int64) {
	res.AWSCalls = map[string]int64{}
	for k, n := range r.providers.CallCounts() {
		if d := n - before[k]; d > 0 {
			res.AWSCalls[k] = d
		}
	}
	res.costPer10k = r.providers.CostPer10k()
	res.enter(res.Stage, r.now())
	res.Duration = r.now().Sub(start)
	res.log(r.log)
	r.scrub, res.scrub = nil, nil // what it knows dies with the pass
}

// writes is what a pass's writes leave: the targets in their desired
// state, and what rollout needs (only when it is on: a pass keeps no list
// of every desired Secret).
type writes struct {
	applied map[plan.Target]*render.ExternalSecret
	hashes  map[plan.Target]string
	changed map[string]bool
}

// write resolves the desired Secrets part by part and executes each part's
// plan (applier.apply), dropping a part's values once written.
func (r *Reconciler) write(ctx context.Context, obs *observed, revision string, force, trusted bool, res *Result) writes {
	a := r.newApplier(ctx, obs, res)
	r.passes++
	states := make(map[string]*esState, len(obs.set.ExternalSecrets))
	w := writes{changed: map[string]bool{}}
	if r.cfg.ReloadWorkloads {
		w.hashes = map[plan.Target]string{}
	}
	for part := range r.desired(ctx, obs.set, revision, obs.live, obs.merged, force, trusted, res) {
		if res.Stage == StageResolve {
			res.enter(StageApply, r.now())
		}
		a.apply(part)
		last := ""
		for i := range part {
			part[i].secret = nil // written: drop the values, so a pass holds one part's at a time
			last = max(last, part[i].target.Namespace)
		}
		obs.live.Passed(last) // later parts are in this namespace or after it
		r.remember(states, part, a.done)
		if w.hashes != nil {
			for _, d := range part {
				w.hashes[d.target] = d.hash
				if o := res.outcomes[esID(d.es)]; o != nil && o.written || !r.rolledOnce {
					w.changed[d.target.Namespace] = true
				}
			}
		}
	}
	r.states = states
	r.watch.KeepPass(r.passes) // forget failed, pruned, or no longer in Git
	w.applied = a.done
	return w
}

// record pushes, prunes (executing planPrune) and saves the next inventory
// with its status rows and Events; false means the pass stops there.
func (r *Reconciler) record(ctx context.Context, obs *observed, revision string, applied map[plan.Target]*render.ExternalSecret, res *Result) bool {
	set, old := obs.set, obs.old
	// A record that cannot be read again (only memory can fail it) ends
	// the pass before the next step acts, and nothing is saved.
	pushed, err := r.pushAll(ctx, set, old, res)
	if err != nil {
		return unreadable(res, err)
	}
	res.enter(StagePrune, r.now())
	next, err := r.prune(ctx, old.Entries(), set, applied, res.failedTargets(set), res)
	if err != nil {
		return unreadable(res, err)
	}
	next.Revision = revision
	next.Pushed = pushed
	var newFailures map[string]bool
	var sameRows bool
	next.Status, newFailures, sameRows, err = r.statuses(set, res, old)
	if err != nil {
		return unreadable(res, err)
	}
	r.emitEvents(ctx, next.Status, newFailures, res)
	if err := r.saveInventory(ctx, old, next, sameRows, obs.wanted); err != nil {
		res.fail(ApplyFailed, err)
	}
	res.Managed = len(next.Entries)
	return true
}

// unreadable fails a pass whose inventory could not be read again (the
// bytes were checked when loaded: only memory can fail it) before it saves;
// false: the pass stops there.
func unreadable(res *Result, err error) bool {
	res.fail(ApplyFailed, fmt.Errorf("read the inventory again: %w", err))
	res.PruneSkipped = "inventory unreadable"
	return false
}

// remember records in next, for each ExternalSecret of a written part now
// in its desired state, what the next pass needs to skip it until its
// refresh is due, and what the drift watch should expect of its Secret.
// ExternalSecrets left out are forgotten when the pass ends (Pass sets
// r.states to next, then KeepPass).
func (r *Reconciler) remember(next map[string]*esState, part []desiredSecret, done map[plan.Target]*render.ExternalSecret) {
	for _, d := range part {
		id := esID(d.es)
		switch {
		case d.retained: // fetched again when due; nothing to expect of the Secret
			next[id] = &esState{version: d.version, synced: true, at: r.passAt, next: r.nextDue(d.es, r.passAt)}
			continue
		case done[d.target] != d.es:
		case d.reused:
			next[id] = d.prior
		default:
			next[id] = &esState{version: d.version, synced: true, at: r.passAt, next: r.nextDue(d.es, r.passAt), hash: d.hash, shape: d.shape}
		}
		if st := next[id]; st != nil {
			r.watch.Expect(d.target, drift.Expected{Hash: st.hash, Shape: st.shape, Pass: r.passes})
		}
	}
}

func (r *Reconciler) namespaceAllowed(ns string) bool {
	return desired.NamespaceAllowed(r.cfg.Namespaces, ns)
}
