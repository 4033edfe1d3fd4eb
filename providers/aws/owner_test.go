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
	key  string
	want providers.Remote
}

func checkOwner(t *testing.T, p any, cases []ownerCase) {
	t.Helper()
	o, ok := p.(providers.Owner)
	if !ok {
		t.Fatal("the provider is no Owner")
	}
	for _, c := range cases {
		got, err := o.Owner(context.Background(), c.key)
		if err != nil || got != c.want {
			t.Errorf("Owner(%s) = %+v, %v; want %+v", c.key, got, err, c.want)
		}
	}
}

// TestSecretsManagerOwnerSaysExistsOursAndDeletingReadingNoValue: a pushed
// secret is ours, one made by hand is not, a missing one is absent, one
// scheduled for deletion says so, and only DescribeSecret is called (no
// GetSecretValue).
func TestSecretsManagerOwnerSaysExistsOursAndDeletingReadingNoValue(t *testing.T) {
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
	if _, err := p.Push(ctx, providers.Push{Key: "owner/deleting", Value: []byte("pushed-value")}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.DeleteRemote(ctx, "owner/deleting"); err != nil {
		t.Fatal(err)
	}
	b.SM.ResetCalls()
	checkOwner(t, p, []ownerCase{{"owner/pushed", providers.Remote{Exists: true, Ours: true}}, {"owner/hand", providers.Remote{Exists: true}},
		{"owner/absent", providers.Remote{}}, {"owner/deleting", providers.Remote{Exists: true, Ours: true, Deleting: true}}})
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
	checkOwner(t, p, []ownerCase{{"/owner/pushed", providers.Remote{Exists: true, Ours: true}}, {"/owner/hand", providers.Remote{Exists: true}},
		{"/owner/other", providers.Remote{Exists: true}}, {"/owner/absent", providers.Remote{}}, {"/owner/pushe", providers.Remote{}}})
	for _, r := range s.Requests() {
		if r.Operation != "DescribeParameters" && r.Operation != "ListTagsForResource" {
			t.Errorf("Owner called %s; only DescribeParameters and ListTagsForResource read no value", r.Operation)
		}
	}
}
