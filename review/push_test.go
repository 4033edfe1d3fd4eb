package review_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/secretsync/secretsync/review"
)

// plan lists the remote secrets a change makes PushSecrets start, change
// or stop writing, by name: a push, a change of source, a delete under
// deletionPolicy Delete, a leave under None, and no delete of a remote
// secret another PushSecret of the head still writes.
func TestPlanListsRemoteSecretsPushSecretsWrite(t *testing.T) {
	base, head := t.TempDir(), t.TempDir()
	push := func(name, policy, src string, items ...string) string {
		var b strings.Builder
		fmt.Fprintf(&b, "apiVersion: external-secrets.io/v1alpha1\nkind: PushSecret\nmetadata: {name: %s, namespace: shop}\nspec:\n  deletionPolicy: %s\n  secretStoreRefs: [{name: aws}]\n  selector: {secret: {name: %s}}\n  data:\n", name, policy, src)
		for _, it := range items {
			key, remote, _ := strings.Cut(it, "=")
			fmt.Fprintf(&b, "  - match: {secretKey: %q, remoteRef: {remoteKey: %s}}\n", key, remote)
		}
		return b.String()
	}
	store := "apiVersion: external-secrets.io/v1\nkind: SecretStore\nmetadata: {name: aws, namespace: shop}\nspec: {provider: {aws: {service: SecretsManager, region: us-east-1}}}\n"
	for _, d := range []string{base, head} {
		write(t, d, "store.yaml", store)
	}
	write(t, base, "a.yaml", push("a", "Delete", "src", "k=shop/gone", "k=shop/moved", "k=shop/same", "k=shop/resourced"))
	write(t, base, "b.yaml", push("b", "None", "src", "k=shop/left"))
	write(t, head, "a.yaml", push("a", "Delete", "src", "k=shop/same", "other=shop/resourced", "k=shop/new"))
	write(t, head, "c.yaml", push("c", "None", "src", "k=shop/moved"))
	p := review.MakePlan("base", "head", renderAt(t, base), renderAt(t, head))
	got := map[string]string{}
	for _, r := range p.Remote {
		got[r.RemoteKey+" "+r.PushSecret] = r.Action
	}
	want := map[string]string{
		"shop/gone shop/a":      "delete",
		"shop/moved shop/a":     "leave", // c writes it now
		"shop/moved shop/c":     "push",
		"shop/resourced shop/a": "change",
		"shop/new shop/a":       "push",
		"shop/left shop/b":      "leave",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("remote plan (-want +got):\n%s", diff)
	}
	var table, md bytes.Buffer
	if err := review.WriteTable(&table, p, false); err != nil {
		t.Fatal(err)
	}
	if err := review.WriteMarkdown(&md, p); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(table.String(), "AWS (PushSecret): 6 remote secrets") || !strings.Contains(table.String(), "delete shop/gone in SecretStore/shop/aws") ||
		!strings.Contains(md.String(), "| `shop/gone` | `SecretStore/shop/aws` | delete | `shop/a` in `a.yaml` |") {
		t.Fatalf("outputs:\n%s\n%s", table.String(), md.String())
	}
}
