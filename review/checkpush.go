package review

import (
	"strings"

	"github.com/secretsync/secretsync/render"
)

// OwnerFunc says whether the remote secret key exists in store (a
// desired.StoreKey's String) and carries the managed-by tag, reading no
// value (providers.Owner).
type OwnerFunc func(store, key string) (exists, ours bool, err error)

// CheckRemotePushes asks owner about each remote secret of p.Remote and
// notes the answer on its row; a remote secret the head pushes that exists
// without the managed-by tag is a finding, since run would refuse to write
// it (unless updatePolicy is IfNotExists, which leaves it). Names run
// learns from a source Secret's keys (dataTo without remoteKey) are not
// asked.
func CheckRemotePushes(p *Plan, owner OwnerFunc) {
	asked := map[string]string{}
	for i := range p.Remote {
		r := &p.Remote[i]
		if strings.HasPrefix(r.RemoteKey, "(") {
			r.Remote = "not checked: named when run reads the source"
			continue
		}
		k := r.Store + "\x00" + r.RemoteKey
		if _, seen := asked[k]; !seen {
			asked[k] = ownerNote(owner(r.Store, r.RemoteKey))
		}
		r.Remote = asked[k]
		writes := r.Action == "push" || r.Action == "change"
		switch {
		case r.Remote == absent && writes:
			r.Remote += ": run creates it"
		case r.Remote != notOurs:
		case r.Action == "delete":
			r.Remote += ": run would refuse to delete it"
		case !writes:
		case r.ps.Updates() == render.PushIfNotExists:
			r.Remote += ": run leaves it (updatePolicy IfNotExists)"
		default:
			r.Remote += ": run would refuse to write it"
			p.Findings = append(p.Findings, Finding{File: r.Source, Kind: render.KindPushSecret, Namespace: r.ps.Namespace, Name: r.ps.Name,
				Message: "remote: " + r.RemoteKey + " in " + r.Store + " exists without the managed-by tag, so run would refuse to write it"})
		}
	}
}

const (
	notOurs = "exists, NOT ours"
	absent  = "absent"
)

func ownerNote(exists, ours bool, err error) string {
	switch {
	case err != nil:
		return "not checked: " + err.Error()
	case !exists:
		return absent
	case ours:
		return "exists, ours"
	}
	return notOurs
}

// remoteNote is the --check-remote answer after sep, or nothing.
func remoteNote(remote, sep string) string {
	if remote == "" {
		return ""
	}
	return sep + "AWS: " + remote
}
