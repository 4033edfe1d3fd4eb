package inventory

import (
	"strings"
	"testing"
)

func TestPruneGuard(t *testing.T) {
	cases := []struct {
		name    string
		p       Prune
		want    string // a piece of the reason; "" allowed
		failure bool
	}{
		{"a small prune is allowed", Prune{Candidates: 1, Recorded: 10, Rendered: 9}, "", false},
		{"up to 50 are allowed from a small inventory", Prune{Candidates: 50, Recorded: 60, Rendered: 10}, "", false},
		{"51 from an inventory of 60 exceed the floor of 50", Prune{Candidates: 51, Recorded: 60, Rendered: 9}, "exceed the budget of 50", true},
		{"25% of a large inventory is allowed", Prune{Candidates: 250, Recorded: 1000, Rendered: 750}, "", false},
		{"more than 25% of a large inventory is refused", Prune{Candidates: 251, Recorded: 1000, Rendered: 749}, "exceed the budget of 250", true},
		{"an explicit budget replaces the default", Prune{Candidates: 5, Recorded: 1000, Rendered: 995, Budget: 4}, "budget of 4", true},
		{"a negative budget means no cap", Prune{Candidates: 1000, Recorded: 1000, Rendered: 1, Budget: -1}, "", false},
		{"an empty render with a non-empty inventory is refused", Prune{Noun: "ExternalSecret", Candidates: 3, Recorded: 3}, "renders no ExternalSecret", true},
		{"even within budget", Prune{Noun: "PushSecret", Candidates: 1, Recorded: 1, Budget: -1}, "renders no PushSecret", true},
		{"unless --allow-empty", Prune{Candidates: 3, Recorded: 3, AllowEmpty: true}, "", false},
		{"an empty render with an empty inventory prunes nothing anyway", Prune{}, "", false},
		{"render errors refuse, reported where they happened", Prune{Candidates: 1, Recorded: 10, Rendered: 9, RenderErrors: 2}, "render reported 2 errors", false},
		{"render errors do not matter with nothing to prune", Prune{Recorded: 10, Rendered: 9, RenderErrors: 2}, "", false},
		{"an unreadable record refuses even with no candidate known", Prune{Unreadable: true, Recorded: 10, Rendered: 10}, "inventory unreadable", false},
		{"an unreadable record goes before every other guard", Prune{Unreadable: true, Candidates: 100, Recorded: 100, RenderErrors: 1}, "inventory unreadable", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := PruneGuard(c.p)
			if v.Allowed() != (c.want == "") || !strings.Contains(v.Reason, c.want) || v.Failure != c.failure {
				t.Fatalf("PruneGuard(%+v) = %+v; want a reason with %q, failure %v", c.p, v, c.want, c.failure)
			}
		})
	}
}
