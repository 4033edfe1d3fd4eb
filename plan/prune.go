package plan

import (
	"fmt"
	"strings"
)

// Prunes plans the deletion of the stale targets (inventory.Stale) under
// the prune guard's verdict (inventory.PruneGuard): every one a Prune
// action when refusal is "", else every one Refused with it. A refusal
// that is a failure of its own (failure: an empty revision, the budget) is
// also returned as an error naming what it would delete, for the pass to
// report; one by render errors or an unreadable inventory is only said:
// those failed the pass already.
func Prunes(stale []Target, refusal string, failure bool) ([]Action, error) {
	if len(stale) == 0 {
		return nil, nil
	}
	var err error
	if refusal != "" && failure {
		names := make([]string, len(stale))
		for i, t := range stale {
			names[i] = t.String()
		}
		err = fmt.Errorf("prune refused: %s; would delete %s", refusal, strings.Join(names, ", "))
	}
	out := make([]Action, len(stale))
	for i, t := range stale {
		out[i] = Action{Kind: Prune, Target: t}
		if refusal != "" {
			out[i] = Action{Kind: Refused, Would: Prune, Target: t, Reason: refusal, Err: err}
		}
	}
	return out, err
}
