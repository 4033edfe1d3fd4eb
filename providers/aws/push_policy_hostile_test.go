package aws_test

import (
	"context"
	"strings"
	"testing"

	"github.com/secretsync/secretsync/internal/awstest"
	"github.com/secretsync/secretsync/internal/leaktest"
	"github.com/secretsync/secretsync/providers"
	"github.com/secretsync/secretsync/providers/aws"
)

// Hostile review (15.R): IfNotExists leaves a secret that exists as it is,
// its resource policy too: no GetResourcePolicy, no write, whatever policy
// the metadata names; a secret it creates gets the policy.
func TestIfNotExistsNeverTouchesThePolicyOfASecretThatExists(t *testing.T) {
	awstest.Isolate(t)
	b := awstest.StartSM(t)
	p := pusher(t, b, aws.Store{})
	ctx := context.Background()
	one, two := crossAccount("111111111111"), crossAccount("222222222222")
	if _, err := p.Push(ctx, providers.Push{Key: "app/ine", Value: []byte("v"), Metadata: policyMeta, ResourcePolicy: &one, IfNotExists: true}); err != nil {
		t.Fatal(err)
	}
	if !sameJSON(remotePolicy(t, b, "app/ine"), one) {
		t.Fatal("IfNotExists created the secret without its policy")
	}
	for _, text := range []string{two, ""} {
		b.SM.ResetCalls()
		did, err := p.Push(ctx, providers.Push{Key: "app/ine", Value: []byte("v2"), Metadata: policyMeta, ResourcePolicy: &text, IfNotExists: true})
		if err != nil || did != providers.Exists {
			t.Fatalf("push = %q, %v; want exists", did, err)
		}
		if c := b.SM.Calls(); c["GetResourcePolicy"]+policyWrites(c) != 0 {
			t.Fatalf("IfNotExists on a secret that exists: calls %v", c)
		}
	}
	if !sameJSON(remotePolicy(t, b, "app/ine"), one) {
		t.Fatal("IfNotExists changed the policy of a secret that exists")
	}
}

// Hostile review (15.R): every form of "anyone" this review tried is put
// with BlockPublicPolicy, on create and on a secret of ours, so AWS (here
// its stand-in) refuses it and the error quotes no policy text. Whether a
// policy is public is AWS's judgement (secretsync does not parse
// principals); the stand-in knows only these forms.
func TestEveryPublicPrincipalFormIsPutWithBlockPublicPolicy(t *testing.T) {
	awstest.Isolate(t)
	b := awstest.StartSM(t)
	p := pusher(t, b, aws.Store{})
	ctx := context.Background()
	marker := leaktest.Canary()
	var canaries leaktest.Canaries
	canaries.Add(marker)
	if _, err := p.Push(ctx, providers.Push{Key: "app/anyone-old", Value: []byte("v")}); err != nil {
		t.Fatal(err)
	}
	for _, principal := range []string{`"*"`, `{"AWS":"*"}`, `{"AWS":["arn:aws:iam::111111111111:root","*"]}`} {
		text := `{"Version":"2012-10-17","Statement":{"Sid":"` + marker + `","Effect":"Allow","Principal":` + principal +
			`,"Action":"secretsmanager:GetSecretValue","Resource":"*"}}`
		for _, key := range []string{"app/anyone-new", "app/anyone-old"} {
			_, err := p.Push(ctx, providers.Push{Key: key, Value: []byte("v"), Metadata: policyMeta, ResourcePolicy: &text})
			if providers.ClassOf(err) != providers.Invalid || !strings.Contains(err.Error(), "PublicPolicyException") {
				t.Fatalf("principal %s on %s: push = %v, want refused by AWS", principal, key, err)
			}
			canaries.Check(t, "the error", err.Error())
			if remotePolicy(t, b, key) != "" {
				t.Fatalf("principal %s on %s: a public policy was put", principal, key)
			}
		}
	}
}

// Hostile review (15.R): Secrets Manager resourcePolicy metadata on a
// Parameter Store push is refused by name, before any call.
func TestParameterStoreRefusesResourcePolicyByName(t *testing.T) {
	awstest.Isolate(t)
	s := awstest.StartSSM(t)
	ps := ssmPusher(t, s)
	policy := crossAccount("111111111111")
	s.Requests()
	_, err := ps.Push(context.Background(), providers.Push{Key: "/pol/k", Value: []byte("v"), ResourcePolicy: &policy,
		Metadata: pushMeta(`{"resourcePolicy":{"policySourceRef":{"kind":"ConfigMap","name":"pol","key":"policy.json"}}}`)})
	if providers.ClassOf(err) != providers.Invalid || !strings.Contains(err.Error(), "metadata.spec.resourcePolicy: is not a key") {
		t.Fatalf("push = %v, want Invalid naming spec.resourcePolicy", err)
	}
	if n := len(s.Requests()); n != 0 {
		t.Fatalf("a refused push made %d calls", n)
	}
}

// Hostile review (15.R): text of blanks only is no policy, as CheckPolicy
// says: on create it puts none, and on a secret with a policy it removes
// it (DeleteResourcePolicy), never sending the blanks to AWS as a policy.
func TestABlankPolicyIsNoPolicy(t *testing.T) {
	awstest.Isolate(t)
	b := awstest.StartSM(t)
	p := pusher(t, b, aws.Store{})
	ctx := context.Background()
	blank, one := " \n\t", crossAccount("111111111111")
	b.SM.ResetCalls()
	if did, err := p.Push(ctx, providers.Push{Key: "app/blank", Value: []byte("v"), Metadata: policyMeta, ResourcePolicy: &blank}); err != nil || did != providers.Created {
		t.Fatalf("create with a blank policy = %q, %v", did, err)
	}
	if c := b.SM.Calls(); c["PutResourcePolicy"] != 0 {
		t.Fatalf("create with a blank policy: calls %v", c)
	}
	if _, err := p.Push(ctx, providers.Push{Key: "app/blank", Value: []byte("v"), Metadata: policyMeta, ResourcePolicy: &one}); err != nil {
		t.Fatal(err)
	}
	b.SM.ResetCalls()
	if did, err := p.Push(ctx, providers.Push{Key: "app/blank", Value: []byte("v"), Metadata: policyMeta, ResourcePolicy: &blank}); err != nil || did != providers.Retagged {
		t.Fatalf("a blank policy over one = %q, %v", did, err)
	}
	if c := b.SM.Calls(); c["DeleteResourcePolicy"] != 1 || c["PutResourcePolicy"] != 0 || remotePolicy(t, b, "app/blank") != "" {
		t.Fatalf("a blank policy over one: calls %v", c)
	}
}
