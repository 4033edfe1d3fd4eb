package aws

import (
	"errors"
	"maps"
	"slices"

	"github.com/secretsync/secretsync/providers"
	"github.com/secretsync/secretsync/providers/aws/awsservice"
)

// A push's metadata is decoded and checked by awsservice (no SDK), which
// validate asks too; here its problems become one Invalid error and ESO's
// defaults the decoding leaves to the provider are set.

// Parameter Store's key for a SecureString whose metadata names none.
const ssmPushKMSKeyID = "alias/aws/ssm"

// smMeta decodes a Secrets Manager push's metadata with ESO's defaults.
func smMeta(raw []byte) (awsservice.SecretsManagerPush, error) {
	m, probs := awsservice.DecodeSecretsManagerPush(raw)
	if m.Description == "" {
		m.Description = pushDescription
	}
	if m.KMSKeyID == "" {
		m.KMSKeyID = pushKMSKeyID
	}
	return m, metaError(probs)
}

// ssmMeta decodes a Parameter Store push's metadata with ESO's defaults.
func ssmMeta(raw []byte) (awsservice.ParameterStorePush, error) {
	m, probs := awsservice.DecodeParameterStorePush(raw)
	if m.KMSKeyID == "" && m.Secure() {
		m.KMSKeyID = ssmPushKMSKeyID
	}
	if m.Description == "" {
		m.Description = pushDescription
	}
	return m, metaError(probs)
}

// metaError joins every problem of a push's metadata, or nil.
func metaError(probs []awsservice.MetaProblem) error {
	errs := make([]error, len(probs))
	for i, p := range probs {
		errs[i] = p
	}
	return errors.Join(errs...)
}

// withManagedBy is tags plus the managed-by tag.
func withManagedBy(tags map[string]string) map[string]string {
	out := maps.Clone(tags)
	if out == nil {
		out = map[string]string{}
	}
	out[providers.ManagedByTag] = providers.ManagedByValue
	return out
}

// tagDiff is what makes current equal want (which holds managed-by): the
// tags to set (new or changed) and the keys to remove. Only a push whose
// metadata sets tags manages them, as ESO's Secrets Manager push does; one
// without leaves the tags as they are.
func tagDiff(current, want map[string]string) (set map[string]string, remove []string) {
	set = map[string]string{}
	for k, v := range want {
		if cur, ok := current[k]; !ok || cur != v {
			set[k] = v
		}
	}
	for k := range current {
		if _, ok := want[k]; !ok {
			remove = append(remove, k)
		}
	}
	slices.Sort(remove)
	return set, remove
}
