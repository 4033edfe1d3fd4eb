package aws_test

import (
	"context"
	"testing"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/secretsync/secretsync/internal/awstest"
	"github.com/secretsync/secretsync/providers"
	"github.com/secretsync/secretsync/providers/aws"
)

type ownerCase struct {
	key          string
	exists, ours bool
}

func checkOwner(t *testing.T, p any, cases []ownerCase) {
	t.Helper()
	o, ok := p.(providers.Owner)
	if !ok {
		t.Fatal("the provider is no Owner")
	}
	for _, c := range cases {
		exists, ours, err := o.Owner(context.Background(), c.key)
		if err != nil || exists != c.exists || ours != c.ours {
			t.Errorf("Owner(%s) = exists %v, ours %v, %v; want exists %v, ours %v", c.key, exists, ours, err, c.exists, c.ours)
		}
	}
}

// TestSecretsManagerOwnerSaysExistsAndOursReadingNoValue: a pushed secret
// is ours, one made by hand is not, a missing one is absent, and only
// DescribeSecret is called (no GetSecretValue).
func TestSecretsManagerOwnerSaysExistsAndOursReadingNoValue(t *testing.T) {
	awstest.Isolate(t)
	b := awstest.StartSM(t)
	p := pusher(t, b, aws.Store{})
	ctx := context.Background()
	if _, err := p.Push(ctx, providers.Push{Key: "owner/pushed", Value: []byte("pushed-value")}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Client().CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: awssdk.String("owner/hand"), SecretString: awssdk.String("hand-value")}); err != nil {
		t.Fatal(err)
	}
	b.SM.ResetCalls()
	checkOwner(t, p, []ownerCase{{"owner/pushed", true, true}, {"owner/hand", true, false}, {"owner/absent", false, false}})
	for op, n := range b.SM.Calls() {
		if op != "DescribeSecret" && n > 0 {
			t.Errorf("Owner called %s %d times; only DescribeSecret reads no value", op, n)
		}
	}
}

// TestParameterStoreOwnerSaysExistsAndOursReadingNoValue: the same against
// kumo, with DescribeParameters and ListTagsForResource only (no
// GetParameters, which returns values).
func TestParameterStoreOwnerSaysExistsAndOursReadingNoValue(t *testing.T) {
	awstest.Isolate(t)
	s := awstest.StartSSM(t)
	p := ssmPusher(t, s)
	if _, err := p.Push(context.Background(), providers.Push{Key: "/owner/pushed", Value: []byte("pushed-value")}); err != nil {
		t.Fatal(err)
	}
	s.Put(t, "/owner/hand", "String", "hand-value", nil)
	s.Put(t, "/owner/other", "String", "other-value", map[string]string{providers.ManagedByTag: "someone-else"})
	s.Requests()
	checkOwner(t, p, []ownerCase{{"/owner/pushed", true, true}, {"/owner/hand", true, false}, {"/owner/other", true, false},
		{"/owner/absent", false, false}, {"/owner/pushe", false, false}})
	for _, r := range s.Requests() {
		if r.Operation != "DescribeParameters" && r.Operation != "ListTagsForResource" {
			t.Errorf("Owner called %s; only DescribeParameters and ListTagsForResource read no value", r.Operation)
		}
	}
}
