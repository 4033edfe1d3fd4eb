package plan

import (
	"testing"

	"github.com/secretsync/secretsync/render"
)

// TestTheResourceVersionIsESOs: ESO's GetResourceVersion covers the
// generation (the spec) and the labels and annotations; the file an
// ExternalSecret is in is not part of it.
func TestTheResourceVersionIsESOs(t *testing.T) {
	base := func() *render.ExternalSecret {
		es := &render.ExternalSecret{Source: "a.yaml"}
		es.Name, es.Namespace = "app", "team"
		es.Labels = map[string]string{"team": "a"}
		es.Spec.RefreshPolicy = "OnChange"
		return es
	}
	v := VersionOf(base())
	changes := []struct {
		name string
		edit func(*render.ExternalSecret)
		same bool
	}{
		{"the same object", func(*render.ExternalSecret) {}, true},
		{"another file", func(es *render.ExternalSecret) { es.Source = "b.yaml" }, true},
		{"a spec field", func(es *render.ExternalSecret) { es.Spec.RefreshPolicy = "Periodic" }, false},
		{"a label", func(es *render.ExternalSecret) { es.Labels["team"] = "b" }, false},
		{"an annotation (ESO's force-sync)", func(es *render.ExternalSecret) { es.Annotations = map[string]string{"force-sync": "1"} }, false},
	}
	for _, c := range changes {
		t.Run(c.name, func(t *testing.T) {
			es := base()
			c.edit(es)
			if got := VersionOf(es) == v; got != c.same {
				t.Fatalf("same version = %v, want %v", got, c.same)
			}
			if back, ok := ParseVersion(VersionOf(es).String()); !ok || back != VersionOf(es) {
				t.Fatal("the version does not read back from its string")
			}
		})
	}
}
