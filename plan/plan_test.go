package plan

import (
	"errors"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/secretsync/secretsync/desired"
)

func TestThePlanPackageHasNoClientInReach(t *testing.T) {
	files, _ := filepath.Glob("*.go")
	for _, name := range files {
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			for _, banned := range []string{"k8s.io/client-go", "github.com/secretsync/secretsync/providers", "github.com/secretsync/secretsync/reconciler", "github.com/aws/"} {
				if strings.HasPrefix(path, banned) {
					t.Errorf("%s imports %s: the plan must stay pure", name, path)
				}
			}
		}
	}
	if _, err := os.Stat("plan.go"); err != nil {
		t.Fatal("run from the package folder:", err)
	}
}

func TestWritesDecidesEachDesiredSecret(t *testing.T) {
	tg := Target{Namespace: "ns", Name: "s"}
	readErr := errors.New("read failed")
	failure := errors.New("any failure") // Err is compared by presence only
	owner := Want{Target: tg, ExternalSecret: "ns/es", Policy: desired.PolicyOwner}
	merge := Want{Target: tg, ExternalSecret: "ns/m", Policy: desired.PolicyMerge, Merges: true, MergeManager: "secretsync-merge-x"}
	createOrMerge := merge
	createOrMerge.Policy = desired.PolicyCreateOrMerge
	with := func(w Want, edit func(*Want)) Want { edit(&w); return w }
	cases := []struct {
		name string
		want Want
		live Live
		out  []Action
	}{
		{"a missing target is created with a plain create", owner, Live{},
			[]Action{{Kind: Create, Target: tg, ExternalSecret: "ns/es", FieldManager: FieldManager}}},
		{"a changed target is applied, forced", owner, Live{Exists: true},
			[]Action{{Kind: Apply, Target: tg, ExternalSecret: "ns/es", FieldManager: FieldManager, Force: true}}},
		{"a matching target is kept", owner, Live{Exists: true, Matches: true},
			[]Action{{Kind: Keep, Target: tg, ExternalSecret: "ns/es"}}},
		{"a reused one is kept unread", with(owner, func(w *Want) { w.Reused = true }), Live{},
			[]Action{{Kind: Keep, Target: tg, ExternalSecret: "ns/es"}}},
		{"an unreadable target is refused with its error", owner, Live{Err: readErr},
			[]Action{{Kind: Refused, Would: Apply, Target: tg, ExternalSecret: "ns/es", Reason: "its target could not be read", Err: readErr}}},
		{"policy None writes nothing", with(owner, func(w *Want) { w.Policy = desired.PolicyNone }), Live{},
			[]Action{{Kind: Nothing, Target: tg, ExternalSecret: "ns/es"}}},
		{"a retained target that exists is kept", with(owner, func(w *Want) { w.Retained = true }), Live{Exists: true},
			[]Action{{Kind: Keep, Target: tg, ExternalSecret: "ns/es"}}},
		{"a retained target that does not exist gives nothing", with(owner, func(w *Want) { w.Retained = true }), Live{},
			[]Action{{Kind: Nothing, Target: tg, ExternalSecret: "ns/es"}}},
		{"gone sources delete the target", with(owner, func(w *Want) { w.Gone = true }), Live{Exists: true},
			[]Action{{Kind: Delete, Target: tg, ExternalSecret: "ns/es"}}},
		{"a changed immutable target is refused, not a failure", with(owner, func(w *Want) { w.Immutable = true }), Live{Exists: true},
			[]Action{{Kind: Refused, Would: Apply, Target: tg, ExternalSecret: "ns/es", Reason: "the Secret is immutable and its content changed; delete it to let secretsync create it again"}}},
		{"a merge applies under its own manager", merge, Live{Exists: true},
			[]Action{{Kind: Merge, Target: tg, ExternalSecret: "ns/m", FieldManager: "secretsync-merge-x", Force: true}}},
		{"a merge into a missing Secret is refused", merge, Live{},
			[]Action{{Kind: Refused, Would: Merge, Target: tg, ExternalSecret: "ns/m", Reason: "secret ns/s does not exist, and creationPolicy Merge never creates it", Err: failure}}},
		{"CreateOrMerge creates a missing Secret by merging", createOrMerge, Live{},
			[]Action{{Kind: Merge, Target: tg, ExternalSecret: "ns/m", FieldManager: "secretsync-merge-x", Force: true}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := Writes([]Want{c.want}, []Live{c.live})
			if diff := cmp.Diff(c.out, got, cmpopts.IgnoreFields(Action{}, "Err")); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
			for i := range min(len(got), len(c.out)) {
				if (got[i].Err == nil) != (c.out[i].Err == nil) {
					t.Errorf("a failure: got %v, want one: %v", got[i].Err, c.out[i].Err != nil)
				}
			}
		})
	}
	t.Run("a Merge after a CreateOrMerge of the same Secret merges into what it creates", func(t *testing.T) {
		got := Writes([]Want{createOrMerge, merge}, []Live{{}, {}})
		if len(got) != 2 || got[0].Kind != Merge || got[1].Kind != Merge {
			t.Fatalf("got %+v", got)
		}
	})
}

func TestPrunesCarriesTheGuardsVerdict(t *testing.T) {
	a, b := Target{Namespace: "ns", Name: "a"}, Target{Namespace: "ns", Name: "b", Kind: "ConfigMap"}
	for _, c := range []struct {
		name     string
		refusal  string
		failure  bool
		kind     Kind
		reported bool
	}{
		{"allowed: every candidate pruned", "", false, Prune, false},
		{"refused by the budget: every candidate refused, reported as a failure", "2 deletions exceed the budget", true, Refused, true},
		{"refused by render errors: refused, not reported again", "render reported 3 errors", false, Refused, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := Prunes([]Target{a, b}, c.refusal, c.failure)
			if len(got) != 2 {
				t.Fatalf("got %+v", got)
			}
			for _, x := range got {
				if x.Kind != c.kind || x.Reason != c.refusal || (c.kind == Refused && x.Would != Prune) {
					t.Errorf("action %+v, want kind %s reason %q", x, c.kind, c.refusal)
				}
			}
			if (err != nil) != c.reported {
				t.Errorf("err = %v, want reported %v", err, c.reported)
			}
			if err != nil && !strings.Contains(err.Error(), "would delete ns/a, ns/b (ConfigMap)") {
				t.Errorf("err = %v, want the candidates named", err)
			}
		})
	}
	if got, err := Prunes(nil, "refused", true); got != nil || err != nil {
		t.Errorf("no candidates: got %v, %v", got, err)
	}
}

func TestOwnsIsTheOwnershipRule(t *testing.T) {
	ours := map[string]string{LabelManagedBy: ManagedByValue, LabelInstance: "i"}
	for _, c := range []struct {
		name        string
		kind        string
		labels      map[string]string
		annotations map[string]string
		want        bool
	}{
		{"a Secret with both labels", "", ours, nil, true},
		{"a Secret of another instance", "", map[string]string{LabelManagedBy: ManagedByValue, LabelInstance: "other"}, nil, false},
		{"a Secret without the managed-by label", "", map[string]string{LabelInstance: "i"}, nil, false},
		{"a ConfigMap that names no ExternalSecret (the inventory)", "ConfigMap", ours, nil, false},
		{"a ConfigMap target", "ConfigMap", ours, map[string]string{AnnotationExternalSecret: "ns/es"}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := Owns("i", c.kind, c.labels, c.annotations); got != c.want {
				t.Errorf("Owns = %v, want %v", got, c.want)
			}
		})
	}
}

func TestRollOutOnlyWhenTheSecretsHashChanges(t *testing.T) {
	hashes := map[string]string{"db": "h1", "api": "h2"}
	lookup := func(n string) (string, bool) { v, ok := hashes[n]; return v, ok }
	w := Workload{Kind: "Deployment", Namespace: "ns", Name: "web", Secrets: []string{"db", "api"}}
	first, ok := RollOut(w, lookup)
	if !ok || first.Kind != Rollout || first.Target != (Target{Namespace: "ns", Name: "web", Kind: "Deployment"}) || len(first.Hash) != 16 {
		t.Fatalf("a workload without the hash: %+v, %v; want a rollout", first, ok)
	}
	w.Hash = first.Hash
	if a, ok := RollOut(w, lookup); ok {
		t.Errorf("an unchanged hash rolls out: %+v", a)
	}
	hashes["db"] = "h3"
	if a, ok := RollOut(w, lookup); !ok || a.Hash == first.Hash {
		t.Errorf("a changed Secret does not roll out: %+v, %v", a, ok)
	}
	if a, ok := RollOut(Workload{Secrets: []string{"not-ours"}}, lookup); ok {
		t.Errorf("a workload of no managed Secret rolls out: %+v", a)
	}
}
