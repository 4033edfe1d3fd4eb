package installtest

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// TestTheProductionOverlaySetsWhatTheREADMESays: the repo, the region and the events queue,
// patched by variable name, with every other variable of the base kept.
func TestTheProductionOverlaySetsWhatTheREADMESays(t *testing.T) {
	env := func(dir string) map[string]string {
		rm, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, res := range rm.Resources() {
			if res.GetKind() != "Deployment" {
				continue
			}
			m, err := res.Map()
			if err != nil {
				t.Fatal(err)
			}
			var d appsv1.Deployment
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(m, &d); err != nil {
				t.Fatal(err)
			}
			out := map[string]string{}
			for _, e := range d.Spec.Template.Spec.Containers[0].Env {
				out[e.Name] = e.Value
			}
			return out
		}
		t.Fatalf("%s has no Deployment", dir)
		return nil
	}
	base, prod := env("../../manifests/base"), env("../../manifests/overlays/production")
	if prod["SECRETSYNC_REPO"] != "https://github.com/acme/platform-secrets.git" || prod["AWS_REGION"] != "us-east-1" {
		t.Fatalf("repo %q, region %q", prod["SECRETSYNC_REPO"], prod["AWS_REGION"])
	}
	for name := range base {
		if _, kept := prod[name]; !kept {
			t.Fatalf("the overlay lost %s", name)
		}
	}
	// The overlay adds only the events queue (docs/events.md).
	if prod["SECRETSYNC_EVENTS_QUEUE_URL"] == "" || len(prod) != len(base)+1 {
		t.Fatalf("base has %d variables, the overlay %d (events queue %q)", len(base), len(prod), prod["SECRETSYNC_EVENTS_QUEUE_URL"])
	}
}
