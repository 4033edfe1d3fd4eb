package reconciler_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rs/zerolog"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/secretsync/secretsync/gitsource"
	"github.com/secretsync/secretsync/internal/gittest"
	"github.com/secretsync/secretsync/inventory"
	"github.com/secretsync/secretsync/reconciler"
)

// TestTwoInstancesInOneNamespace runs two reconciler instances (A, the
// fixture's, and B, with its own repo, checkout and inventory) over the
// same namespace of the real control plane. Neither takes over, prunes or
// adopts into its rebuilt inventory a Secret labelled for the other, and a
// Secret both claim stays with the first and is reported by the second.
func TestTwoInstancesInOneNamespace(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	instB := f.ns + "-b"
	repoB, err := gittest.Init(filepath.Join(t.TempDir(), "repo-b"))
	if err != nil {
		t.Fatal(err)
	}
	srcB, err := gitsource.New(gitsource.Options{URL: "file://" + repoB.Dir, Ref: "main", Dir: filepath.Join(t.TempDir(), "checkout-b")})
	if err != nil {
		t.Fatal(err)
	}
	recB, err := reconciler.New(reconciler.Config{Instance: instB, InventoryNamespace: f.ns, Path: "."}, srcB, f.kube, f.pf, zerolog.New(f.logs).Level(zerolog.DebugLevel))
	if err != nil {
		t.Fatal(err)
	}
	passB := func() reconciler.Result {
		res := recB.Pass(ctx, true)
		for _, e := range res.Errors {
			f.errs = append(f.errs, e.Error())
		}
		return res
	}
	commitB := func(files map[string]string) {
		t.Helper()
		if _, err := repoB.Commit("change", files); err != nil {
			t.Fatal(err)
		}
	}
	f.seed("two/a", "value-of-a-seeded")
	f.seed("two/b", "value-of-b-seeded")
	f.commit(map[string]string{"store.yaml": f.store(), "a1.yaml": f.es("a1", "v=two/a"), "a2.yaml": f.es("a2", "v=two/a"), "shared.yaml": f.es("shared", "v=two/a")})
	commitB(map[string]string{"store.yaml": f.store(), "b1.yaml": f.es("b1", "v=two/b"), "b2.yaml": f.es("b2", "v=two/b")})
	mustOK(t, f.pass())
	mustOK(t, passB())

	// owner is the instance a Secret is labelled for, and its version.
	owner := func(name string) (string, string) {
		t.Helper()
		s := f.secret(name)
		if s == nil {
			return "", ""
		}
		return s.Labels[reconciler.LabelInstance], s.ResourceVersion
	}
	names := func(instance string) []string {
		t.Helper()
		cm, err := f.kube.CoreV1().ConfigMaps(f.ns).Get(ctx, inventory.Name(instance), metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		inv, err := inventory.ReadInventory(ctx, f.kube, cm)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range inv.Entries {
			out = append(out, e.Namespace+"/"+e.Name)
		}
		return out
	}
	// untouched fails unless each named Secret is still the instance's, at
	// the resourceVersion it had.
	snapshot := func(names ...string) map[string]string {
		m := map[string]string{}
		for _, n := range names {
			_, rv := owner(n)
			m[n] = rv
		}
		return m
	}
	untouched := func(what, instance string, before map[string]string) {
		t.Helper()
		for n, rv := range before {
			if got, now := owner(n); got != instance || now != rv {
				t.Fatalf("%s: Secret %s is labelled %q at resourceVersion %s, want %q at %s", what, n, got, now, instance, rv)
			}
		}
	}
	for n, inst := range map[string]string{"a1": f.ns, "a2": f.ns, "shared": f.ns, "b1": instB, "b2": instB} {
		if got, _ := owner(n); got != inst {
			t.Fatalf("Secret %s is labelled %q, want %q", n, got, inst)
		}
	}

	t.Run("a Secret both claim stays the first's and the second reports it", func(t *testing.T) {
		before := snapshot("shared")
		kept := data(f.secret("shared"))
		commitB(map[string]string{"shared.yaml": f.es("shared", "v=two/b")})
		res := passB()
		if res.Reason != reconciler.ApplyFailed {
			t.Fatalf("B's pass: reason %q, want %q", res.Reason, reconciler.ApplyFailed)
		}
		if !anErrorHolds(res.Errors, []string{"apply secret {ns}/shared", `not managed by secretsync instance "` + instB + `"`, reconciler.LabelInstance + `="{ns}"`}, f.ns) {
			t.Fatalf("no error names the Secret and its owner: %v", res.Errors)
		}
		untouched("after B claimed it", f.ns, before)
		sameData(t, "secret shared", data(f.secret("shared")), kept)
		for _, n := range names(instB) {
			if n == f.ns+"/shared" {
				t.Fatal("B's inventory holds the Secret it could not claim")
			}
		}
		commitB(map[string]string{"shared.yaml": ""})
		mustOK(t, passB())
		untouched("after B gave up its claim", f.ns, before)
	})

	t.Run("removing an ExternalSecret from A's Git prunes A's Secret and leaves B's alone", func(t *testing.T) {
		before := snapshot("b1", "b2")
		f.commit(map[string]string{"a2.yaml": ""})
		res := f.pass()
		mustOK(t, res)
		if res.Pruned != 1 || f.secret("a2") != nil {
			t.Fatalf("A pruned %d, a2 left: %v; want a2 pruned", res.Pruned, f.secret("a2") != nil)
		}
		untouched("after A's prune", instB, before)
	})

	t.Run("B's inventory rebuilt from the labels adopts none of A's Secrets", func(t *testing.T) {
		beforeA := snapshot("a1", "shared")
		if err := f.kube.CoreV1().ConfigMaps(f.ns).Delete(ctx, inventory.Name(instB), metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		mustOK(t, passB())
		got := strings.Join(names(instB), ",")
		if want := f.ns + "/b1," + f.ns + "/b2"; got != want {
			t.Fatalf("B's rebuilt inventory holds %s, want %s", got, want)
		}
		commitB(map[string]string{"b2.yaml": ""})
		res := passB()
		mustOK(t, res)
		if res.Pruned != 1 || f.secret("b2") != nil {
			t.Fatalf("B pruned %d, b2 left: %v; want b2 pruned", res.Pruned, f.secret("b2") != nil)
		}
		untouched("after B's rebuild and prune", f.ns, beforeA)
		mustOK(t, f.pass())
		if got := strings.Join(names(f.ns), ","); got != f.ns+"/a1,"+f.ns+"/shared" {
			t.Fatalf("A's inventory holds %s after B's rebuild", got)
		}
	})
}
