package reconciler

import "testing"

func TestPruneGuard(t *testing.T) {
	cases := []struct {
		name             string
		n, inv, rendered int
		cfg              Config
		allowed          bool
	}{
		{"a small prune is allowed", 1, 10, 9, Config{}, true},
		{"up to 50 are allowed from a small inventory", 50, 60, 10, Config{}, true},
		{"51 from an inventory of 60 exceed the floor of 50", 51, 60, 9, Config{}, false},
		{"25% of a large inventory is allowed", 250, 1000, 750, Config{}, true},
		{"more than 25% of a large inventory is refused", 251, 1000, 749, Config{}, false},
		{"an explicit budget replaces the default", 5, 1000, 995, Config{PruneBudget: 4}, false},
		{"a negative budget means no cap", 1000, 1000, 1, Config{PruneBudget: -1}, true},
		{"an empty render with a non-empty inventory is refused", 3, 3, 0, Config{}, false},
		{"even within budget", 1, 1, 0, Config{PruneBudget: -1}, false},
		{"unless --allow-empty", 3, 3, 0, Config{AllowEmpty: true}, true},
		{"an empty render with an empty inventory prunes nothing anyway", 0, 0, 0, Config{}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			reason := pruneGuard(c.n, c.inv, c.rendered, c.cfg)
			if (reason == "") != c.allowed {
				t.Fatalf("pruneGuard(%d, %d, %d, %+v) = %q; allowed want %v", c.n, c.inv, c.rendered, c.cfg, reason, c.allowed)
			}
		})
	}
}
