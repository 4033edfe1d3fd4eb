// Package reconciler runs one pass: fetch, render, resolve, build the
// desired Secrets, apply them, prune what left Git, and record the result.
// It parses no YAML and calls no cloud API directly.
package reconciler

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/secretsync/secretsync/desired"
	"github.com/secretsync/secretsync/gitsource"
	"github.com/secretsync/secretsync/internal/scrub"
	"github.com/secretsync/secretsync/plan"
	"github.com/secretsync/secretsync/providers"
	"github.com/secretsync/secretsync/render"
)

// Labels and annotations secretsync puts on every Secret it applies.
const (
	FieldManager = plan.FieldManager

	LabelManagedBy = plan.LabelManagedBy
	LabelInstance  = plan.LabelInstance
	ManagedByValue = plan.ManagedByValue

	AnnotationRevision = "secretsync.io/revision"
	// AnnotationRevisionWanted on the inventory ConfigMap asks the
	// instance to record a revision (a commit prefix) once it has handled
	// it, for `status --wait --revision`. Without it a commit that changes
	// no Secret writes nothing at all.
	AnnotationRevisionWanted = "secretsync.io/revision-wanted"
	AnnotationSource         = "secretsync.io/source"
	AnnotationExternalSecret = plan.AnnotationExternalSecret
	AnnotationDataHash       = "secretsync.io/data-hash"
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
	lastOK  bool
	states  map[string]*esState // by namespace/name of the ExternalSecret
	// restored holds, for a pass that restores its states (restore), the
	// inventory's refresh state of each ExternalSecret; nil otherwise.
	restored map[string]restoredRow
	// passAt is when the running pass started, to the second: the refresh
	// time of the values it fetches (ESO's refreshTime).
	passAt time.Time
	// pushStates are the PushSecrets' (push.go), by namespace/name.
	pushStates map[string]*pushState
	remotes    remoteIndex      // for Touch
	decoded    decodedInventory // the inventory as last written or decoded

	// expected maps each managed Secret's targetKey to what it should hold,
	// for the drift watch; drift is set when the watch saw a change.
	expected expectations
	drift    atomic.Bool
	// The drift watch's health: watchesWanted watches, watchesUp of them
	// established, watchGen counting every start and end of one and every
	// drift seen. A pass that finds them all up and watchGen where the last
	// pass that ran to its end read it (lastWatchGen) trusts that the
	// Secrets still hold what was written, and reads none of them to check
	// reuse.
	watchesWanted atomic.Int32
	watchesUp     atomic.Int32
	watchGen      atomic.Int64
	lastWatchGen  int64
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
	return &Reconciler{cfg: cfg, src: src, kube: kube, providers: pf, log: log, now: time.Now, states: map[string]*esState{}}, nil
}

func (r *Reconciler) labels() map[string]string {
	return map[string]string{LabelManagedBy: ManagedByValue, LabelInstance: r.cfg.Instance}
}

// Pass runs one reconcile pass. A pass whose revision is unchanged, after a
// successful one, with no ExternalSecret's refresh due, stops after the
// fetch: no render, no AWS call, no API request. force counts every
// ExternalSecret as changed, as ESO's force-sync annotation does (values
// fetched again but for CreatedOnce and refreshInterval 0: refreshCheck),
// and reads every Secret it keeps.
func (r *Reconciler) Pass(ctx context.Context, force bool) (res Result) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, r.cfg.PassTimeout)
	defer cancel()
	start := r.now()
	r.passAt = start.UTC().Truncate(time.Second)
	before := r.providers.CallCounts()
	r.scrub = scrub.New()
	res.scrub = r.scrub
	defer func() {
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
	}()

	res.enter(StageFetch, r.now())
	snap, err := r.src.Fetch(ctx)
	if err != nil {
		res.fail(FetchFailed, err)
		res.PruneSkipped = "fetch failed"
		return res
	}
	res.Revision = snap.Revision
	gen := r.watchGen.Load()
	trusted := gen == r.lastWatchGen && r.watchesWanted.Load() > 0 && r.watchesUp.Load() == r.watchesWanted.Load()
	drifted := r.drift.Swap(false)
	trusted = trusted && !force
	if !force && r.lastOK && snap.Revision == r.lastRev && !r.anyDue() && !r.pushDue(ctx) && !drifted {
		res.enter(StageSkipped, r.now())
		return res
	}

	obs, ok := r.observe(ctx, snap, false, &res)
	if !ok {
		return res
	}
	set, old := obs.set, obs.old
	if !old.ours { // a new process, or another leader wrote since: memory may be stale
		r.states = nil
		r.restore(old)
		obs.live.managed = true
		defer func() { r.restored = nil }()
	}
	if obs.lost != "" {
		msg := fmt.Sprintf("%s; rebuilt from the %d Secrets labelled %s=%s; prune guards apply to the rebuilt set", obs.lost, len(old.Entries), LabelInstance, r.cfg.Instance)
		r.log.Warn().Msg(msg)
		r.event(ctx, r.inventoryRef(), corev1.EventTypeWarning, "InventoryRebuilt", msg)
	}
	a := r.newApplier(ctx, obs, &res)
	r.passes++
	states := make(map[string]*esState, len(set.ExternalSecrets))
	// What rollout needs, only when it is on: a pass keeps no list of
	// every desired Secret.
	var hashes map[targetKey]string
	changed := map[string]bool{}
	if r.cfg.ReloadWorkloads {
		hashes = map[targetKey]string{}
	}
	for part := range r.desired(ctx, set, snap.Revision, obs.live, obs.merged, force, trusted, &res) {
		if res.Stage == StageResolve {
			res.enter(StageApply, r.now())
		}
		a.apply(part)
		last := ""
		for i := range part {
			part[i].secret = nil // written: drop the values, so a pass holds one part's at a time
			last = max(last, part[i].target.namespace)
		}
		obs.live.passed(last) // later parts are in this namespace or after it
		r.remember(states, part, a.done)
		if hashes != nil {
			for _, d := range part {
				hashes[d.target] = d.hash
				if o := res.outcomes[esID(d.es)]; o != nil && o.written || !r.rolledOnce {
					changed[d.target.namespace] = true
				}
			}
		}
	}
	applied := a.done
	r.states = states
	r.forgetExpected()

	pushed := r.pushAll(ctx, set, old, &res)

	res.enter(StagePrune, r.now())
	next := r.prune(ctx, old, set, applied, res.failedTargets(set), &res)
	next.Revision = snap.Revision
	next.Pushed = pushed
	var newFailures map[string]bool
	var sameRows bool
	next.Status, newFailures, sameRows = r.statuses(set, &res, old)
	if old.err != nil {
		res.fail(ApplyFailed, fmt.Errorf("read the inventory again: %w", old.err))
		res.PruneSkipped = "inventory unreadable"
		return res
	}
	r.emitEvents(ctx, next.Status, newFailures, &res)
	if err := r.saveInventory(ctx, old, next, sameRows, obs.wanted); err != nil {
		res.fail(ApplyFailed, err)
	}
	res.Managed = len(next.Entries)
	if r.cfg.ReloadWorkloads {
		r.rollout(ctx, changed, hashes, &res)
		r.rolledOnce = true
	}

	res.enter(StageDone, r.now())
	r.lastRev, r.lastOK = snap.Revision, res.OK()
	r.lastWatchGen = gen // this pass read what the watch could not vouch for
	return res
}

// observed is what a pass knows before it resolves anything: the rendered
// revision, the inventory, and the live Secrets it writes to.
type observed struct {
	set      *render.Set
	old      *record // the inventory
	lost     string  // why the inventory was rebuilt, if it was
	wanted   string  // the revision status --wait asks to be recorded
	live     *liveTargets
	merged   map[targetKey]*corev1.Secret
	mergeErr map[targetKey]error
}

// observe renders a fetched revision and reads the inventory and the live
// Secrets: the start that Pass and Diff share. ok false means res holds why
// it stopped.
func (r *Reconciler) observe(ctx context.Context, snap gitsource.Snapshot, keepLive bool, res *Result) (obs *observed, ok bool) {
	res.enter(StageRender, r.now())
	set, err := r.renderSnapshot(ctx, snap.Dir, res)
	if err != nil {
		return nil, false
	}
	r.expandClusterExternalSecrets(ctx, set, res)
	old, wanted, lost, err := r.loadInventory(ctx, keepLive)
	if err != nil {
		res.fail(ApplyFailed, err)
		res.PruneSkipped = "inventory unreadable"
		return nil, false
	}
	res.enter(StageResolve, r.now())
	obs = &observed{set: set, old: old, lost: lost, wanted: wanted}
	obs.live = r.liveTargets(keepLive)
	obs.merged, obs.mergeErr = r.listMerged(ctx, set)
	return obs, true
}

// renderSnapshot renders the configured path; per-object errors are
// recorded in res and returned in the set.
func (r *Reconciler) renderSnapshot(ctx context.Context, dir string, res *Result) (*render.Set, error) {
	set, err := render.Render(ctx, dir, r.cfg.Path, r.cfg.Render)
	if err != nil {
		res.fail(RenderFailed, fmt.Errorf("render %s: %w", r.cfg.Path, err))
		res.PruneSkipped = "render failed"
		return nil, err
	}
	for _, e := range set.Errors {
		res.fail(RenderFailed, e)
		res.Failed++
	}
	res.OtherObjects = len(set.Skipped)
	return set, nil
}

// expandClusterExternalSecrets adds the ExternalSecrets that the
// ClusterExternalSecrets of set make in the namespaces of the cluster now,
// so that a namespace that starts or stops matching is a change like any
// other (created, or pruned under the same guards). Errors are the
// ClusterExternalSecrets' own: they block prune, nothing else.
func (r *Reconciler) expandClusterExternalSecrets(ctx context.Context, set *render.Set, res *Result) {
	if len(set.ClusterExternalSecrets) == 0 {
		return
	}
	before := len(set.Errors)
	list, err := r.kube.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
	if err != nil {
		for _, c := range set.ClusterExternalSecrets {
			set.Errors = append(set.Errors, &render.ObjectError{Source: c.Source, Kind: render.KindClusterExternalSecret, Name: c.Name,
				Err: fmt.Errorf("list namespaces to expand it (secretsync needs list on namespaces): %w", err)})
		}
	} else {
		nss := make([]desired.Namespace, 0, len(list.Items))
		for _, ns := range list.Items {
			if ns.DeletionTimestamp == nil {
				nss = append(nss, desired.Namespace{Name: ns.Name, Labels: ns.Labels})
			}
		}
		desired.Expand(set, nss)
	}
	for _, e := range set.Errors[before:] {
		res.fail(RenderFailed, e)
		res.Failed++
	}
}

// desiredSecret is one Secret to apply, with the ExternalSecret behind it.
// A reused one had no values fetched: the live Secret already holds them.
type desiredSecret struct {
	es      *render.ExternalSecret
	target  targetKey
	secret  *corev1.Secret
	shape   *shape // nil when gone
	hash    string
	version resourceVersion
	// prior is a reused ExternalSecret's state, kept as it is.
	prior  *esState
	reused bool
	// gone: deletionPolicy Delete and every remote source is gone.
	gone bool
	// retained: deletionPolicy Retain and the sources gave no data; the
	// Secret is kept as it is (hash is its live one, for rollout).
	retained bool
}

// retain is an ExternalSecret whose Secret is kept as it is
// (desired.ErrRetained), carrying the live Secret's content hash.
func (r *Reconciler) retain(ctx context.Context, es *render.ExternalSecret, t targetKey, live *liveTargets, merged map[targetKey]*corev1.Secret, version resourceVersion) desiredSecret {
	d := desiredSecret{es: es, target: t, version: version, retained: true}
	if !desired.Merges(es) {
		if s, _ := live.get(ctx, t); s != nil { // an error is the apply's to report
			d.hash = s.Annotations[AnnotationDataHash]
		}
	} else if s := merged[t]; s != nil {
		d.hash = s.Annotations[mergeKey(es)]
	}
	return d
}

// desired resolves every reference once and yields the Secrets to build,
// part by part: while the caller works on one part, the next part's values
// are fetched. It writes nothing. An ExternalSecret that is in Git but
// fails is marked failed in its outcome: its Secret is kept as it is and
// never pruned. The caller must range over every part.
//
// trusted says the drift watch has seen every change of this instance's
// Secrets since the last pass: reuse then needs no read of them.
func (r *Reconciler) desired(ctx context.Context, set *render.Set, revision string, live *liveTargets, merged map[targetKey]*corev1.Secret, force, trusted bool, res *Result) iter.Seq[[]desiredSecret] {
	return func(yield func([]desiredSecret) bool) {
		r.yieldDesired(ctx, set, revision, live, merged, force, trusted, res, yield)
	}
}

func (r *Reconciler) yieldDesired(ctx context.Context, set *render.Set, revision string, live *liveTargets, merged map[targetKey]*corev1.Secret, force, trusted bool, res *Result,
	yield func([]desiredSecret) bool) {
	stores := desired.IndexStores(set)
	gens := desired.IndexGenerators(set)
	fail := func(es *render.ExternalSecret, reason Reason, err error) {
		res.Failed++
		err = fmt.Errorf("externalsecret %s/%s (%s): %w", es.Namespace, es.Name, es.Source, err)
		class := errorClass(reason, err)
		err = res.fail(reason, err)
		o := res.outcome(esID(es))
		o.failed, o.err, o.class = true, err, class
	}

	var fresh []pending
	var reused []desiredSecret
	var remotes remoteIndex
	compiled := desired.Compile(set, desired.Options{Namespaces: r.cfg.Namespaces, NamespaceLabels: r.namespaceLabels(ctx), OwnNamespaces: r.cfg.OwnNamespaces})
	// In namespace order, so that the live targets read to check reuse can
	// go namespace by namespace.
	slices.SortStableFunc(compiled, func(a, b desired.Item) int { return strings.Compare(a.ES.Namespace, b.ES.Namespace) })
	for _, it := range compiled {
		es := it.ES
		t := target(es)
		live.passed(t.namespace)
		if len(it.Problems) > 0 {
			var err error = it.Problems[0]
			for _, p := range it.Problems[1:] {
				err = fmt.Errorf("%w; %w", err, p)
			}
			fail(es, ResolveFailed, err)
			continue
		}
		remotes.add(es, it.Entries, stores)
		version := versionOf(es)
		holds := func(st *esState) bool {
			if st.shape == nil { // restored
				return r.vouch(ctx, st, es, t, live, merged)
			}
			if desired.Merges(es) {
				return st.shape.matches(merged[t], st.hash)
			}
			if trusted && t.kind == "" {
				return true // the watch sees our labelled Secrets, not ConfigMaps
			}
			s, _ := live.get(ctx, t) // an error is the apply's to report
			return st.shape.matches(s, st.hash)
		}
		// ESO skips a refresh that is not due while the target is valid;
		// holds is asked last, as only such an ExternalSecret needs its
		// target read.
		if st := r.state(es); desired.CreationPolicy(es) != desired.PolicyNone && !r.fetchDue(st, es, version, force) && holds(st) {
			reused = append(reused, desiredSecret{es: es, target: t, shape: st.shape, hash: st.hash, version: st.version, prior: st, reused: true})
			continue
		}
		fresh = append(fresh, pending{es: es, refs: it.Entries, version: version})
	}
	remotes.sort()
	r.remotes = remotes // Pass holds r.mu
	sp := r.storeProviders(stores)
	found := r.findAll(ctx, sp, fresh)
	// Each part takes its own ExternalSecrets' references and specs, and
	// lets them go when it is done: past this point nothing holds those of
	// the whole set.
	parts := r.fetchParts(ctx, sp, found, split(reused, fresh, partSize))
	for p := range parts {
		res.FetchTime += p.fetchTime
		out := p.reused
		for _, f := range p.fresh {
			es, refs := f.es, f.refs
			t := target(es)
			gen, genNote, err := r.generate(ctx, es, refs, live, gens)
			for _, kv := range gen {
				for _, v := range kv {
					r.scrub.Add(v.Bytes())
				}
			}
			if err != nil {
				fail(es, ResolveFailed, err)
				continue
			}
			data, err := secretData(es, refs, found, p.fetched, gen)
			for _, v := range data {
				r.scrub.Add(v.Bytes())
			}
			if errors.Is(err, desired.ErrAllGone) {
				res.outcome(esID(es)).fetched = true
				out = append(out, desiredSecret{es: es, target: t, version: f.version, gone: true})
				continue
			}
			if errors.Is(err, desired.ErrRetained) {
				res.outcome(esID(es)).fetched = true
				out = append(out, r.retain(ctx, es, t, live, merged, f.version))
				continue
			}
			if err != nil {
				fail(es, ResolveFailed, err)
				continue
			}
			content, err := desired.ApplyTemplate(ctx, es, data, r.scoped(render.AskerFor(es)))
			if err != nil {
				fail(es, ResolveFailed, err)
				continue
			}
			learnShaped(r.scrub, es, content)
			if err := keptAsMade(refs, gens, gen, content.Data); err != nil {
				fail(es, ResolveFailed, err)
				continue
			}
			// Our state annotations are ours alone: a template (or, without
			// one, the ExternalSecret's own annotations) cannot mark the
			// Secret orphaned, which prune would then never delete, nor
			// forge a generator's record.
			delete(content.Annotations, AnnotationOrphaned)
			delete(content.Annotations, AnnotationGenerators)
			if genNote != "" {
				content.Annotations[AnnotationGenerators] = genNote
			}
			res.Resolved++
			o := res.outcome(esID(es))
			o.resolved, o.fetched, o.versions = true, true, versionsOf(refs, found, p.fetched)
			var d desiredSecret
			if desired.Merges(es) {
				raw := make(map[string][]byte, len(content.Data))
				for k, v := range content.Data {
					raw[k] = v.Bytes()
				}
				d = r.buildMerge(es, t, raw)
			} else {
				d = r.build(es, t, content, revision)
			}
			d.version = f.version
			out = append(out, d)
		}
		if !yield(refuseSharedKeys(out, fail)) {
			for range parts { // let the fetch of later parts end
			}
			return
		}
	}
}

// refuseSharedKeys fails every writer of a key that two ExternalSecrets
// write into one Secret: neither silently wins.
func refuseSharedKeys(out []desiredSecret, fail func(*render.ExternalSecret, Reason, error)) []desiredSecret {
	type writer struct {
		es  *render.ExternalSecret
		key string
	}
	byTarget := map[targetKey][]writer{}
	for _, d := range out {
		if d.shape == nil {
			continue
		}
		for _, k := range d.shape.data {
			byTarget[d.target] = append(byTarget[d.target], writer{d.es, k})
		}
	}
	bad := map[*render.ExternalSecret]string{}
	for _, ws := range byTarget {
		seen := map[string]*render.ExternalSecret{}
		for _, w := range ws {
			if other, dup := seen[w.key]; dup && other != w.es {
				bad[w.es] = fmt.Sprintf("key %q of secret %s is also written by externalsecret %s (%s)", w.key, target(w.es), esID(other), other.Source)
				bad[other] = fmt.Sprintf("key %q of secret %s is also written by externalsecret %s (%s)", w.key, target(w.es), esID(w.es), w.es.Source)
			}
			seen[w.key] = w.es
		}
	}
	if len(bad) == 0 {
		return out
	}
	var kept []desiredSecret
	for _, d := range out {
		if msg, ok := bad[d.es]; ok {
			fail(d.es, ResolveFailed, errors.New(msg))
			continue
		}
		kept = append(kept, d)
	}
	return kept
}

// remember records in next, for each ExternalSecret of a written part now
// in its desired state, what the next pass needs to skip it until its
// refresh is due, and what the drift watch should expect of its Secret.
// ExternalSecrets left out are forgotten when the pass ends (Pass sets
// r.states to next, then forgetExpected).
func (r *Reconciler) remember(next map[string]*esState, part []desiredSecret, done map[targetKey]*render.ExternalSecret) {
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
			r.expected.store(d.target, expected{hash: st.hash, shape: st.shape, pass: r.passes})
		}
	}
}

// forgetExpected drops what the drift watch expects of Secrets this pass
// did not remember: failed, pruned, or no longer in Git.
func (r *Reconciler) forgetExpected() {
	r.expected.keepPass(r.passes)
}

func (r *Reconciler) namespaceAllowed(ns string) bool {
	return desired.NamespaceAllowed(r.cfg.Namespaces, ns)
}

// build makes the whole Secret an owning ExternalSecret applies: the
// template's type, labels and annotations, then ours, which win.
func (r *Reconciler) build(es *render.ExternalSecret, t targetKey, c desired.Shaped, revision string) desiredSecret {
	raw := make(map[string][]byte, len(c.Data))
	for k, v := range c.Data {
		raw[k] = v.Bytes()
	}
	s := &corev1.Secret{Data: raw}
	if t.kind == "" {
		s.Type = corev1.SecretType(c.Type) // a ConfigMap has none
	}
	s.Name, s.Namespace = t.name, t.namespace
	s.Labels = desired.CopyMap(c.Labels)
	for k, v := range r.labels() {
		s.Labels[k] = v
	}
	s.Annotations = desired.CopyMap(c.Annotations)
	s.Annotations[AnnotationSource] = es.Source
	s.Annotations[AnnotationExternalSecret] = es.Namespace + "/" + es.Name
	if desired.CreationPolicy(es) == desired.PolicyOrphan {
		s.Annotations[AnnotationOrphaned] = "true"
	}
	if es.Spec.Target.Immutable {
		s.Immutable = &es.Spec.Target.Immutable
	}
	sh := shapeOf(s, AnnotationDataHash, true)
	hash := sh.hash(s)
	s.Annotations[AnnotationDataHash] = hash
	s.Annotations[AnnotationRevision] = revision
	return desiredSecret{es: es, target: t, secret: s, shape: sh, hash: hash}
}

func sortedKeys[V any](m map[targetKey]V) []targetKey {
	out := make([]targetKey, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.SortFunc(out, compareKeys)
	return out
}
