package inventory

import (
	"fmt"
	"strings"

	"github.com/secretsync/secretsync/cluster"
)

// summaryFailuresShown bounds the failing ExternalSecrets the summary
// lists; the full record stays in DataKey.
const summaryFailuresShown = 50

// Summary is the readable part of the inventory: one line of counts, then
// one line per failing ExternalSecret (the first summaryFailuresShown).
func Summary(inv Inventory) string {
	var failing []Status
	for _, st := range inv.Status {
		if !st.Ready {
			failing = append(failing, st)
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "revision: %s\nsecrets: %d\nexternalSecrets: %d\nready: %d\nfailing: %d\n",
		inv.Revision, len(inv.Entries), len(inv.Status), len(inv.Status)-len(failing), len(failing))
	for i, st := range failing {
		if i == summaryFailuresShown {
			fmt.Fprintf(&b, "... and %d more; `secretsync status` lists each\n", len(failing)-i)
			break
		}
		fmt.Fprintf(&b, "- %s (%s): %s: %s\n", st.ExternalSecret, st.Source, st.Reason, cluster.Truncate(st.Message, 300))
	}
	return b.String()
}
