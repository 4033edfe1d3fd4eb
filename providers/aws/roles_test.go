package aws_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/secretsync/secretsync/internal/awstest"
	"github.com/secretsync/secretsync/internal/stsserver"
	"github.com/secretsync/secretsync/providers"
	awsprov "github.com/secretsync/secretsync/providers/aws"
)

func TestARoleChainIsAssumedInOrder(t *testing.T) {
	awstest.Isolate(t)
	b := awstest.StartSM(t)
	b.Create(t, "k", "v")
	sts, stsURL := awstest.StartSTS(t)
	const first, final = "arn:aws:iam::111122223333:role/hop", "arn:aws:iam::444455556666:role/reader"
	b.SM.RequireAccessKeys(stsserver.AccessKeyFor(final))

	f := awsprov.NewFactory(awsprov.Options{Endpoint: b.URL, STSEndpoint: stsURL, DefaultRegion: awstest.Region})
	p, err := f.Provider(context.Background(), awsprov.Store{
		AdditionalRoles: []string{first}, Role: final, ExternalID: "ext-1",
		SessionTags: map[string]string{"team": "payments"}, TransitiveTagKeys: []string{"team"},
	})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if got := resolveOne(t, p, providers.Ref{Key: "k"}); got.Err != nil {
			t.Fatalf("resolve with the final role's credentials: %v", got.Err)
		}
	}
	want := []stsserver.Call{
		{Action: "AssumeRole", RoleArn: first, CallerKey: "AKIDDEFAULTCHAIN", SessionTags: map[string]string{}},
		{Action: "AssumeRole", RoleArn: final, ExternalID: "ext-1", CallerKey: stsserver.AccessKeyFor(first),
			SessionTags: map[string]string{"team": "payments"}, TransitiveTagKeys: []string{"team"}},
	}
	if diff := cmp.Diff(want, sts.Calls()); diff != "" {
		t.Fatalf("STS calls (-want +got); credentials must be cached across resolves:\n%s", diff)
	}
}

func TestADeniedRoleIsAccessDenied(t *testing.T) {
	awstest.Isolate(t)
	b := awstest.StartSM(t)
	b.Create(t, "k", "v")
	sts, stsURL := awstest.StartSTS(t)
	sts.AcceptToken = func(string) bool { return false }
	f := awsprov.NewFactory(awsprov.Options{Endpoint: b.URL, STSEndpoint: stsURL, DefaultRegion: awstest.Region})
	p, _ := f.Provider(context.Background(), awsprov.Store{WebIdentity: &awsprov.WebIdentity{
		RoleARN: "arn:aws:iam::1:role/r", Subject: "sa", Token: func() ([]byte, error) { return []byte("bad"), nil }}})
	got := resolveOne(t, p, providers.Ref{Key: "k"})
	if providers.ClassOf(got.Err) != providers.AccessDenied {
		t.Fatalf("err = %v (class %s)", got.Err, providers.ClassOf(got.Err))
	}
}
