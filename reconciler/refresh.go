package reconciler

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/secretsync/secretsync/desired"
	"github.com/secretsync/secretsync/drift"
	"github.com/secretsync/secretsync/plan"
	"github.com/secretsync/secretsync/render"
)

// esState is what the reconciler knows of one ExternalSecret between
// passes, so that an ExternalSecret whose refresh is not due costs no AWS
// call. It holds no values. What ESO keeps in the ExternalSecret's status
// (syncedResourceVersion, refreshTime) is also in the inventory's status
// row (Status.Synced, Status.Refreshed), so that a new process, a new
// leader or `run --once` starts from it (restore).
type esState struct {
	version plan.Version // the ExternalSecret's, when its values were last fetched
	synced  bool         // its values were fetched before (or, CreatedOnce, its Secret stands for that)
	at      time.Time    // when they were last fetched; zero: not known
	next    time.Time    // when they are next due by time; zero: never by time
	hash    string       // content hash last applied or confirmed live
	// shape is what the hash covers, to re-check the live Secret without
	// values; nil in a state restored from the inventory, until vouch reads
	// it from the live Secret.
	shape *drift.Shape
	// touched: an AWS event named one of its remote secrets (Touch), and
	// its refresh is periodic: its values are fetched in the next pass.
	touched bool
}

func esID(es *render.ExternalSecret) string { return es.ID() }

// interval is an ExternalSecret's refreshInterval, else the configured default.
func (r *Reconciler) interval(es *render.ExternalSecret) time.Duration {
	if ri := es.Spec.RefreshInterval; ri != nil {
		return ri.Duration
	}
	return r.cfg.RefreshInterval
}

// periodic reports whether time alone makes es due.
func (r *Reconciler) periodic(es *render.ExternalSecret) bool {
	return plan.Periodic(es.Spec.RefreshPolicy, r.interval(es))
}

// nextDue is when values fetched at at are next due by time (zero: never):
// anyDue reads it to skip a pass.
func (r *Reconciler) nextDue(es *render.ExternalSecret, at time.Time) time.Time {
	if !r.periodic(es) {
		return time.Time{}
	}
	return at.Add(r.interval(es))
}

// fetchDue reports whether es's values must be fetched in this pass.
func (r *Reconciler) fetchDue(st *esState, es *render.ExternalSecret, version plan.Version, force bool) bool {
	if st == nil {
		return true
	}
	c := plan.Refresh{Policy: es.Spec.RefreshPolicy, Interval: r.interval(es), Synced: st.synced, At: st.at,
		Changed: force || st.version != version, Touched: st.touched}
	return c.Due(r.now())
}

// state is what the pass knows of es: this process's memory, else the
// inventory's row (restore). A CreatedOnce ExternalSecret with neither
// (an inventory lost, or written before the rows kept it) is taken as
// synced: its Secret, if vouch finds it ours and intact, is never fetched
// again.
func (r *Reconciler) state(es *render.ExternalSecret) *esState {
	id := esID(es)
	if st := r.states[id]; st != nil {
		return st
	}
	if row, ok := r.restored[id]; ok {
		return &esState{version: row.version, synced: true, at: row.at, next: r.nextDue(es, row.at)}
	}
	if plan.CreatedOnce(es.Spec.RefreshPolicy) {
		return &esState{synced: true}
	}
	return nil
}

// restoredRow is one status row's refresh state.
type restoredRow struct {
	version plan.Version
	at      time.Time
}

// restore reads the refresh state of every ExternalSecret from the
// inventory's status rows: for a pass that does not hold the record it
// last wrote (a new process, or another leader wrote since; Pass then
// forgets its memory, which may be stale). Rows of failing ExternalSecrets are left out: as in
// a running process, they are fetched again. A row it cannot read again
// is the error: the pass then stops before acting.
func (r *Reconciler) restore(old *record) error {
	r.restored = map[string]restoredRow{}
	for st, err := range old.Statuses() {
		if err != nil {
			return err
		}
		v, ok := plan.ParseVersion(st.Synced)
		if !ok || !st.Ready || st.Refreshed == nil {
			continue
		}
		r.restored[st.ExternalSecret] = restoredRow{version: v, at: st.Refreshed.Time}
	}
	return nil
}

// vouch checks, for a state without a shape (restored), that the live
// target still holds what secretsync last wrote, as ESO's isSecretValid
// does: the fields secretsync's field manager holds in it (its managed
// fields, which the API server keeps) give the shape, and the target must
// still hash to the hash it carries. A hand edit of one of those fields
// takes it from secretsync's manager or breaks the hash: either way the
// values are fetched again.
func (r *Reconciler) vouch(ctx context.Context, st *esState, es *render.ExternalSecret, t plan.Target, live *drift.Live, merged map[plan.Target]*corev1.Secret) bool {
	var s *corev1.Secret
	var sh *drift.Shape
	if desired.Merges(es) {
		if s = merged[t]; s != nil {
			sh = drift.ManagedShape(s, plan.MergeManager(esID(es)), plan.MergeKey(esID(es)), false)
		}
	} else {
		s, _ = live.Get(ctx, t) // an error is the apply's to report
		if s == nil || s.Annotations[AnnotationExternalSecret] != esID(es) {
			return false
		}
		sh = live.Shape(t)
	}
	hash := ""
	if sh != nil {
		hash = s.Annotations[sh.HashKey()]
	}
	if hash == "" || !sh.Matches(s, hash) {
		return false
	}
	st.shape, st.hash = sh, hash
	return true
}

// anyDue reports whether some ExternalSecret's refresh time has come.
func (r *Reconciler) anyDue() bool {
	now := r.now()
	for _, st := range r.states {
		if st.touched || !st.next.IsZero() && now.After(st.next) {
			return true
		}
	}
	return false
}
