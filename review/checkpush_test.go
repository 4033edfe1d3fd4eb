package review_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/secretsync/secretsync/providers"
	"github.com/secretsync/secretsync/review"
)

// plan --check-remote notes on each remote secret row what AWS holds under
// the name, worded by the row's action, and makes a finding only of a
// write run would refuse (exists without the managed-by tag, policy
// Replace; scheduled for deletion, either policy); IfNotExists and deletes
// are noted, not findings; a dataTo name known only to run is not asked.
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
	write(t, base, "gone-deleting.yaml", push("gone-deleting", "", data("shop/gone-deleting")))
	write(t, head, "a.yaml", push("a", "", data("shop/new", "shop/ours", "shop/hand", "shop/denied", "shop/deleting")))
	write(t, head, "b.yaml", push("b", "  updatePolicy: IfNotExists\n", data("shop/hand-b", "shop/deleting-b")))
	write(t, head, "c.yaml", push("c", "", "  dataTo: [{storeRef: {name: aws}}]\n"))
	p := review.MakePlan("base", "head", renderAt(t, base), renderAt(t, head))
	asked := map[string]int{}
	review.CheckRemotePushes(&p, func(store, key string) (providers.Remote, error) {
		asked[key]++
		switch key {
		case "shop/ours", "shop/gone-ours":
			return providers.Remote{Exists: true, Ours: true}, nil
		case "shop/hand", "shop/hand-b", "shop/gone-hand":
			return providers.Remote{Exists: true}, nil
		case "shop/deleting", "shop/deleting-b", "shop/gone-deleting":
			return providers.Remote{Exists: true, Ours: true, Deleting: true}, nil
		case "shop/denied":
			return providers.Remote{}, errors.New("AccessDenied")
		}
		return providers.Remote{}, nil
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
		"shop/deleting":                   "exists, scheduled for deletion: run would refuse to write it until it is restored or its recovery window ends",
		"shop/deleting-b":                 "exists, scheduled for deletion: run would refuse to write it until it is restored or its recovery window ends",
		"shop/gone-deleting":              "exists, scheduled for deletion: run counts it deleted",
		"(one per key of spec.dataTo[0])": "not checked: named when run reads the source",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("remote notes (-want +got):\n%s", diff)
	}
	var findings []string
	for _, f := range p.Findings {
		findings = append(findings, f.Name+": "+f.Message)
	}
	wantFindings := []string{
		"a: remote: shop/hand in SecretStore/shop/aws exists without the managed-by tag, so run would refuse to write it",
		"a: remote: shop/deleting in SecretStore/shop/aws is scheduled for deletion, so run would refuse to write it until it is restored or its recovery window ends",
		"b: remote: shop/deleting-b in SecretStore/shop/aws is scheduled for deletion, so run would refuse to write it until it is restored or its recovery window ends",
	}
	if diff := cmp.Diff(wantFindings, findings, cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
		t.Fatalf("findings (-want +got):\n%s", diff)
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
