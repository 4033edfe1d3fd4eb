package inventory

import (
	"iter"
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Outcome is what a pass did for one ExternalSecret, as far as its status
// row keeps it.
type Outcome struct {
	// Versions are the versions its values were read at, when Resolved.
	Versions Versions
	Resolved bool
	// Written: its Secret was written at now.
	Written bool
}

// Carry gives each new row (out, in ExternalSecret order) what it keeps
// from old's row of its ExternalSecret, reading old's rows once, in
// whatever order they are, and finding each row's new one by binary
// search; outcome says what the pass did for an ExternalSecret. newFailures
// are the failing rows whose failure is new or different; same says the
// rows are old's, in the same order. A row that cannot be read again is
// returned as the error.
func Carry(out []Status, old iter.Seq2[Status, error], outcome func(id string) Outcome, now *metav1.Time) (newFailures map[string]bool, same bool, err error) {
	had := make([]bool, len(out))
	newFailures = map[string]bool{}
	same = true
	last := ""
	for p, err := range old {
		if err != nil {
			return nil, false, err
		}
		same = same && last <= p.ExternalSecret // edited out of order: written again in order
		last = p.ExternalSecret
		i, found := slices.BinarySearchFunc(out, p.ExternalSecret, func(st Status, id string) int { return strings.Compare(st.ExternalSecret, id) })
		if !found || had[i] { // gone from Git, or a second row of one ExternalSecret
			same = false
			continue
		}
		for j := i; j < len(out) && out[j].ExternalSecret == p.ExternalSecret; j++ {
			had[j] = true
			if carryRow(&out[j], p, true, outcome(p.ExternalSecret), now) {
				newFailures[p.ExternalSecret] = true
			}
			same = same && j == i && SameStatus(p, out[j])
		}
	}
	for i := range out {
		if !had[i] {
			same = false
			if carryRow(&out[i], Status{}, false, outcome(out[i].ExternalSecret), now) {
				newFailures[out[i].ExternalSecret] = true
			}
		}
	}
	return newFailures, same, nil
}

// carryRow fills st from its previous row p (had: there is one) and from
// this pass's outcome o: an invalid row (no target) keeps p's target and
// times; a valid one keeps p's last sync and versions unless this pass
// wrote or read new ones. It says whether st's failure is new or different.
func carryRow(st *Status, p Status, had bool, o Outcome, now *metav1.Time) (newFailure bool) {
	if st.Target == "" { // invalid
		if had {
			st.Target, st.LastSync, st.Versions = p.Target, p.LastSync, p.Versions
			st.Synced, st.Refreshed = p.Synced, p.Refreshed
		}
		return !st.Ready && (p.Ready || p.Message != st.Message)
	}
	if had {
		st.LastSync, st.Versions = p.LastSync, p.Versions
		if st.Refreshed == nil {
			st.Synced, st.Refreshed = p.Synced, p.Refreshed
		}
	}
	if o.Resolved && len(o.Versions) > 0 {
		st.Versions = o.Versions
	}
	if o.Written {
		st.LastSync = now
	}
	return !st.Ready && (p.Ready || p.Message != st.Message)
}
