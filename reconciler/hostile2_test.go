package reconciler_test

import (
	"strings"
	"testing"

	"github.com/secretsync/secretsync/reconciler"
)

// TestATemplateCannotMarkItsSecretOrphaned: an owning ExternalSecret whose
// template sets secretsync.io/orphaned and a forged secretsync.io/generators
// record, and one without a template carrying them in its own annotations
// (which ESO copies to the Secret), get neither on their Secrets, and both
// Secrets are pruned when their ExternalSecrets leave Git.
func TestATemplateCannotMarkItsSecretOrphaned(t *testing.T) {
	f := newFixture(t)
	f.seed("k/a", "hostile2-orphan-seeded-value")
	forged := `{secretsync.io/orphaned: "true", secretsync.io/generators: "{}"}`
	bare := strings.Replace(f.es("bare", "a=k/a"), "metadata: {name: bare,", "metadata: {annotations: "+forged+", name: bare,", 1)
	f.commit(map[string]string{"store.yaml": f.store(),
		"es.yaml":   withTarget(f.es("app", "a=k/a"), "{template: {metadata: {annotations: "+forged+"}}}"),
		"bare.yaml": bare})
	if res := f.pass(); !res.OK() {
		t.Fatalf("pass: %v", res.Errors)
	}
	for _, name := range []string{"app", "bare"} {
		s := f.secret(name)
		if s == nil {
			t.Fatalf("no secret %s", name)
		}
		for _, k := range []string{reconciler.AnnotationOrphaned, reconciler.AnnotationGenerators} {
			if _, ok := s.Annotations[k]; ok {
				t.Fatalf("secret %s: its ExternalSecret set %s", name, k)
			}
		}
	}
	f.commit(map[string]string{"es.yaml": f.es("other", "a=k/a"), "bare.yaml": f.es("other2", "a=k/a")})
	if res := f.pass(); !res.OK() {
		t.Fatalf("pass: %v", res.Errors)
	}
	for _, name := range []string{"app", "bare"} {
		if f.secret(name) != nil {
			t.Fatalf("secret %s left Git but was not pruned", name)
		}
	}
}
