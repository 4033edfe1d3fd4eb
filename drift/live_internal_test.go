package drift

import (
	"maps"
	"strings"
	"testing"
	"unsafe"

	"github.com/secretsync/secretsync/plan"
)

// Live Secrets' label and annotation keys, and our repeated values, are
// one copy across Secrets; the maps hold what they held.
func TestShareKeys(t *testing.T) {
	decoded := func() map[string]string { // as a decode makes them: every string its own
		return map[string]string{strings.Clone(plan.LabelInstance): strings.Clone("prod"), strings.Clone("team"): strings.Clone("payments-" + "x")}
	}
	a, b := shareKeys(decoded()), shareKeys(decoded())
	if !maps.Equal(a, decoded()) || !maps.Equal(b, decoded()) {
		t.Fatalf("shared maps differ: %v %v", a, b)
	}
	same := func(x, y string) bool { return unsafe.StringData(x) == unsafe.StringData(y) }
	for k := range a {
		var kb string
		for k2 := range b {
			if k2 == k {
				kb = k2
			}
		}
		if !same(k, kb) {
			t.Errorf("key %q is two copies", k)
		}
	}
	if !same(a[plan.LabelInstance], b[plan.LabelInstance]) {
		t.Error("the instance label's value is two copies")
	}
	if same(a["team"], b["team"]) {
		t.Error("a value of someone else's label was shared (only ours repeat)")
	}
}
