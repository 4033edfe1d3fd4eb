package reconciler_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/secretsync/secretsync/generators"
	"github.com/secretsync/secretsync/internal/leaktest"
	"github.com/secretsync/secretsync/reconciler"
)

// TestATemplateCannotMarkItsSecretOrphaned: an owning ExternalSecret whose
// template sets secretsync.io/orphaned and a forged secretsync.io/generators
// record, and one without a template carrying them in its own annotations
// (which ESO copies to the Secret), get neither on their Secrets, and both
// Secrets are pruned when their ExternalSecrets leave Git.
func TestATemplateCannotMarkItsSecretOrphaned(t *testing.T) {
	f := newFixture(t)
	f.seed("k/a", leaktest.Canary()) // random: "orphan" is a word of its log
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
		for _, k := range []string{reconciler.AnnotationOrphaned, generators.Annotation} {
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

// TestATemplateThatRewritesAGeneratedKeyIsRefused: a template (mergePolicy
// Merge) that writes a generator's own key from its value
// (password: "x{{ .password }}") would read its own output back as the
// kept value, so each restart or change made a new password ("xxP", ...):
// the ExternalSecret fails, naming the key, and nothing is written.
func TestATemplateThatRewritesAGeneratedKeyIsRefused(t *testing.T) {
	f := newFixture(t)
	f.commit(map[string]string{"es.yaml": `apiVersion: generators.external-secrets.io/v1alpha1
kind: Password
metadata: {name: db, namespace: ` + f.ns + `}
spec: {length: 24, symbols: 0}
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: app, namespace: ` + f.ns + `}
spec:
  refreshPolicy: OnChange
  target: {template: {mergePolicy: Merge, data: {password: "x{{ .password }}"}}}
  dataFrom:
    - sourceRef: {generatorRef: {apiVersion: generators.external-secrets.io/v1alpha1, kind: Password, name: db}}
`})
	res := f.pass()
	if res.OK() || !strings.Contains(strings.Join(errStrings(res), "\n"), `"password"`) {
		t.Fatalf("pass: %v", res.Errors)
	}
	if f.secret("app") != nil {
		t.Fatal("the Secret was written")
	}
}

func errStrings(res reconciler.Result) []string {
	var out []string
	for _, e := range res.Errors {
		out = append(out, fmt.Sprint(e))
	}
	return out
}
