package aws_test

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/secretsync/secretsync/internal/awstest"
	"github.com/secretsync/secretsync/internal/stsserver"
	"github.com/secretsync/secretsync/providers"
	awsprov "github.com/secretsync/secretsync/providers/aws"
	"github.com/secretsync/secretsync/render"
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

// servedCluster is a Cluster bound to a store serving namespace ns, under
// render's one scope rule; this test reads nothing from it but the
// namespace.
type servedCluster struct{ asker render.Asker }

func (c servedCluster) Namespace(named string) (string, error) { return c.asker.Scope(named) }
func (servedCluster) SecretValue(context.Context, string, string, string) (providers.Value, error) {
	return providers.Value{}, errors.New("no secrets here")
}
func (servedCluster) ServiceAccountAnnotation(context.Context, string, string, string) (string, error) {
	return "", errors.New("no service accounts here")
}
func (servedCluster) ServiceAccountToken(string, string, []string) func() ([]byte, error) {
	return func() ([]byte, error) { return nil, errors.New("no tokens here") }
}

// TestSessionTagsPolicyTagsTheRoleSessionAsESODoes follows ESO 2.9.0's
// newClient: Simple tags the session with esoNamespace (the served
// ExternalSecret's, or a SecretStore's own), esoStoreName and esoStoreKind;
// Custom adds customSessionTags; None adds nothing.
func TestSessionTagsPolicyTagsTheRoleSessionAsESODoes(t *testing.T) {
	const role = "arn:aws:iam::444455556666:role/reader"
	cases := []struct {
		name, kind, policy string
		custom             map[string]string
		want               map[string]string
	}{
		{"Simple, a ClusterSecretStore serving apps", render.KindClusterSecretStore, "Simple", nil,
			map[string]string{"esoNamespace": "apps", "esoStoreName": "shared", "esoStoreKind": "ClusterSecretStore"}},
		{"Custom, a SecretStore of team", render.KindSecretStore, "Custom", map[string]string{"cost": "payments"},
			map[string]string{"cost": "payments", "esoNamespace": "team", "esoStoreName": "shared", "esoStoreKind": "SecretStore"}},
		{"None", render.KindClusterSecretStore, "None", nil, map[string]string{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			awstest.Isolate(t)
			b := awstest.StartSM(t)
			b.Create(t, "k", "v")
			sts, stsURL := awstest.StartSTS(t)
			b.SM.RequireAccessKeys(stsserver.AccessKeyFor(role))
			st := &render.SecretStore{Spec: render.SecretStoreSpec{Provider: render.Provider{AWS: &render.AWSProvider{
				Service: "SecretsManager", Role: role, SessionTagsPolicy: c.policy, CustomSessionTags: c.custom}}}}
			st.Kind, st.Name = c.kind, "shared"
			if c.kind == render.KindSecretStore {
				st.Namespace = "team"
			}
			f := awsprov.NewFactory(awsprov.Options{Endpoint: b.URL, STSEndpoint: stsURL, DefaultRegion: awstest.Region})
			p, err := f.ForStore(context.Background(), st, servedCluster{render.AskerServing(st, "apps")})
			if err != nil {
				t.Fatal(err)
			}
			if got := resolveOne(t, p, providers.Ref{Key: "k"}); got.Err != nil {
				t.Fatalf("resolve with the role's credentials: %v", got.Err)
			}
			want := []stsserver.Call{{Action: "AssumeRole", RoleArn: role, CallerKey: "AKIDDEFAULTCHAIN", SessionTags: c.want}}
			if diff := cmp.Diff(want, sts.Calls()); diff != "" {
				t.Fatalf("STS calls (-want +got):\n%s", diff)
			}
		})
	}
}
