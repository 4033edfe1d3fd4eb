package plan

import (
	"fmt"
	"strings"
)

// Entry is what the prune plan knows of one inventory entry's target after
// the pass's writes.
type Entry struct {
	Target Target
	// Owned: an ExternalSecret of policy Owner wrote or kept it this pass.
	Owned bool
	// Blocked: its ExternalSecret is in Git and failed; it is kept.
	Blocked bool
	// InGit: an ExternalSecret in Git targets it (under a policy that does
	// not own it, when not Owned).
	InGit bool
}

// Stale says what becomes of an inventory entry: Keep (stays in the
// inventory), Orphan (released), or Prune (a candidate the guards weigh).
func Stale(e Entry) Kind {
	switch {
	case e.Owned, e.Blocked:
		return Keep
	case e.InGit:
		return Orphan
	}
	return Prune
}

// Guards is what the prune guards weigh besides the candidates.
type Guards struct {
	// Unreadable: some of the inventory could not be read.
	Unreadable bool
	// RenderErrors counts the objects the revision failed to render.
	RenderErrors int
	// Verdict is the prune guard (empty revision, budget) for n
	// candidates: "" allows them.
	Verdict func(n int) string
}

// Prunes plans the deletion of candidates: every one a Prune action, or
// every one Refused with the guard's reason. A refusal by the guard is
// also returned as an error naming what it would delete, for the pass to
// report; one by render errors or an unreadable inventory is only said:
// those failed the pass already.
func Prunes(candidates []Target, g Guards) ([]Action, error) {
	if len(candidates) == 0 {
		return nil, nil
	}
	reason := ""
	var err error
	switch {
	case g.Unreadable:
		reason = "inventory unreadable"
	case g.RenderErrors > 0:
		reason = fmt.Sprintf("render reported %d errors", g.RenderErrors)
	default:
		if reason = g.Verdict(len(candidates)); reason != "" {
			names := make([]string, len(candidates))
			for i, t := range candidates {
				names[i] = t.String()
			}
			err = fmt.Errorf("prune refused: %s; would delete %s", reason, strings.Join(names, ", "))
		}
	}
	out := make([]Action, len(candidates))
	for i, t := range candidates {
		out[i] = Action{Kind: Prune, Target: t}
		if reason != "" {
			out[i] = Action{Kind: Refused, Would: Prune, Target: t, Reason: reason, Err: err}
		}
	}
	return out, err
}
