package reconciler_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/secretsync/secretsync/reconciler"
)

// TestPrivilegedSecretsAreNeverWritten is issue 23's reproduction: a
// template of type kubernetes.io/service-account-token naming a service
// account (or a bootstrap token) is refused by name and never created; a
// Merge into an existing service-account token Secret, and a Merge into
// secretsync's own namespace, leave the Secret untouched. The
// ExternalSecret beside them is still applied.
func TestPrivilegedSecretsAreNeverWritten(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.seed("k/a", "privileged-value-seeded")
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "builder", Namespace: f.ns}}
	if _, err := env.Client.CoreV1().ServiceAccounts(f.ns).Create(ctx, sa, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	token := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "builder-token", Namespace: f.ns,
		Annotations: map[string]string{"kubernetes.io/service-account.name": "builder"}},
		Type: corev1.SecretTypeServiceAccountToken, Data: map[string][]byte{"note": []byte("as the token controller left it")}}
	if _, err := env.Client.CoreV1().Secrets(f.ns).Create(ctx, token, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	tpl := func(name, template string) string {
		return strings.Replace(f.es(name, "v=k/a"), "  data:\n", "  target: {template: "+template+"}\n  data:\n", 1)
	}
	f.commit(map[string]string{
		"store.yaml":     f.store(),
		"fine.yaml":      f.es("fine", "v=k/a"),
		"minted.yaml":    tpl("minted", "{type: kubernetes.io/service-account-token, metadata: {annotations: {kubernetes.io/service-account.name: builder}}}"),
		"bootstrap.yaml": tpl("bootstrap", "{type: bootstrap.kubernetes.io/token}"),
		"merged.yaml":    withTarget(f.es("merged", "v=k/a"), "{name: builder-token, creationPolicy: Merge}"),
	})
	res := f.pass()
	all := fmt.Sprint(res.Errors)
	for _, want := range []string{
		"ExternalSecret " + f.ns + "/minted: spec.target.template.type: type kubernetes.io/service-account-token with annotation kubernetes.io/service-account.name is refused",
		"ExternalSecret " + f.ns + "/bootstrap: spec.target.template.type: type bootstrap.kubernetes.io/token is refused",
		"the Secret is a service-account token",
	} {
		if !strings.Contains(all, want) {
			t.Fatalf("no error %q in %v", want, res.Errors)
		}
	}
	if f.secret("minted") != nil || f.secret("bootstrap") != nil {
		t.Fatal("a privileged Secret was created")
	}
	got := f.secret("builder-token")
	if string(got.Data["note"]) != "as the token controller left it" || len(got.Data) != 1 {
		t.Fatalf("the token Secret was written: keys %d", len(got.Data))
	}
	for _, m := range got.ManagedFields {
		if strings.HasPrefix(m.Manager, reconciler.FieldManager) {
			t.Fatalf("the token Secret has a field manager of ours: %s", m.Manager)
		}
	}
	sameData(t, "secret fine", data(f.secret("fine")), map[string]string{"v": "privileged-value-seeded"})

	t.Run("a merge into secretsync's own namespace is refused and not even read", func(t *testing.T) {
		f.createForeign("secretsync-git", map[string]string{"password": "git-token-seeded"})
		f.remember("git-token-seeded")
		f.rec = f.newReconciler(func(c *reconciler.Config) { c.OwnNamespaces = []string{f.ns} })
		f.commit(map[string]string{"merged.yaml": withTarget(f.es("merged", "v=k/a"), "{name: secretsync-git, creationPolicy: Merge}"),
			"minted.yaml": "", "bootstrap.yaml": ""})
		f.counter.Reset()
		res := f.pass()
		if all := fmt.Sprint(res.Errors); !strings.Contains(all, "externalsecret "+f.ns+"/merged") || !strings.Contains(all, "creationPolicy Merge is refused in namespace "+f.ns+": it is secretsync's own") {
			t.Fatalf("errors = %v", res.Errors)
		}
		if n := f.counter.Path("get", "/api/v1/namespaces/"+f.ns+"/secrets/secretsync-git"); n != 0 {
			t.Fatalf("%d GETs of secretsync's own Secret", n)
		}
		if d := data(f.secret("secretsync-git")); len(d) != 1 || d["password"] != "git-token-seeded" {
			t.Fatalf("secretsync's own Secret changed: %d keys", len(d))
		}
		sameData(t, "secret fine", data(f.secret("fine")), map[string]string{"v": "privileged-value-seeded"})
	})
}
