package inventory

import "fmt"

// Prune is what the guard weighs before a pass deletes what left Git:
// Secrets (ExternalSecret entries) or remote secrets (PushSecret rows).
type Prune struct {
	// Noun names what the revision renders: "ExternalSecret" or "PushSecret".
	Noun string
	// Unreadable: the record could not be read whole, so the candidates
	// are not known.
	Unreadable bool
	// RenderErrors counts the revision's render errors: an object that
	// failed to render may still be in Git.
	RenderErrors int
	// Candidates, Recorded, Rendered: the deletions asked, the rows the
	// record held, the objects of that kind the revision renders.
	Candidates, Recorded, Rendered int
	// AllowEmpty lets a revision that renders none prune everything.
	AllowEmpty bool
	// Budget caps the deletions: 0 is the default (a quarter of the
	// record, at least 50), negative no cap.
	Budget int
}

// Verdict is the guard's answer. Reason "" allows the prune.
type Verdict struct {
	Reason string
	// Failure: the refusal is a failure of the pass of its own (an empty
	// revision, the budget); an unreadable record or a render error is
	// reported as a failure where it happened.
	Failure bool
}

// Allowed says whether the prune may run.
func (v Verdict) Allowed() bool { return v.Reason == "" }

// PruneGuard is every guard on a prune, in one place: run and diff, Secret
// prune and PushSecret remote deletion ask it alike.
func PruneGuard(p Prune) Verdict {
	if p.Unreadable {
		return Verdict{Reason: "inventory unreadable"}
	}
	if p.Candidates == 0 {
		return Verdict{}
	}
	if p.RenderErrors > 0 {
		return Verdict{Reason: fmt.Sprintf("render reported %d errors", p.RenderErrors)}
	}
	if p.Rendered == 0 && p.Recorded > 0 && !p.AllowEmpty {
		return Verdict{Reason: fmt.Sprintf("the revision renders no %s while the inventory holds %d; pass --allow-empty if that is meant", p.Noun, p.Recorded), Failure: true}
	}
	budget := p.Budget
	if budget == 0 {
		budget = max((p.Recorded+3)/4, 50)
	}
	if budget > 0 && p.Candidates > budget {
		return Verdict{Reason: fmt.Sprintf("%d deletions exceed the budget of %d per pass; raise --prune-budget if that is meant", p.Candidates, budget), Failure: true}
	}
	return Verdict{}
}
