package reconciler_test

import (
	"context"
	"net/http"
	"sync"
	"testing"

	"github.com/rs/zerolog"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/secretsync/secretsync/gitsource"
	"github.com/secretsync/secretsync/reconciler"
)

type cutter func(*http.Request) (*http.Response, error)

func (c cutter) RoundTrip(r *http.Request) (*http.Response, error) { return c(r) }

// TestAPassCutOffMidwayIsNotASuccess: the context ends after the first
// write (a create is a POST, an update a PATCH), as it does at the shutdown deadline. The pass must be recorded as
// failed, and the next pass must run in full.
func TestAPassCutOffMidwayIsNotASuccess(t *testing.T) {
	f := newFixture(t)
	for _, k := range []string{"a", "b", "c", "d"} {
		f.seed("k/"+k, "value-"+k+"-seeded")
	}
	f.commit(map[string]string{"store.yaml": f.store(), "a.yaml": f.es("a", "v=k/a"), "b.yaml": f.es("b", "v=k/b"),
		"c.yaml": f.es("c", "v=k/c"), "d.yaml": f.es("d", "v=k/d")})

	ctx, cancel := context.WithCancel(context.Background())
	var once sync.Once
	cfg := rest.CopyConfig(env.Config)
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper {
		return cutter(func(r *http.Request) (*http.Response, error) {
			resp, err := rt.RoundTrip(r)
			if r.Method == http.MethodPatch || r.Method == http.MethodPost {
				once.Do(cancel)
			}
			return resp, err
		})
	})
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	src, _ := gitsource.New(gitsource.Options{URL: "file://" + f.repo.Dir, Ref: "main", Dir: f.checkout})
	rec, err := reconciler.New(reconciler.Config{Instance: f.ns, InventoryNamespace: f.ns, Path: ".", Concurrency: 1}, src, kube, f.pf, zerolog.New(f.logs))
	if err != nil {
		t.Fatal(err)
	}
	res := rec.Pass(ctx, false)
	if res.OK() {
		t.Fatalf("a pass cut off after its first write was recorded as a success: %+v", res)
	}
	res = rec.Pass(context.Background(), false)
	mustOK(t, res)
	if res.Stage != reconciler.StageDone {
		t.Fatalf("the pass after a cut-off one was %s", res.Stage)
	}
	for _, k := range []string{"a", "b", "c", "d"} {
		if f.secret(k) == nil {
			t.Fatalf("secret %s missing after the next pass", k)
		}
	}
}
