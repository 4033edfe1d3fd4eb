package plan

import (
	"strings"
	"testing"

	"github.com/secretsync/secretsync/render"
)

// Compare orders targets exactly as their String forms do, prefixes,
// separators inside names and ConfigMap targets included.
func TestCompareIsStringOrder(t *testing.T) {
	parts := []string{"", "a", "a/b", "a-", "ab", "b", "a (", "z"}
	var targets []Target
	for _, ns := range parts {
		for _, name := range parts {
			for _, kind := range []string{"", render.KindConfigMap} {
				targets = append(targets, Target{ns, name, kind})
			}
		}
	}
	for _, a := range targets {
		for _, b := range targets {
			if got, want := Compare(a, b), strings.Compare(a.String(), b.String()); got != want {
				t.Fatalf("Compare(%q, %q) = %d, the strings compare %d", a, b, got, want)
			}
		}
	}
	if n := testing.AllocsPerRun(100, func() { Compare(targets[3], targets[len(targets)-1]) }); n != 0 {
		t.Errorf("Compare allocates %v times a call", n)
	}
}

func TestParseTargetReadsStringBack(t *testing.T) {
	for _, want := range []Target{{"a", "b", ""}, {"a", "b", render.KindConfigMap}, {"a", "b (x)", ""}, {"a", "b/c", ""}} {
		got, ok := ParseTarget(want.String())
		if !ok || got != want {
			t.Errorf("ParseTarget(%q) = %+v, %v; want %+v", want.String(), got, ok, want)
		}
	}
	if _, ok := ParseTarget("no-slash"); ok {
		t.Error("ParseTarget of a string with no slash: ok, want not")
	}
}

func TestNamedSaysTheKind(t *testing.T) {
	for target, want := range map[Target]string{
		{"a", "b", ""}:                   "secret a/b",
		{"a", "b", render.KindConfigMap}: "configmap a/b",
	} {
		if got := target.Named(); got != want {
			t.Errorf("%+v.Named() = %q, want %q", target, got, want)
		}
	}
}
