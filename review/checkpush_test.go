package review_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/secretsync/secretsync/review"
)

// plan --check-remote notes on each remote secret row what AWS holds under
// the name, worded by the row's action, and makes a finding only of a
// write run would refuse (exists without the managed-by tag, policy
// Replace); IfNotExists and deletes are noted, not findings; a dataTo name
// known only to run is not asked.
func TestCheckRemotePushesNotesOwnershipAndFindsRefusedWrites(t *testing.T) {
	base, head := t.TempDir(), t.TempDir()
	store := "apiVersion: external-secrets.io/v1\nkind: SecretStore\nmetadata: {name: aws, namespace: shop}\nspec: {provider: {aws: {service: SecretsManager, region: us-east-1}}}\n"
	push := func(name, extra, data string) string {
		return "apiVersion: external-secrets.io/v1alpha1\nkind: PushSecret\nmetadata: {name: " + name + ", namespace: shop}\nspec:\n  deletionPolicy: Delete\n" + extra +
			"  secretStoreRefs: [{name: aws}]\n  selector: {secret: {name: src}}\n" + data
	}
	data := func(remotes ...string) string {
		s := "  data:\n"
		for _, r := range remotes {
			s += "  - match: {secretKey: k, remoteRef: {remoteKey: " + r + "}}\n"
		}
		return s
	}
	for _, d := range []string{base, head} {
		write(t, d, "store.yaml", store)
	}
	write(t, base, "gone.yaml", push("gone", "", data("shop/gone-ours", "shop/gone-hand")))
	write(t, head, "a.yaml", push("a", "", data("shop/new", "shop/ours", "shop/hand", "shop/denied")))
	write(t, head, "b.yaml", push("b", "  updatePolicy: IfNotExists\n", data("shop/hand-b")))
	write(t, head, "c.yaml", push("c", "", "  dataTo: [{storeRef: {name: aws}}]\n"))
	p := review.MakePlan("base", "head", renderAt(t, base), renderAt(t, head))
	asked := map[string]int{}
	review.CheckRemotePushes(&p, func(store, key string) (bool, bool, error) {
		asked[key]++
		switch key {
		case "shop/ours", "shop/gone-ours":
			return true, true, nil
		case "shop/hand", "shop/hand-b", "shop/gone-hand":
			return true, false, nil
		case "shop/denied":
			return false, false, errors.New("AccessDenied")
		}
		return false, false, nil
	})
	got := map[string]string{}
	for _, r := range p.Remote {
		got[r.RemoteKey] = r.Remote
	}
	want := map[string]string{
		"shop/new":                        "absent: run creates it",
		"shop/ours":                       "exists, ours",
		"shop/hand":                       "exists, NOT ours: run would refuse to write it",
		"shop/denied":                     "not checked: AccessDenied",
		"shop/hand-b":                     "exists, NOT ours: run leaves it (updatePolicy IfNotExists)",
		"shop/gone-ours":                  "exists, ours",
		"shop/gone-hand":                  "exists, NOT ours: run would refuse to delete it",
		"(one per key of spec.dataTo[0])": "not checked: named when run reads the source",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("remote notes (-want +got):\n%s", diff)
	}
	if len(p.Findings) != 1 || p.Findings[0].Name != "a" || !strings.Contains(p.Findings[0].Message, "shop/hand in SecretStore/shop/aws") {
		t.Fatalf("findings: %+v", p.Findings)
	}
	if asked["(one per key of spec.dataTo[0])"] != 0 {
		t.Fatal("a name run learns from the source was asked")
	}
	var table bytes.Buffer
	if err := review.WriteTable(&table, p, false); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(table.String(), "AWS: exists, NOT ours: run would refuse to write it") {
		t.Fatalf("table:\n%s", table.String())
	}
}
