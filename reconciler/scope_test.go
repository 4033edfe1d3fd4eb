package reconciler_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/secretsync/secretsync/reconciler"
)

// TestClusterSecretStoreConditions runs on the real API server so that the
// namespaceSelector reads real namespace labels.
func TestClusterSecretStoreConditions(t *testing.T) {
	f := newFixture(t)
	f.seed("k/v", "scoped-value-seeded")
	ctx := context.Background()
	ns, err := env.Client.CoreV1().Namespaces().Get(ctx, f.ns, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ns.Labels = map[string]string{"secrets": "allowed"}
	if _, err := env.Client.CoreV1().Namespaces().Update(ctx, ns, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	css := func(name, conditions string) string {
		return fmt.Sprintf("apiVersion: external-secrets.io/v1\nkind: ClusterSecretStore\nmetadata: {name: %s}\nspec:\n  provider: {aws: {service: SecretsManager, region: us-east-1}}\n%s", name, conditions)
	}
	es := func(store string) string {
		return strings.Replace(f.es(store, "v=k/v"), "{name: aws}", "{name: "+store+", kind: ClusterSecretStore}", 1)
	}
	stores := map[string]struct {
		conditions string
		allowed    bool
	}{
		"open":         {"", true},
		"by-name":      {"  conditions: [{namespaces: [" + f.ns + "]}]\n", true},
		"by-regex":     {"  conditions: [{namespaceRegexes: ['^t-[0-9a-f]+$']}]\n", true},
		"by-label":     {"  conditions: [{namespaceSelector: {matchLabels: {secrets: allowed}}}]\n", true},
		"other-name":   {"  conditions: [{namespaces: [elsewhere]}]\n", false},
		"other-label":  {"  conditions: [{namespaceSelector: {matchLabels: {secrets: denied}}}]\n", false},
		"any-of-two":   {"  conditions: [{namespaces: [elsewhere]}, {namespaceRegexes: ['^t-']}]\n", true},
		"other-regexp": {"  conditions: [{namespaceRegexes: ['^prod-']}]\n", false},
	}
	files := map[string]string{}
	for name, s := range stores {
		files["stores/"+name+".yaml"] = css(name, s.conditions)
		files["es/"+name+".yaml"] = es(name)
	}
	f.commit(files)
	res := f.pass()
	if res.Reason != reconciler.ResolveFailed {
		t.Fatalf("reason %s, errors %v", res.Reason, res.Errors)
	}
	errs := map[string]string{}
	for _, e := range res.Errors {
		for name := range stores {
			if strings.Contains(e.Error(), "/"+name+" (") {
				errs[name] = e.Error()
			}
		}
	}
	for name, s := range stores {
		t.Run(name, func(t *testing.T) {
			got := f.secret(name) != nil
			if got != s.allowed {
				t.Fatalf("secret created = %v, want %v (error: %s)", got, s.allowed, errs[name])
			}
			if !s.allowed && !strings.Contains(errs[name], "ClusterSecretStore/"+name+" does not serve namespace "+f.ns) {
				t.Fatalf("the error does not name the store and namespace: %q", errs[name])
			}
		})
	}
}
