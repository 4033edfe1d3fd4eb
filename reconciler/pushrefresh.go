package reconciler

import (
	"slices"

	"github.com/secretsync/secretsync/desired"
	"github.com/secretsync/secretsync/inventory"
	"github.com/secretsync/secretsync/render"
)

// pushRemotes indexes, by the name an AWS change event gives it, each
// remote secret the rows of a pass write or keep, for Touch.
func pushRemotes(rows []inventory.PushRow, stores map[desired.StoreKey]*render.SecretStore) []desired.RemoteUse {
	var uses []desired.RemoteUse
	for _, row := range rows {
		st := stores[storeKeyOfString(row.Store)]
		if st == nil || st.Spec.Provider.AWS == nil || row.RemoteKey == "" {
			continue
		}
		if name := desired.Service(st).EventName(st.Spec.Provider.AWS.Prefix, row.RemoteKey); name != "" {
			uses = append(uses, desired.RemoteUse{Name: name, ID: row.PushSecret})
		}
	}
	desired.SortUses(uses)
	return slices.CompactFunc(uses, func(a, b desired.RemoteUse) bool { return a == b })
}

// touchPushes marks the PushSecrets that write any of names due: the next
// pass pushes them again, whatever their refreshInterval, and the
// provider writes only where AWS now differs. Touch holds r.mu.
func (r *Reconciler) touchPushes(names []string) []string {
	var out []string
	for _, n := range names {
		for _, u := range r.remotes.Writers(n) {
			if st := r.pushStates[u.ID]; st != nil {
				st.touched = true
			}
			out = append(out, "PushSecret "+u.ID)
		}
	}
	return out
}
