// Package awstest points the real AWS SDK at servers on 127.0.0.1: the
// project's Secrets Manager server (internal/smserver) or kumo, and kumo's
// Parameter Store.
package awstest

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/sivchari/kumo"

	"github.com/secretsync/secretsync/internal/acmserver"
	"github.com/secretsync/secretsync/internal/smserver"
	"github.com/secretsync/secretsync/internal/stsserver"
	"github.com/secretsync/secretsync/providers"
	awsprovider "github.com/secretsync/secretsync/providers/aws"
)

// Region is the region every test client uses.
const Region = "us-east-1"

// Isolate keeps the SDK default chain off the machine's own AWS config and
// off the instance metadata service, and gives it throwaway keys.
func Isolate(t testing.TB) {
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_CONFIG_FILE", "/dev/null")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDDEFAULTCHAIN")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "default-chain-secret")
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_WEB_IDENTITY_TOKEN_FILE", "")
	t.Setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "")
	t.Setenv("AWS_ENDPOINT_URL", "")
	t.Setenv("AWS_REGION", Region)
}

// Backend is a Secrets Manager-compatible server under test.
type Backend struct {
	Name string
	URL  string
	// SM is the project's server, nil for kumo.
	SM *smserver.Server
}

// StartSM serves a fresh smserver on 127.0.0.1.
func StartSM(t testing.TB) Backend {
	sm := smserver.New()
	ts := httptest.NewServer(sm)
	t.Cleanup(ts.Close)
	return Backend{Name: "smserver", URL: ts.URL, SM: sm}
}

// StartKumo serves a fresh kumo on 127.0.0.1.
func StartKumo(t testing.TB) Backend {
	k := kumo.NewServer()
	t.Cleanup(k.Close)
	return Backend{Name: "kumo", URL: k.URL}
}

// Client is a Secrets Manager client for b with static test keys.
func (b Backend) Client() *secretsmanager.Client {
	return secretsmanager.New(secretsmanager.Options{
		Region:           Region,
		BaseEndpoint:     aws.String(b.URL),
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDSEED", "seed-secret", ""),
		RetryMaxAttempts: 1,
	})
}

// Create makes a secret with a string value and returns its ARN and
// version id.
func (b Backend) Create(t testing.TB, name, value string) (arn, versionID string) {
	t.Helper()
	out, err := b.Client().CreateSecret(context.Background(), &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String(value)})
	if err != nil {
		t.Fatalf("create secret %s on %s: %v", name, b.Name, err)
	}
	return aws.ToString(out.ARN), aws.ToString(out.VersionId)
}

// CreateBinary makes a secret with a binary value.
func (b Backend) CreateBinary(t testing.TB, name string, value []byte) {
	t.Helper()
	if _, err := b.Client().CreateSecret(context.Background(), &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretBinary: value}); err != nil {
		t.Fatalf("create binary secret %s on %s: %v", name, b.Name, err)
	}
}

// Put rotates a secret to a new value and returns the new version id.
func (b Backend) Put(t testing.TB, name, value string) string {
	t.Helper()
	out, err := b.Client().PutSecretValue(context.Background(), &secretsmanager.PutSecretValueInput{SecretId: aws.String(name), SecretString: aws.String(value)})
	if err != nil {
		t.Fatalf("put secret value %s on %s: %v", name, b.Name, err)
	}
	return aws.ToString(out.VersionId)
}

// Delete removes a secret at once.
func (b Backend) Delete(t testing.TB, name string) {
	t.Helper()
	_, err := b.Client().DeleteSecret(context.Background(), &secretsmanager.DeleteSecretInput{SecretId: aws.String(name), ForceDeleteWithoutRecovery: aws.Bool(true)})
	if err != nil {
		t.Fatalf("delete secret %s on %s: %v", name, b.Name, err)
	}
}

// StartSTS serves a fresh stsserver on 127.0.0.1.
func StartSTS(t testing.TB) (*stsserver.Server, string) {
	s := stsserver.New()
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return s, ts.URL
}

// CreateTagged creates a secret with tags.
func (b Backend) CreateTagged(t testing.TB, name, value string, tags map[string]string) {
	t.Helper()
	in := &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String(value)}
	for k, v := range tags {
		in.Tags = append(in.Tags, smtypes.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	if _, err := b.Client().CreateSecret(context.Background(), in); err != nil {
		t.Fatal(err)
	}
}

// Endpoints are the test servers' URLs.
type Endpoints struct {
	SM, KMS, STS, ACM string
	// Kumo serves Parameter Store and ECR (StartSSM's proxy forwards
	// every call).
	Kumo string
}

// Factory is the AWS provider factory pointed at the test servers: the
// reconciler's tests reach AWS only through providers.Factory.
func Factory(e Endpoints) providers.Factory {
	return awsprovider.NewFactory(awsprovider.Options{Endpoint: e.SM, KMSEndpoint: e.KMS, STSEndpoint: e.STS, SSMEndpoint: e.Kumo, ECREndpoint: e.Kumo,
		ACMEndpoint: e.ACM, DefaultRegion: Region})
}

// StartACM serves a fresh Certificate Manager on 127.0.0.1.
func StartACM(t testing.TB) (*acmserver.Server, string) {
	s := acmserver.New()
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return s, ts.URL
}
