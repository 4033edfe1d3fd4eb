package pushsecret

import (
	"slices"
	"strings"

	"github.com/secretsync/secretsync/desired"
	"github.com/secretsync/secretsync/inventory"
	"github.com/secretsync/secretsync/render"
)

// remoteIndex maps, by the name an AWS change event gives it, each remote
// secret the rows of a pass write or keep to its PushSecrets, for Touch.
// PushSecrets in secretsync's own namespaces (own) are refused, so never
// indexed: an event would only run their refusal again.
func remoteIndex(rows []inventory.PushRow, stores map[desired.StoreKey]*render.SecretStore, own []string) map[string][]string {
	idx := map[string][]string{}
	for _, row := range rows {
		if ns, _, _ := strings.Cut(row.PushSecret, "/"); slices.Contains(own, ns) {
			continue
		}
		st := stores[storeKeyOfString(row.Store)]
		if st == nil || st.Spec.Provider.AWS == nil || row.RemoteKey == "" {
			continue
		}
		if name := desired.Service(st).EventName(st.Spec.Provider.AWS.Prefix, row.RemoteKey); name != "" {
			idx[name] = append(idx[name], row.PushSecret)
		}
	}
	for name, ids := range idx {
		slices.Sort(ids)
		idx[name] = slices.Compact(ids)
	}
	return idx
}

// Touch marks the PushSecrets that write any of names due: the next pass
// pushes them again, whatever their refreshInterval, and the provider
// writes only where AWS now differs. It returns them, each as "PushSecret
// namespace/name" (remoteIndex leaves out secretsync's own namespaces).
func (p *Pusher) Touch(names []string) []string {
	var out []string
	for _, n := range names {
		for _, id := range p.remotes[n] {
			if st := p.states[id]; st != nil {
				st.touched = true
			}
			out = append(out, "PushSecret "+id)
		}
	}
	return out
}
