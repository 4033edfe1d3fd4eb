package review

import (
	"fmt"
	"io"
	"sort"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

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
	// Remote, with plan --check-remote, is what AWS holds under the name
	// now: "exists, ours", "exists, NOT ours: ..." or "absent: ...".
	Remote string `json:"remote,omitempty"`

	ps *render.PushSecret
}

type pushMap struct {
	ps       *render.PushSecret
	from     string
	deletes  bool
	store    string
	key, prp string
	// what is the part of from after the source: the key pushed, or the
	// keys a dataTo entry matches.
	what string
}

func pushIndex(set *render.Set) map[string]pushMap {
	out := map[string]pushMap{}
	if set == nil { // a side that did not render
		return out
	}
	stores := desired.IndexStores(set)
	for _, ps := range set.PushSecrets {
		for _, m := range pushMaps(ps, stores) {
			out[ps.ID()+"\x00"+m.store+"\x00"+m.key+"\x00"+m.prp] = m
		}
	}
	return out
}

// pushSource says, by name, what ps pushes from.
func pushSource(ps *render.PushSecret) string {
	var source string
	switch sel := ps.Spec.Selector; {
	case sel.Secret == nil:
		g, _ := sel.Generator()
		source = "generator " + g.Kind + "/" + g.Name
	case sel.Secret.Selector != nil:
		source = "Secrets of " + ps.Namespace + " labelled " + metav1.FormatLabelSelector(sel.Secret.Selector)
	default:
		source = "Secret " + ps.Namespace + "/" + sel.Secret.Name
	}
	if ps.Spec.Template != nil {
		source += " through spec.template"
	}
	return source
}

// pushMaps are the remote secrets ps writes in each of its stores, by
// name, and what each is pushed from.
func pushMaps(ps *render.PushSecret, stores map[desired.StoreKey]*render.SecretStore) []pushMap {
	source := pushSource(ps)
	var out []pushMap
	put := func(store desired.StoreKey, remote, prp, what, sep string) {
		out = append(out, pushMap{ps: ps, from: source + sep + what + ", " + ps.Updates(), deletes: ps.Deletes(), store: store.String(), key: remote, prp: prp, what: what})
	}
	for _, store := range desired.PushStores(ps, stores) {
		for i, dt := range ps.Spec.DataTo {
			if !desired.DataToSelects(ps, dt, store, stores) {
				continue
			}
			remote := dt.RemoteKey
			if remote == "" {
				// Named after the source's keys: known when run reads it.
				remote = fmt.Sprintf("(one per key of spec.dataTo[%d])", i)
			}
			put(store, remote, "", fmt.Sprintf("the keys spec.dataTo[%d] matches", i), ", ")
		}
		for _, d := range ps.Spec.Data {
			key := d.Match.SecretKey
			if key == "" {
				key = "(whole Secret as JSON)"
			}
			put(store, d.Match.RemoteRef.RemoteKey, d.Match.RemoteRef.Property, "key "+key, " ")
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
		rp := RemotePlan{Store: ref.store, RemoteKey: ref.key, Property: ref.prp, PushSecret: ref.ps.ID(), Source: ref.ps.Source, From: ref.from, ps: ref.ps}
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
			fmt.Fprintf(w, "| `%s` | `%s` | %s | `%s` in `%s` | %s |\n", md(name), md(r.Store), r.Action+remoteNote(md(r.Remote), "<br>"), r.PushSecret, md(r.Source), md(r.From))
		} else {
			fmt.Fprintf(w, "  %-6s %s in %s (%s in %s; %s)%s\n", r.Action, name, r.Store, r.PushSecret, r.Source, strings.TrimSpace(r.From), remoteNote(r.Remote, "\n         "))
		}
	}
}
