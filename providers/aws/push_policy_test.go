package aws_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/secretsync/secretsync/internal/awstest"
	"github.com/secretsync/secretsync/internal/leaktest"
	"github.com/secretsync/secretsync/providers"
	"github.com/secretsync/secretsync/providers/aws"
)

var policyMeta = pushMeta(`{"resourcePolicy":{"blockPublicPolicy":true,"policySourceRef":{"kind":"ConfigMap","name":"pol","key":"policy.json"}}}`)

// crossAccount is a resource policy granting one other account reads.
func crossAccount(account string) string {
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + account +
		`:root"},"Action":"secretsmanager:GetSecretValue","Resource":"*"}]}`
}

// remotePolicy is the resource policy of name, as JSON ("" for none).
func remotePolicy(t *testing.T, b awstest.Backend, name string) string {
	t.Helper()
	out, err := b.Client().GetResourcePolicy(context.Background(), &secretsmanager.GetResourcePolicyInput{SecretId: awssdk.String(name)})
	if err != nil {
		t.Fatalf("get the policy of %s: %v", name, err)
	}
	return awssdk.ToString(out.ResourcePolicy)
}

func policyWrites(c map[string]int) int {
	return c["CreateSecret"] + c["PutSecretValue"] + c["TagResource"] + c["UntagResource"] + c["PutResourcePolicy"] + c["DeleteResourcePolicy"]
}

// sameJSON reports whether a and b are the same JSON document.
func sameJSON(a, b string) bool {
	var x, y any
	if json.Unmarshal([]byte(a), &x) != nil || json.Unmarshal([]byte(b), &y) != nil {
		return false
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return string(xa) == string(ya)
}

// A push whose metadata names a resourcePolicy puts it on the secret it
// creates; later it reads the policy and compares it as JSON (the server
// keeps it in another form than it was sent), writing nothing when it is
// the same, putting it when it differs, and taking it off for empty text;
// a push whose metadata names none leaves the policy and never reads it.
func TestPushPutsTheResourcePolicyOnlyWhenItDiffers(t *testing.T) {
	awstest.Isolate(t)
	b := awstest.StartSM(t)
	p := pusher(t, b, aws.Store{})
	ctx := context.Background()
	push := func(value, policy string, meta []byte, want providers.Pushed) map[string]int {
		t.Helper()
		b.SM.ResetCalls()
		in := providers.Push{Key: "app/pol", Value: []byte(value), Metadata: meta}
		if meta != nil {
			in.ResourcePolicy = &policy
		}
		got, err := p.Push(ctx, in)
		if err != nil || got != want {
			t.Fatalf("push = %q, %v; want %q", got, err, want)
		}
		return b.SM.Calls()
	}
	one, two := crossAccount("111111111111"), crossAccount("222222222222")
	if c := push("v1", one, policyMeta, providers.Created); c["PutResourcePolicy"] != 1 || c["GetResourcePolicy"] != 0 {
		t.Fatalf("create: calls %v", c)
	}
	if got := remotePolicy(t, b, "app/pol"); !sameJSON(got, one) {
		t.Fatalf("after create the policy is not the one pushed")
	}
	// The same policy, spaced and ordered otherwise: no write.
	respaced := strings.ReplaceAll(strings.ReplaceAll(one, ",", ",\n  "), `"Version":"2012-10-17",`, "") + "\n"
	respaced = strings.Replace(respaced, "{", `{"Version": "2012-10-17", `, 1)
	if c := push("v1", respaced, policyMeta, providers.Unchanged); policyWrites(c) != 0 || c["GetResourcePolicy"] != 1 {
		t.Fatalf("an unchanged push: calls %v", c)
	}
	// WouldPush says what Push would do, and writes nothing.
	b.SM.ResetCalls()
	did, err := p.(providers.WouldPusher).WouldPush(ctx, providers.Push{Key: "app/pol", Value: []byte("v1"), Metadata: policyMeta, ResourcePolicy: &two})
	if err != nil || did != providers.Retagged || policyWrites(b.SM.Calls()) != 0 {
		t.Fatalf("WouldPush = %q, %v; calls %v", did, err, b.SM.Calls())
	}
	if c := push("v1", two, policyMeta, providers.Retagged); c["PutResourcePolicy"] != 1 || c["PutSecretValue"] != 0 {
		t.Fatalf("a changed policy: calls %v", c)
	}
	if got := remotePolicy(t, b, "app/pol"); !sameJSON(got, two) {
		t.Fatalf("after a change the policy is not the one pushed")
	}
	if c := push("v2", two, policyMeta, providers.Updated); c["PutResourcePolicy"] != 0 || c["PutSecretValue"] != 1 {
		t.Fatalf("a changed value: calls %v", c)
	}
	if c := push("v2", "", nil, providers.Unchanged); c["GetResourcePolicy"]+policyWrites(c) != 0 {
		t.Fatalf("a push naming no policy touched it: calls %v", c)
	}
	if got := remotePolicy(t, b, "app/pol"); !sameJSON(got, two) {
		t.Fatalf("a push naming no policy changed it")
	}
	if c := push("v2", "", policyMeta, providers.Retagged); c["DeleteResourcePolicy"] != 1 {
		t.Fatalf("an empty policy: calls %v", c)
	}
	if got := remotePolicy(t, b, "app/pol"); got != "" {
		t.Fatalf("an empty policy left one")
	}
	if c := push("v2", "", policyMeta, providers.Unchanged); policyWrites(c) != 0 {
		t.Fatalf("an empty policy again: calls %v", c)
	}
}

// A secret made by hand (no managed-by tag) never gets a policy: the push
// is refused before its policy is read.
func TestPushNeverSetsAPolicyOnASecretNotOurs(t *testing.T) {
	awstest.Isolate(t)
	b := awstest.StartSM(t)
	ctx := context.Background()
	if _, err := b.Client().CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: awssdk.String("hand/pol"), SecretString: awssdk.String("by-hand")}); err != nil {
		t.Fatal(err)
	}
	p := pusher(t, b, aws.Store{})
	b.SM.ResetCalls()
	policy := crossAccount("111111111111")
	_, err := p.Push(ctx, providers.Push{Key: "hand/pol", Value: []byte("pushed"), Metadata: policyMeta, ResourcePolicy: &policy})
	if providers.ClassOf(err) != providers.NotManaged {
		t.Fatalf("push = %v, want NotManaged", err)
	}
	if c := b.SM.Calls(); c["GetResourcePolicy"]+policyWrites(c) != 0 {
		t.Fatalf("calls %v", c)
	}
	if got := remotePolicy(t, b, "hand/pol"); got != "" {
		t.Fatal("a secret not ours got a policy")
	}
}

// Every policy is put with BlockPublicPolicy: one granting anyone is
// refused by AWS (Invalid), on create and on update, and the error quotes
// no policy text. A text AWS would not take is refused before any call.
func TestPushRefusesAPublicPolicy(t *testing.T) {
	awstest.Isolate(t)
	b := awstest.StartSM(t)
	p := pusher(t, b, aws.Store{})
	ctx := context.Background()
	marker := leaktest.Canary()
	var canaries leaktest.Canaries
	canaries.Add(marker)
	public := `{"Version":"2012-10-17","Statement":[{"Sid":"` + marker + `","Effect":"Allow","Principal":{"AWS":"*"},"Action":"secretsmanager:GetSecretValue","Resource":"*"}]}`
	for _, key := range []string{"app/public-new", "app/public-old"} {
		if key == "app/public-old" {
			if _, err := p.Push(ctx, providers.Push{Key: key, Value: []byte("v")}); err != nil {
				t.Fatal(err)
			}
		}
		_, err := p.Push(ctx, providers.Push{Key: key, Value: []byte("v"), Metadata: policyMeta, ResourcePolicy: &public})
		if providers.ClassOf(err) != providers.Invalid || !strings.Contains(err.Error(), "PublicPolicyException") {
			t.Fatalf("push of a public policy to %s = %v, want Invalid", key, err)
		}
		canaries.Check(t, "the error", err.Error())
		if got := remotePolicy(t, b, key); got != "" {
			t.Fatalf("%s got a public policy", key)
		}
	}
	for name, text := range map[string]string{"not an object": `["` + marker + `"]`, "too long": `{"Sid":"` + strings.Repeat(marker, 700) + `"}`} {
		b.SM.ResetCalls()
		_, err := p.Push(ctx, providers.Push{Key: "app/public-old", Value: []byte("v"), Metadata: policyMeta, ResourcePolicy: &text})
		if providers.ClassOf(err) != providers.Invalid || b.SM.TotalCalls() != 0 {
			t.Fatalf("%s: push = %v, calls %v; want Invalid before any call", name, err, b.SM.Calls())
		}
		canaries.Check(t, "the error", err.Error())
	}
}
