// Package plan decides what one pass does, as data: for each desired
// Secret whether it is created, applied, kept, merged or deleted, for each
// inventory entry whether it is pruned, orphaned or kept, and every
// refusal with its reason. It is pure (no client in reach): `run` executes
// its actions, `diff` prints them, so the two cannot disagree.
package plan

import (
	"fmt"

	"github.com/secretsync/secretsync/desired"
)

// Kind is what an action does to its target.
type Kind string

const (
	// Nothing: the desired Secret is resolved and reported only (policy
	// None, or retained with no target to keep).
	Nothing Kind = ""
	// Create makes a new object with a plain create, which fails when the
	// name is taken: a Secret someone else made is never taken over.
	Create Kind = "create"
	// Apply server-side applies the whole object, forced, as FieldManager.
	Apply Kind = "apply"
	// Keep writes nothing: the object holds its desired state, or is
	// retained (deletionPolicy Retain with no data).
	Keep Kind = "keep"
	// Merge applies a merging writer's keys under its own field manager;
	// with creationPolicy CreateOrMerge it creates a missing Secret.
	Merge Kind = "merge"
	// Delete removes the target of an ExternalSecret whose remote sources
	// are all gone (deletionPolicy Delete).
	Delete Kind = "delete"
	// Orphan releases an inventory entry whose ExternalSecret is in Git
	// under a policy that does not own it: the object stays, marked.
	Orphan Kind = "orphan"
	// Prune deletes an object that left Git, past the prune guards.
	Prune Kind = "prune"
	// Refused is an action not taken; Would says which, Reason why.
	Refused Kind = "refused"
	// Rollout restarts opted-in workloads of a namespace whose Secrets
	// changed.
	Rollout Kind = "rollout"
)

// FieldManager is the field manager of every write but a merge's.
const FieldManager = "secretsync"

// Target names one object: Kind "" for a Secret, "ConfigMap" for a
// ConfigMap target.
type Target struct{ Namespace, Name, Kind string }

func (t Target) String() string {
	s := t.Namespace + "/" + t.Name
	if t.Kind != "" {
		s += " (" + t.Kind + ")"
	}
	return s
}

// Action is one step of a pass. It holds names, never values.
type Action struct {
	Kind   Kind
	Target Target
	// ExternalSecret is the namespace/name of the writer ("" for prune
	// and orphan, which act on inventory entries).
	ExternalSecret string
	// FieldManager and Force are the write's (Create, Apply, Merge).
	FieldManager string
	Force        bool
	// Would is what a Refused action would have done, Reason why not.
	Would  Kind
	Reason string
	// Err is set on a refusal the pass reports as a failure (a target
	// that could not be read, a Merge target that does not exist, a
	// prune past its budget); a refusal without it is only said.
	Err error
	// Hash is a Rollout's new secrets-hash for the pod template.
	Hash string
}

// Want is one desired Secret, as the plan needs to know it.
type Want struct {
	Target         Target
	ExternalSecret string
	Policy         string // desired.CreationPolicy
	Merges         bool   // desired.Merges: written under MergeManager
	MergeManager   string
	Immutable      bool
	// Gone: deletionPolicy Delete and every remote source is gone.
	Gone bool
	// Retained: deletionPolicy Retain and the sources gave no data.
	Retained bool
	// Reused: the values were not fetched, the target is known to hold
	// them.
	Reused bool
}

// Live is what the pass read of a Want's target.
type Live struct {
	Exists bool
	// Matches: the target holds the desired content.
	Matches bool
	// Err is why it could not be read.
	Err error
}

// Writes plans one part of desired Secrets: want[i] against live[i] gives
// the action at i. Merging writers of one target are planned in order, each
// seeing the target the previous one leaves (a CreateOrMerge creates it
// for the next).
func Writes(want []Want, live []Live) []Action {
	out := make([]Action, len(want))
	created := map[Target]bool{} // by a merging writer earlier in this part
	for i, w := range want {
		l := live[i]
		if w.Merges && created[w.Target] {
			l = Live{Exists: true}
		}
		out[i] = write(w, l)
		if out[i].Kind == Merge && !l.Exists {
			created[w.Target] = true
		}
	}
	return out
}

// write is the decision for one desired Secret.
func write(w Want, l Live) Action {
	a := Action{Target: w.Target, ExternalSecret: w.ExternalSecret}
	refuse := func(would Kind, reason string, err error) Action {
		if reason == "" {
			reason = err.Error()
		}
		a.Kind, a.Would, a.Reason, a.Err = Refused, would, reason, err
		return a
	}
	switch {
	case l.Err != nil:
		return refuse(Apply, "its target could not be read", l.Err)
	case w.Policy == desired.PolicyNone:
		a.Kind = Nothing
	case w.Retained && !l.Exists:
		a.Kind = Nothing
	case w.Retained:
		a.Kind = Keep
	case w.Gone:
		a.Kind = Delete
	case w.Reused || l.Matches:
		a.Kind = Keep
	case w.Immutable && l.Exists:
		return refuse(Apply, "the Secret is immutable and its content changed; delete it to let secretsync create it again", nil)
	case w.Merges && !l.Exists && w.Policy == desired.PolicyMerge:
		return refuse(Merge, "", fmt.Errorf("secret %s does not exist, and creationPolicy Merge never creates it", w.Target))
	case w.Merges:
		a.Kind, a.FieldManager, a.Force = Merge, w.MergeManager, true
	case !l.Exists:
		a.Kind, a.FieldManager = Create, FieldManager
	default:
		a.Kind, a.FieldManager, a.Force = Apply, FieldManager, true
	}
	return a
}
