package aws_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/secretsync/secretsync/internal/awstest"
	"github.com/secretsync/secretsync/providers"
	awsprov "github.com/secretsync/secretsync/providers/aws"
)

const kmsSeed = "kms-plaintext-seeded-42"

func TestKMSCiphertextIsBoundToItsTarget(t *testing.T) {
	awstest.Isolate(t)
	url := awstest.StartKMS(t)
	keyA, keyB := awstest.CreateKey(t, url), awstest.CreateKey(t, url)
	target := providers.Target{Namespace: "payments", Secret: "db", Key: "password"}
	ct, err := awsprov.Encrypt(context.Background(), awstest.KMSClient(url), keyA, target, providers.NewValue([]byte(kmsSeed)))
	if err != nil {
		t.Fatal(err)
	}
	f := awsprov.NewFactory(awsprov.Options{KMSEndpoint: url, DefaultRegion: awstest.Region})
	p, err := f.Provider(context.Background(), awsprov.Store{Service: "KMS"})
	if err != nil {
		t.Fatal(err)
	}

	t.Run("it decrypts for the target it was made for", func(t *testing.T) {
		got := resolveOne(t, p, providers.Ref{Key: ct, Target: target})
		if got.Err != nil || string(got.Value.Bytes()) != kmsSeed {
			t.Fatalf("err %v, value matches %v", got.Err, string(got.Value.Bytes()) == kmsSeed)
		}
	})
	for name, other := range map[string]providers.Target{
		"another key of the same Secret":   {Namespace: "payments", Secret: "db", Key: "username"},
		"the same key of another Secret":   {Namespace: "payments", Secret: "cache", Key: "password"},
		"the same Secret in another place": {Namespace: "staging", Secret: "db", Key: "password"},
	} {
		t.Run("copied into "+name+" it fails to decrypt", func(t *testing.T) {
			got := resolveOne(t, p, providers.Ref{Key: ct, Target: other})
			if providers.ClassOf(got.Err) != providers.Decrypt {
				t.Fatalf("err = %v (class %s)", got.Err, providers.ClassOf(got.Err))
			}
		})
	}
	t.Run("a store that requires another key refuses it", func(t *testing.T) {
		pb, _ := f.Provider(context.Background(), awsprov.Store{Service: "KMS", KMSKeyID: keyB})
		got := resolveOne(t, pb, providers.Ref{Key: ct, Target: target})
		if c := providers.ClassOf(got.Err); c != providers.KeyMismatch && c != providers.Decrypt {
			t.Fatalf("err = %v (class %s)", got.Err, c)
		}
	})
	t.Run("text that is not base64 is Invalid", func(t *testing.T) {
		got := resolveOne(t, p, providers.Ref{Key: "not base64!", Target: target})
		if providers.ClassOf(got.Err) != providers.Invalid {
			t.Fatalf("err = %v", got.Err)
		}
	})
}

func TestARequiredKMSKeyIsCheckedWithDescribeSecret(t *testing.T) {
	awstest.Isolate(t)
	b := awstest.StartSM(t)
	for name, key := range map[string]string{"under-a": "key-a", "under-b": "arn:aws:kms:us-east-1:111122223333:key/key-b"} {
		if _, err := b.Client().CreateSecret(context.Background(), &secretsmanager.CreateSecretInput{
			Name: aws.String(name), SecretString: aws.String("v"), KmsKeyId: aws.String(key)}); err != nil {
			t.Fatal(err)
		}
	}
	b.Create(t, "default-key", "v")
	f := awsprov.NewFactory(awsprov.Options{Endpoint: b.URL, DefaultRegion: awstest.Region})
	p, _ := f.Provider(context.Background(), awsprov.Store{KMSKeyID: "key-b"})
	for name, want := range map[string]providers.Class{"under-a": providers.KeyMismatch, "default-key": providers.KeyMismatch, "under-b": ""} {
		t.Run(name, func(t *testing.T) {
			got := resolveOne(t, p, providers.Ref{Key: name})
			if got.Err == nil && want != "" || got.Err != nil && providers.ClassOf(got.Err) != want {
				t.Fatalf("err = %v, want class %q", got.Err, want)
			}
		})
	}
	t.Run("the key is cached, not described on every refresh", func(t *testing.T) {
		b.SM.ResetCalls()
		resolveOne(t, p, providers.Ref{Key: "under-b"})
		if n := b.SM.Calls()["DescribeSecret"]; n != 0 {
			t.Fatalf("DescribeSecret called %d times", n)
		}
	})
}

// TestKMSKeyDisabledOrPendingDeletionIsNotNotFound: local-kms's real
// DisabledException and KMSInvalidStateException from Decrypt reach the
// caller as Unavailable, never NotFound (which deletionPolicy Delete takes
// for a source that is gone).
func TestKMSKeyDisabledOrPendingDeletionIsNotNotFound(t *testing.T) {
	awstest.Isolate(t)
	url := awstest.StartKMS(t)
	f := awsprov.NewFactory(awsprov.Options{KMSEndpoint: url, DefaultRegion: awstest.Region})
	target := providers.Target{Namespace: "payments", Secret: "db", Key: "password"}
	// local-kms names the key's state only when the store names the key
	// (without it, it answers AccessDeniedException, which keeps too).
	for name, fault := range map[string]func(testing.TB, string, string){
		"DisabledException":        awstest.DisableKey,
		"KMSInvalidStateException": awstest.ScheduleKeyDeletion,
	} {
		t.Run(name+" is Unavailable", func(t *testing.T) {
			key := awstest.CreateKey(t, url)
			ct, err := awsprov.Encrypt(context.Background(), awstest.KMSClient(url), key, target, providers.NewValue([]byte(kmsSeed)))
			if err != nil {
				t.Fatal(err)
			}
			p, err := f.Provider(context.Background(), awsprov.Store{Service: "KMS", KMSKeyID: key})
			if err != nil {
				t.Fatal(err)
			}
			fault(t, url, key)
			got := resolveOne(t, p, providers.Ref{Key: ct, Target: target})
			if providers.ClassOf(got.Err) != providers.Unavailable || !strings.Contains(got.Err.Error(), name) {
				t.Fatalf("err = %v (class %s)", got.Err, providers.ClassOf(got.Err))
			}
		})
	}
}
