package reconciler_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/secretsync/secretsync/desired"
	"github.com/secretsync/secretsync/reconciler"
	"github.com/secretsync/secretsync/render"
	"github.com/secretsync/secretsync/review"
)

// needsAWS lists the parity cases only AWS can tell: run refuses them,
// validate cannot know.
var needsAWS = map[string]bool{"needs-aws": true}

// TestValidateFlagsWhatRunRefuses is the parity test: for each folder of
// testdata/parity (one problem each), the ExternalSecrets validate flags
// are the ones run refuses on the real control plane, except those that
// need AWS to tell.
func TestValidateFlagsWhatRunRefuses(t *testing.T) {
	cases, err := os.ReadDir("testdata/parity")
	if err != nil || len(cases) == 0 {
		t.Fatalf("no parity corpus: %v", err)
	}
	for _, c := range cases {
		t.Run(c.Name(), func(t *testing.T) {
			f := newFixture(t)
			f.rec = f.newReconciler(func(cfg *reconciler.Config) { cfg.Render.DefaultNamespace = f.ns })
			f.seed("parity/value", "value-parity-seeded")
			files := map[string]string{"store.yaml": f.store(), "fine.yaml": f.es("fine", "v=parity/value")}
			entries, err := os.ReadDir(filepath.Join("testdata/parity", c.Name()))
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range entries {
				b, err := os.ReadFile(filepath.Join("testdata/parity", c.Name(), e.Name()))
				if err != nil {
					t.Fatal(err)
				}
				files[c.Name()+"/"+e.Name()] = string(b)
			}
			f.commit(files)

			res := f.pass()
			refused := map[string]bool{}
			for _, st := range f.inventory().Status {
				if !st.Ready {
					refused[st.ExternalSecret] = true
				}
			}
			for _, p := range f.inventory().Pushed {
				if !p.Ready {
					refused[p.PushSecret] = true
				}
			}
			for _, e := range res.Errors {
				var oe *render.ObjectError
				if errors.As(e, &oe) && oe.Name != "" && !desired.IsStoreKind(oe.Kind) {
					refused[oe.ID()] = true
				}
			}

			set, err := render.Render(context.Background(), f.repo.Dir, ".", render.Options{DefaultNamespace: f.ns})
			if err != nil {
				t.Fatal(err)
			}
			flagged := map[string]bool{}
			for _, fd := range review.Validate(f.repo.Dir, set, review.Options{}) {
				if fd.Name != "" && !desired.IsStoreKind(fd.Kind) {
					flagged[fd.Namespace+"/"+fd.Name] = true
				}
				for _, es := range fd.Stops {
					flagged[es] = true
				}
			}
			if needsAWS[c.Name()] {
				if len(flagged) != 0 || len(refused) != 1 {
					t.Fatalf("a case that needs AWS: validate flagged %v, run refused %v", keys(flagged), keys(refused))
				}
				return
			}
			if len(refused) == 0 {
				t.Fatal("run refused nothing: the case does not test anything")
			}
			if diff := cmp.Diff(keys(refused), keys(flagged)); diff != "" {
				t.Fatalf("run refused (-) versus validate flagged (+):\n%s", diff)
			}
		})
	}
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
