package aws

import (
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/secretsync/secretsync/providers"
)

// TestKMSErrorsAreNotFoundOnlyForAMissingKey: of the KMS SDK's typed
// errors, only NotFoundException (the key does not exist) is NotFound, the
// class that lets deletionPolicy Delete or Merge drop a key; a key that is
// disabled, pending deletion or unavailable, or KMS failing, keeps the
// Secret as a failure.
func TestKMSErrorsAreNotFoundOnlyForAMissingKey(t *testing.T) {
	msg := func(s string) *string { return &s }
	for _, c := range []struct {
		err  error
		want providers.Class
	}{
		{&types.NotFoundException{Message: msg("key does not exist")}, providers.NotFound},
		{&types.DisabledException{Message: msg("key is disabled")}, providers.Unavailable},
		{&types.KMSInvalidStateException{Message: msg("key is pending deletion")}, providers.Unavailable},
		{&types.KeyUnavailableException{Message: msg("key material unavailable")}, providers.Unavailable},
		{&types.KMSInternalException{Message: msg("internal")}, providers.Unavailable},
		{&types.DependencyTimeoutException{Message: msg("timeout")}, providers.Unavailable},
		{&types.CustomKeyStoreInvalidStateException{Message: msg("custom key store")}, providers.Unavailable},
		{&types.InvalidCiphertextException{Message: msg("bad ciphertext")}, providers.Decrypt},
		{&types.IncorrectKeyException{Message: msg("other key")}, providers.KeyMismatch},
	} {
		t.Run(fmt.Sprintf("%T is %s", c.err, c.want), func(t *testing.T) {
			if got := providers.ClassOf(classifyKMS("kms:ref", fmt.Errorf("operation error KMS: Decrypt: %w", c.err))); got != c.want {
				t.Fatalf("class %s, want %s", got, c.want)
			}
		})
	}
}
