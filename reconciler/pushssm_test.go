package reconciler_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/secretsync/secretsync/providers"
)

// parameter is a parameter's decrypted value and its tags; ok false when it
// does not exist.
func (f *fixture) parameter(name string) (value string, tags map[string]string, ok bool) {
	f.t.Helper()
	ctx := context.Background()
	out, err := f.ssm.Client().GetParameters(ctx, &ssm.GetParametersInput{Names: []string{name}, WithDecryption: awssdk.Bool(true)})
	if err != nil {
		f.t.Fatal(err)
	}
	if len(out.Parameters) == 0 {
		return "", nil, false
	}
	tl, err := f.ssm.Client().ListTagsForResource(ctx, &ssm.ListTagsForResourceInput{ResourceId: awssdk.String(name), ResourceType: ssmtypes.ResourceTypeForTaggingParameter})
	if err != nil {
		f.t.Fatal(err)
	}
	tags = map[string]string{}
	for _, t := range tl.TagList {
		tags[awssdk.ToString(t.Key)] = awssdk.ToString(t.Value)
	}
	return awssdk.ToString(out.Parameters[0].Value), tags, true
}

// ssmWrites counts the Parameter Store write calls since the mark.
func (f *fixture) ssmWrites(from int) map[string]int {
	out := map[string]int{}
	for _, r := range f.ssm.Requests()[from:] {
		switch r.Operation {
		case "PutParameter", "DeleteParameter", "AddTagsToResource", "RemoveTagsFromResource":
			out[r.Operation]++
		}
	}
	return out
}

// A PushSecret to a Parameter Store store, end to end through the
// reconciler and the real SDK against kumo: it creates the parameter with
// the managed-by tag and the metadata's type, writes nothing when nothing
// changed (after a restart too), puts a changed source, never overwrites a
// parameter made by hand, and deletionPolicy Delete removes only its own.
func TestPushSecretToParameterStore(t *testing.T) {
	f := newFixture(t)
	prefix := "/push-" + f.ns + "/"
	store := fmt.Sprintf("apiVersion: external-secrets.io/v1\nkind: SecretStore\nmetadata: {name: aws, namespace: %s}\nspec: {provider: {aws: {service: ParameterStore, region: us-east-1, prefix: %q}}}\n", f.ns, prefix)
	f.ssm.Put(t, prefix+"by-hand", "String", "made-by-hand-value", nil)
	f.remember("made-by-hand-value")
	f.source(f.ns, "src", map[string]string{"k": "ps-push-value-1"})
	meta := "      metadata: {apiVersion: kubernetes.external-secrets.io/v1alpha1, kind: PushSecretMetadata, spec: {secretType: SecureString}}\n"
	pushYAML := func(extra string, items ...string) string {
		p := f.push("p", "src", extra, items...)
		return strings.Replace(p, "property: \"\"}}\n", "property: \"\"}}\n"+meta, 1)
	}
	f.commit(map[string]string{"store.yaml": store, "push.yaml": pushYAML("  deletionPolicy: Delete\n", "k=app/k", "k=by-hand")})
	res := f.pass()
	if res.Pushed != 1 || !strings.Contains(fmt.Sprint(res.Errors), "by-hand") {
		t.Fatalf("first pass: pushed %d, errors %v; want app/k pushed and by-hand refused by name", res.Pushed, res.Errors)
	}
	if v, tags, ok := f.parameter(prefix + "app/k"); !ok || v != "ps-push-value-1" || tags[providers.ManagedByTag] != providers.ManagedByValue {
		t.Fatalf("%sapp/k: exists %v, value as pushed %v, tags %v", prefix, ok, v == "ps-push-value-1", tags)
	}
	var created bool
	for _, r := range f.ssm.Requests() {
		if r.Operation == "PutParameter" && strings.Contains(r.Body, prefix+"app/k") {
			created = strings.Contains(r.Body, `"Type":"SecureString"`)
		}
	}
	if !created {
		t.Fatal("PutParameter for app/k did not carry the metadata's type SecureString")
	}
	if v, _, _ := f.parameter(prefix + "by-hand"); v != "made-by-hand-value" {
		t.Fatal("a parameter made by hand was overwritten")
	}

	// Nothing changed, after a restart (nothing in memory): no write.
	f.commit(map[string]string{"push.yaml": pushYAML("  deletionPolicy: Delete\n", "k=app/k")})
	f.rec = f.newReconciler()
	mark := len(f.ssm.Requests())
	if res := f.pass(); !res.OK() || res.Pushed != 0 || len(f.ssmWrites(mark)) != 0 {
		t.Fatalf("pass after a restart: ok %v, pushed %d, writes %v, errors %v", res.OK(), res.Pushed, f.ssmWrites(mark), res.Errors)
	}

	// A changed source is put once.
	f.source(f.ns, "src", map[string]string{"k": "ps-push-value-2"})
	mark = len(f.ssm.Requests())
	if res := f.passWith(false); !res.OK() || res.Pushed != 1 {
		t.Fatalf("pass after the source changed: ok %v, pushed %d, errors %v", res.OK(), res.Pushed, res.Errors)
	}
	if w := f.ssmWrites(mark); w["PutParameter"] != 1 || len(w) != 1 {
		t.Fatalf("writes %v, want one PutParameter", w)
	}
	if v, _, _ := f.parameter(prefix + "app/k"); v != "ps-push-value-2" {
		t.Fatal("the changed source did not reach the parameter")
	}

	// The PushSecret leaves Git: its parameter is deleted, the hand-made one stays.
	f.commit(map[string]string{"push.yaml": f.push("keep", "src", "", "k=kept")})
	if res := f.pass(); !res.OK() || res.PushDeleted != 1 {
		t.Fatalf("pass after p left Git: ok %v, deleted %d, errors %v", res.OK(), res.PushDeleted, res.Errors)
	}
	if _, _, ok := f.parameter(prefix + "app/k"); ok {
		t.Fatal("app/k is still there after its PushSecret left Git under deletionPolicy Delete")
	}
	if v, _, ok := f.parameter(prefix + "by-hand"); !ok || v != "made-by-hand-value" {
		t.Fatal("the hand-made parameter was touched")
	}
}
