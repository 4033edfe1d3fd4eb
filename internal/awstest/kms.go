package awstest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/nsmithuk/local-kms/src"
	kmsconfig "github.com/nsmithuk/local-kms/src/config"
	"github.com/nsmithuk/local-kms/src/data"
	"github.com/sirupsen/logrus"

	"github.com/secretsync/secretsync/providers"
	awsprovider "github.com/secretsync/secretsync/providers/aws"
)

// StartKMS serves local-kms in-process on 127.0.0.1 and returns its URL.
// It enforces encryption context like AWS KMS.
func StartKMS(t testing.TB) string {
	kmsconfig.AWSAccountId = "111122223333"
	kmsconfig.AWSRegion = Region
	logrus.SetLevel(logrus.ErrorLevel) // local-kms logs every request at info
	db := data.NewDatabase(t.TempDir())
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		src.HandleRequest(w, r, db)
	}))
	t.Cleanup(func() { ts.Close(); db.Close() })
	return ts.URL
}

// KMSClient is a KMS client for url with static test keys.
func KMSClient(url string) *kms.Client {
	return kms.New(kms.Options{Region: Region, BaseEndpoint: aws.String(url),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDSEED", "seed-secret", "")})
}

// CreateKey makes a symmetric key and returns its id.
func CreateKey(t testing.TB, url string) string {
	t.Helper()
	out, err := KMSClient(url).CreateKey(context.Background(), &kms.CreateKeyInput{})
	if err != nil {
		t.Fatalf("create kms key: %v", err)
	}
	return aws.ToString(out.KeyMetadata.KeyId)
}

// Encrypt makes the ciphertext `secretsync encrypt` would, for target.
func Encrypt(t testing.TB, url, keyID string, target providers.Target, plaintext string) string {
	t.Helper()
	ct, err := awsprovider.Encrypt(context.Background(), KMSClient(url), keyID, target, providers.NewValue([]byte(plaintext)))
	if err != nil {
		t.Fatal(err)
	}
	return ct
}

// DisableKey disables a key: Decrypt under it then fails with DisabledException.
func DisableKey(t testing.TB, url, keyID string) {
	t.Helper()
	if _, err := KMSClient(url).DisableKey(context.Background(), &kms.DisableKeyInput{KeyId: aws.String(keyID)}); err != nil {
		t.Fatalf("disable kms key: %v", err)
	}
}

// ScheduleKeyDeletion puts a key in PendingDeletion: Decrypt under it then
// fails with KMSInvalidStateException.
func ScheduleKeyDeletion(t testing.TB, url, keyID string) {
	t.Helper()
	if _, err := KMSClient(url).ScheduleKeyDeletion(context.Background(), &kms.ScheduleKeyDeletionInput{KeyId: aws.String(keyID), PendingWindowInDays: aws.Int32(7)}); err != nil {
		t.Fatalf("schedule kms key deletion: %v", err)
	}
}
