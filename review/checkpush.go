package review

import (
	"strings"

	"github.com/secretsync/secretsync/providers"
	"github.com/secretsync/secretsync/render"
)

// OwnerFunc says what AWS holds under the remote secret key in store (a
// desired.StoreKey's String): whether it exists, carries the managed-by
// tag, or is scheduled for deletion, reading no value (providers.Owner).
type OwnerFunc func(store, key string) (providers.Remote, error)

// CheckRemotePushes asks owner about each remote secret of p.Remote and
// notes the answer on its row. A write run would refuse is a finding: a
// remote secret the head pushes that exists without the managed-by tag
// (unless updatePolicy is IfNotExists, which leaves it), or one scheduled
// for deletion (refused under either policy until it is restored or its
// recovery window ends). Names run learns from a source Secret's keys
// (dataTo without remoteKey) are not asked.
func CheckRemotePushes(p *Plan, owner OwnerFunc) {
	type answer struct {
		remote providers.Remote
		err    error
	}
	asked := map[string]answer{}
	for i := range p.Remote {
		r := &p.Remote[i]
		if strings.HasPrefix(r.RemoteKey, "(") {
			r.Remote = "not checked: named when run reads the source"
			continue
		}
		k := r.Store + "\x00" + r.RemoteKey
		a, seen := asked[k]
		if !seen {
			a.remote, a.err = owner(r.Store, r.RemoteKey)
			asked[k] = a
		}
		var refused string
		r.Remote, refused = remoteVerdict(a.remote, a.err, r.Action, r.ps.Updates())
		if refused != "" {
			p.Findings = append(p.Findings, Finding{File: r.Source, Kind: render.KindPushSecret, Namespace: r.ps.Namespace, Name: r.ps.Name,
				Message: "remote: " + r.RemoteKey + " in " + r.Store + " " + refused})
		}
	}
}

// remoteVerdict words what AWS holds for a row of action under update
// policy updates, and, when run would refuse the row's write, why (the
// finding's message).
func remoteVerdict(remote providers.Remote, err error, action, updates string) (note, refused string) {
	writes := action == "push" || action == "change"
	switch {
	case err != nil:
		return "not checked: " + err.Error(), ""
	case !remote.Exists && writes:
		return absent + ": run creates it", ""
	case !remote.Exists:
		return absent, ""
	case remote.Deleting && writes:
		return deleting + ": run would refuse to write it until it is restored or its recovery window ends",
			"is scheduled for deletion, so run would refuse to write it until it is restored or its recovery window ends"
	case remote.Deleting && action == "delete":
		return deleting + ": run counts it deleted", ""
	case remote.Deleting:
		return deleting, ""
	case remote.Ours:
		return "exists, ours", ""
	case action == "delete":
		return notOurs + ": run would refuse to delete it", ""
	case !writes:
		return notOurs, ""
	case updates == render.PushIfNotExists:
		return notOurs + ": run leaves it (updatePolicy IfNotExists)", ""
	}
	return notOurs + ": run would refuse to write it", "exists without the managed-by tag, so run would refuse to write it"
}

const (
	notOurs  = "exists, NOT ours"
	absent   = "absent"
	deleting = "exists, scheduled for deletion"
)

// remoteNote is the --check-remote answer after sep, or nothing.
func remoteNote(remote, sep string) string {
	if remote == "" {
		return ""
	}
	return sep + "AWS: " + remote
}
