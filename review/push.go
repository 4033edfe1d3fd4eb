package review

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/secretsync/secretsync/desired"
	"github.com/secretsync/secretsync/render"
)

// RemotePlan is one remote secret (and property) in AWS that a change
// makes a PushSecret start or stop writing: names only, never values.
// Offline, "push" cannot tell a create from an update (plan --check-remote
// is the place for that); "delete" is a stop under deletionPolicy Delete
// with no PushSecret of the head still writing that remote secret, "leave"
// any other stop.
type RemotePlan struct {
	Store      string `json:"store"`
	RemoteKey  string `json:"remoteKey"`
	Property   string `json:"property,omitempty"`
	Action     string `json:"action"` // push, change, delete, leave
	PushSecret string `json:"pushSecret"`
	Source     string `json:"source"`
	// From is what is pushed: the source Secret and key (the whole Secret
	// when no key), and the update policy.
	From string `json:"from"`
}

type pushMap struct {
	ps       *render.PushSecret
	from     string
	deletes  bool
	store    string
	key, prp string
}

func pushIndex(set *render.Set) map[string]pushMap {
	out := map[string]pushMap{}
	if set == nil { // a side that did not render
		return out
	}
	for _, ps := range set.PushSecrets {
		for _, ref := range ps.Spec.SecretStoreRefs {
			store := desired.StoreKeyOf(ref.StoreKind(), ps.Namespace, ref.Name).String()
			for _, d := range ps.Spec.Data {
				r := d.Match.RemoteRef
				key := d.Match.SecretKey
				if key == "" {
					key = "(whole Secret as JSON)"
				}
				from := fmt.Sprintf("Secret %s/%s key %s, %s", ps.Namespace, ps.Spec.Selector.Secret.Name, key, ps.Updates())
				out[ps.ID()+"\x00"+store+"\x00"+r.RemoteKey+"\x00"+r.Property] = pushMap{ps: ps, from: from, deletes: ps.Deletes(), store: store, key: r.RemoteKey, prp: r.Property}
			}
		}
	}
	return out
}

// remotePlans compares the PushSecrets of base and head.
func remotePlans(base, head *render.Set) []RemotePlan {
	b, h := pushIndex(base), pushIndex(head)
	written := map[string]bool{}
	for _, m := range h {
		written[m.store+"\x00"+m.key] = true
	}
	var out []RemotePlan
	for _, k := range keysOfBoth(b, h) {
		before, inB := b[k]
		after, inH := h[k]
		ref := after
		if !inH {
			ref = before
		}
		rp := RemotePlan{Store: ref.store, RemoteKey: ref.key, Property: ref.prp, PushSecret: ref.ps.ID(), Source: ref.ps.Source, From: ref.from}
		switch {
		case !inB:
			rp.Action = "push"
		case !inH && before.deletes && !written[before.store+"\x00"+before.key]:
			rp.Action = "delete"
		case !inH:
			rp.Action = "leave"
		case before.from != after.from:
			rp.Action = "change"
		default:
			continue
		}
		out = append(out, rp)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Store+out[i].RemoteKey < out[j].Store+out[j].RemoteKey })
	return out
}

// writeRemote prints the remote secrets part of a plan for a terminal or,
// with markdown, a pull-request comment; nothing when there are none.
func writeRemote(w io.Writer, rows []RemotePlan, markdown bool) {
	if len(rows) == 0 {
		return
	}
	if markdown {
		fmt.Fprintf(w, "\n**AWS (PushSecret)**: %s\n\n| Remote secret | Store | Action | PushSecret | From |\n|---|---|---|---|---|\n", count(len(rows), "remote secret"))
	} else {
		fmt.Fprintf(w, "\nAWS (PushSecret): %s\n", count(len(rows), "remote secret"))
	}
	for _, r := range rows {
		name := r.RemoteKey
		if r.Property != "" {
			name += "#" + r.Property
		}
		if markdown {
			fmt.Fprintf(w, "| `%s` | `%s` | %s | `%s` in `%s` | %s |\n", md(name), md(r.Store), r.Action, r.PushSecret, md(r.Source), md(r.From))
		} else {
			fmt.Fprintf(w, "  %-6s %s in %s (%s in %s; %s)\n", r.Action, name, r.Store, r.PushSecret, r.Source, strings.TrimSpace(r.From))
		}
	}
}
