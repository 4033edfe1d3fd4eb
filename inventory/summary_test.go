package inventory

import (
	"fmt"
	"strings"
	"testing"
)

// The summary counts the record and lists the failing ExternalSecrets, up
// to summaryFailuresShown, each message cut short.
func TestSummaryCountsAndListsTheFailing(t *testing.T) {
	inv := Inventory{Revision: "main@sha1:abc", Entries: []Entry{{Namespace: "a", Name: "s"}},
		Status: []Status{{ExternalSecret: "a/ok", Ready: true}, {ExternalSecret: "a/bad", Source: "bad.yaml", Reason: "Invalid", Message: strings.Repeat("m", 400)}}}
	want := "revision: main@sha1:abc\nsecrets: 1\nexternalSecrets: 2\nready: 1\nfailing: 1\n- a/bad (bad.yaml): Invalid: " + strings.Repeat("m", 300)
	if got := Summary(inv); !strings.HasPrefix(got, want) || len(got) > len(want)+10 {
		t.Errorf("Summary =\n%s\nwant it to start with\n%s\nand the message cut at 300", got, want)
	}
	inv.Status = nil
	for i := range summaryFailuresShown + 3 {
		inv.Status = append(inv.Status, Status{ExternalSecret: fmt.Sprintf("a/f%d", i), Reason: "R"})
	}
	got := Summary(inv)
	if n := strings.Count(got, "\n- "); n != summaryFailuresShown {
		t.Errorf("the summary lists %d failing ExternalSecrets, want %d", n, summaryFailuresShown)
	}
	if !strings.Contains(got, "... and 3 more; `secretsync status` lists each\n") {
		t.Errorf("the summary does not count the failing ones it leaves out:\n%s", got)
	}
}
