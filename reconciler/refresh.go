package reconciler

import (
	"crypto/sha256"
	"encoding/json"
	"math/rand/v2"
	"time"

	"github.com/secretsync/secretsync/desired"
	"github.com/secretsync/secretsync/render"
)

// esState is what the reconciler remembers of one ExternalSecret between
// passes, so that an ExternalSecret whose refresh is not due costs no AWS
// call. It holds no values.
type esState struct {
	spec  specSum   // fingerprint of everything in Git that shapes the Secret
	hash  string    // content hash last applied or confirmed live
	shape *shape    // what the hash covers, to re-check the live Secret without values
	next  time.Time // when values are next fetched; zero: only on change
	// touched: an AWS event named one of its remote secrets (Touch); its
	// values are fetched in the next pass, whatever next says.
	touched bool
}

func esID(es *render.ExternalSecret) string { return es.ID() }

// specFingerprint covers the ExternalSecret, its file, and the stores and
// generators it reads through: a change to any of them makes its values be
// fetched again (generated values are then kept unless their own
// generator changed: generate.go).
func specFingerprint(es *render.ExternalSecret, refs []desired.Entry, stores map[desired.StoreKey]*render.SecretStore, gens map[desired.GeneratorKey]*render.Generator) specSum {
	h := sha256.New()
	enc := json.NewEncoder(h)
	_ = enc.Encode(es.Spec)
	_ = enc.Encode(es.Source)
	for _, e := range refs {
		if e.Generator != nil {
			if g := gens[*e.Generator]; g != nil {
				_ = enc.Encode(e.Generator.String())
				_ = enc.Encode(g.Spec)
			}
			continue
		}
		if st := stores[e.Store]; st != nil {
			_ = enc.Encode(e.Store.String())
			_ = enc.Encode(st.Spec)
		}
	}
	return specSum(h.Sum(nil))
}

// specSum is a sha256, kept as its 32 bytes: a process holds one per
// ExternalSecret between passes.
type specSum [sha256.Size]byte

// nextRefresh is when an ExternalSecret's values are next due:
// spec.refreshInterval (else the configured default) from now, plus up to
// 10% jitter so that Secrets created together do not refresh together.
// refreshInterval 0, and refreshPolicy OnChange or CreatedOnce, mean never.
func (r *Reconciler) nextRefresh(es *render.ExternalSecret) time.Time {
	switch es.Spec.RefreshPolicy {
	case "OnChange", "CreatedOnce":
		return time.Time{}
	}
	interval := r.cfg.RefreshInterval
	if ri := es.Spec.RefreshInterval; ri != nil {
		interval = ri.Duration
	}
	if interval <= 0 {
		return time.Time{}
	}
	return r.now().Add(interval + rand.N(interval/10+1))
}

// reusable reports whether the live Secret can stand for an ExternalSecret
// without fetching its values: same spec, refresh not due, and the live
// data still what was last applied.
// holds, which says whether the target still holds what st records, is
// asked last: only an ExternalSecret that is otherwise reusable needs its
// target read.
func (r *Reconciler) reusable(st *esState, es *render.ExternalSecret, spec specSum, holds func(*esState) bool) bool {
	if st == nil || st.shape == nil { // no shape: retained, so fetched again
		return false
	}
	if es.Spec.RefreshPolicy != "CreatedOnce" && (st.spec != spec || st.touched || !st.next.IsZero() && !r.now().Before(st.next)) {
		return false
	}
	return holds(st)
}

// anyDue reports whether some ExternalSecret's refresh time has come.
func (r *Reconciler) anyDue() bool {
	now := r.now()
	for _, st := range r.states {
		if st.touched || !st.next.IsZero() && !now.Before(st.next) {
			return true
		}
	}
	return false
}
