// Package pushsecret executes PushSecrets: it reads each one's sources
// through its scope, decides its writes (desired.PushEntries), pushes those
// due through the store's provider, deletes under deletionPolicy Delete what
// left Git behind the one prune guard, watches the sources, and keeps the
// state that says when each is due again. It calls no cloud API itself: the
// providers the caller hands it do.
package pushsecret

import (
	"context"
	"strings"
	"time"

	"github.com/rs/zerolog"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/secretsync/secretsync/internal/scrub"
	"github.com/secretsync/secretsync/inventory"
	"github.com/secretsync/secretsync/plan"
	"github.com/secretsync/secretsync/providers"
	"github.com/secretsync/secretsync/render"
)

// Recorder records one Event; the caller scrubs its message.
type Recorder func(ctx context.Context, about corev1.ObjectReference, typ, reason, msg string)

// Config is what a Pusher is built with; every func is the caller's own
// rule or client, called only during Push and Due.
type Config struct {
	Kube kubernetes.Interface
	// Namespaces the instance serves; empty is every one.
	Namespaces []string
	// OwnNamespaces are secretsync's own: no PushSecret there is pushed
	// (its Git credentials and webhook secret live there).
	OwnNamespaces []string
	// Concurrency bounds the PushSecrets planned or pushed at a time.
	Concurrency int
	// Provider builds the provider of a store for a PushSecret of ns.
	Provider func(ctx context.Context, st *render.SecretStore, ns string) (providers.Provider, error)
	// Generate runs a generator.
	Generate func(ctx context.Context, g *render.Generator) (map[string]providers.Value, error)
	// Guard is the prune guard with the instance's settings.
	Guard  func(inventory.Prune) inventory.Verdict
	Events Recorder
	Now    func() time.Time
	Log    zerolog.Logger
}

// Pusher holds what persists between passes: each PushSecret's state, the
// remote names its pushes write (for Touch) and the source watch. Push,
// Due and Touch must not overlap; the watch runs beside them.
type Pusher struct {
	cfg    Config
	states map[string]*state
	// remotes maps the name an AWS change event gives a remote secret to
	// the PushSecrets (namespace/name, sorted) that write or keep it.
	remotes map[string][]string
	watch   watcher
}

// New returns a Pusher.
func New(cfg Config) *Pusher {
	return &Pusher{cfg: cfg, watch: watcher{changed: make(chan struct{}, 1), own: cfg.OwnNamespaces}}
}

// Pass is what one pass hands Push.
type Pass struct {
	Set *render.Set
	// Old are the record's push rows; Unreadable says some could not be
	// read again, which refuses every remote deletion.
	Old        []inventory.PushRow
	Unreadable bool
	// Redactor learns every value read, generated or rendered, and
	// scrubs the errors, rows and Events.
	Redactor *scrub.Redactor
}

// Outcome is what Push did, for the pass's Result and inventory.
type Outcome struct {
	// Rows are the inventory's push rows after the pass, sorted.
	Rows []inventory.PushRow
	// Failed has one error per PushSecret that failed (FailedIDs names
	// them, namespace/name), PruneFailed one per remote deletion that
	// failed or was refused.
	Failed, PruneFailed []error
	FailedIDs           []string
	// Pushed counts remote secrets created or updated, Deleted those
	// deleted under deletionPolicy Delete.
	Pushed, Deleted int
	// PruneSkipped says why no remote deletion ran; PruneRefused lists
	// the remote secrets a refused one would have deleted.
	PruneSkipped string
	PruneRefused []string
	// Actions are what the pass did to each remote secret, in PushSecret
	// order, the deletions last: what Diff, asked before, says it would do.
	Actions []Action
}

// reasonFailed is the reason a failed row carries: the pass's, as status
// shows it beside the Secrets'.
const reasonFailed = "ApplyFailed"

// state is what the last push of a PushSecret left in memory: the digest
// of its spec and of the values it pushed, and when. A PushSecret whose
// digest is the same is pushed again only when its refreshInterval has
// passed; one never pushed since this process started is pushed unless its
// inventory rows vouch for it (trustRows), and the provider compares
// before it writes, so that costs reads, not writes.
type state struct {
	sum      [32]byte
	last     time.Time
	interval time.Duration
	// synced is the digest of what it pushes, values aside (syncedOf).
	synced string
	// The PushSecret and its sources' versions when they were read: a pass
	// that would otherwise be skipped reads them and runs when they
	// changed, so a changed source is pushed by the next poll. ps is nil
	// when its sources were not read (refused before).
	ps       *render.PushSecret
	versions string
	// touched: an AWS event named a remote secret it writes (Touch).
	touched bool
	// failures counts its failed runs in a row with synced unchanged and
	// no event between; retryAt is when it runs again, err what the last
	// one said (backoff).
	failures int
	retryAt  time.Time
	err      error
}

// firstRetry and maxRetry bound a failing PushSecret's backoff: the first
// retry a minute after the failure, each next one twice as late, up to
// controller-runtime's cap (which ESO inherits).
const (
	firstRetry = time.Minute
	maxRetry   = 1000 * time.Second
)

// backoff is the wait after the n-th failure in a row.
func backoff(n int) time.Duration {
	d := firstRetry
	for ; n > 1 && d < maxRetry; n-- {
		d *= 2
	}
	return min(d, maxRetry)
}

// waiting reports whether st's PushSecret backs off at now: it failed, its
// retry time has not come, no AWS event touched it since, and nothing it
// pushes changed (synced). It then keeps its rows and error and calls
// nothing.
func (st *state) waiting(synced string, now time.Time) bool {
	return st != nil && st.failures > 0 && !st.touched && st.synced == synced && now.Before(st.retryAt)
}

// failed is next, the state of a run that failed at now with err, with its
// backoff: a retry of the same (synced unchanged, not touched) counts one
// more failure; anything else starts again at one.
func (st *state) failed(next state, err error, now time.Time) *state {
	next.failures = 1
	if st != nil && st.failures > 0 && !st.touched && st.synced == next.synced {
		next.failures = st.failures + 1
	}
	next.retryAt, next.err = now.Add(backoff(next.failures)), err
	return &next
}

// due reports whether st's PushSecret runs again at now without a change
// of its sources: touched by an AWS event, a failing one at its retry
// time, another once refreshInterval passed.
func (st *state) due(now time.Time) bool {
	switch {
	case st.touched:
		return true
	case st.failures > 0:
		return !now.Before(st.retryAt)
	}
	return refreshDue(st.interval, st.last, now)
}

// defaultInterval is ESO's default refreshInterval for a PushSecret.
const defaultInterval = time.Hour

// refreshDue is the periodic refresh rule (plan.Refresh, its one home)
// for a push made at at: due once refreshInterval has passed, never for an
// interval of 0.
func refreshDue(interval time.Duration, at, now time.Time) bool {
	return plan.Refresh{Interval: interval, Synced: true, At: at}.Due(now)
}

func intervalOf(ps *render.PushSecret) time.Duration {
	if ps.Spec.RefreshInterval == nil {
		return defaultInterval
	}
	return ps.Spec.RefreshInterval.Duration
}

// Due reports whether some PushSecret's refresh has come, a failing one's
// retry time, an AWS event touched one, or a source changed: a pass then
// runs even when nothing else changed. With the source watch up and
// unbroken since, no source is read; else each is read again (through
// red), and finding none changed vouches for them as the watch would.
func (p *Pusher) Due(ctx context.Context, red *scrub.Redactor) bool {
	now := p.cfg.Now()
	w := &p.watch
	if w.dirty.Load() {
		return true
	}
	for _, st := range p.states {
		if st.due(now) {
			return true
		}
	}
	if w.trusted() {
		return false
	}
	gen, up := w.gen.Load(), w.up.Load() == w.wanted.Load()
	for _, st := range p.states {
		if st.ps != nil && p.sourceVersions(ctx, st.ps, red) != st.versions {
			return true
		}
	}
	if up {
		w.lastGen.Store(gen)
	}
	return false
}

// eventRef is the object a PushSecret's Events are about.
func eventRef(ps string) corev1.ObjectReference {
	ns, name, _ := strings.Cut(ps, "/")
	return corev1.ObjectReference{APIVersion: render.Group + "/v1alpha1", Kind: render.KindPushSecret, Namespace: ns, Name: name}
}
