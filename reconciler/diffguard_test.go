package reconciler_test

import (
	"context"
	"strings"
	"testing"

	"github.com/secretsync/secretsync/reconciler"
)

// pruneGuardCase is a change that makes a pass refuse to prune: the
// guard, the Config edit it needs, and the pass's reason.
type pruneGuardCase struct {
	name   string
	edit   func(*reconciler.Config)
	change func(f *fixture) map[string]string
	reason string
}

// pruneGuardCases are the three guards a change to three ExternalSecrets
// (guardedThree) can meet: the budget, render errors, an empty revision.
var pruneGuardCases = []pruneGuardCase{
	{"past the prune budget", func(c *reconciler.Config) { c.PruneBudget = 1 },
		func(f *fixture) map[string]string { return map[string]string{"g2.yaml": "", "g3.yaml": ""} }, "exceed the budget"},
	{"after a render error", nil,
		func(f *fixture) map[string]string {
			return map[string]string{"g3.yaml": "", "broken.yaml": "apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: {name: broken, namespace: " + f.ns + "}\nspec: {data: 7}\n"}
		}, "render reported 1 errors"},
	{"on a revision that renders no ExternalSecret", nil,
		func(f *fixture) map[string]string {
			return map[string]string{"g1.yaml": "", "g2.yaml": "", "g3.yaml": ""}
		}, "renders no ExternalSecret"},
}

// guardedThree is a fixture whose pass applied three ExternalSecrets,
// g1 to g3, then committed c's change.
func guardedThree(t *testing.T, c pruneGuardCase) *fixture {
	f := newFixture(t)
	if c.edit != nil {
		f.rec = f.newReconciler(c.edit)
	}
	f.seed("guard/v", "value-guard-"+randomSuffix())
	files := map[string]string{"store.yaml": f.store()}
	for _, n := range []string{"g1", "g2", "g3"} {
		files[n+".yaml"] = f.es(n, "v=guard/v")
	}
	f.commit(files)
	mustOK(t, f.pass())
	f.commit(c.change(f))
	return f
}

// TestDiffNeverAnnouncesAPruneThePassRefuses holds diff to the prune
// guards run applies: a prune past the budget, after render errors, or of
// everything on an empty revision is shown refused, with the pass's reason,
// and the pass then deletes none of them.
func TestDiffNeverAnnouncesAPruneThePassRefuses(t *testing.T) {
	for _, c := range pruneGuardCases {
		t.Run(c.name, func(t *testing.T) {
			f := guardedThree(t, c)

			diffs, _ := f.rec.Diff(context.Background())
			refused := 0
			for _, d := range diffs {
				if d.Action == "prune" {
					t.Errorf("diff announces a prune of %s/%s that the pass refuses", d.Namespace, d.Name)
				}
				if d.Action == "refused" && d.Would == "prune" && strings.Contains(d.Reason, c.reason) {
					refused++
				}
			}
			if refused == 0 {
				t.Errorf("diff shows no prune refused for %q: %+v", c.reason, diffs)
			}
			res := f.pass()
			if res.Pruned != 0 || !strings.Contains(res.PruneSkipped, c.reason) || len(res.PruneRefused) != refused {
				t.Fatalf("the pass pruned %d, skipped %q, refused %v; diff refused %d", res.Pruned, res.PruneSkipped, res.PruneRefused, refused)
			}
		})
	}
}
