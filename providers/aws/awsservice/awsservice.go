// Package awsservice is what a store's spec.provider.aws.service means:
// the services there are, the name a reference reads through each, and what
// each refuses. providers/aws acts on it; render, desired, the reconciler
// and the CLI ask it rather than spell a service's name. It imports no AWS
// SDK, so the offline review commands ask it too.
package awsservice

import (
	"errors"
	"fmt"
	"strings"

	"github.com/secretsync/secretsync/events"
)

// Service is a value of spec.provider.aws.service.
type Service string

// The services a store may name (ESO's spelling).
const (
	SecretsManager     Service = "SecretsManager"
	ParameterStore     Service = "ParameterStore"
	CertificateManager Service = "CertificateManager"
	KMS                Service = "KMS"
)

// Check returns nil for a service secretsync reads, else why not.
func Check(s string) error {
	switch Service(s) {
	case SecretsManager, ParameterStore, CertificateManager, KMS:
		return nil
	case "":
		return errors.New("required")
	}
	return fmt.Errorf("must be %s, %s, %s or %s, not %q", SecretsManager, ParameterStore, CertificateManager, KMS, s)
}

// InGit reports a service whose references are ciphertext kept in Git
// (KMS): each is bound to the Secret key it is written to, and it names
// nothing that lives in AWS.
func (s Service) InGit() bool { return s == KMS }

// Pushes reports whether a PushSecret may write to s: Secrets Manager
// (providers/aws/push.go) and Parameter Store (push_ssm.go).
func (s Service) Pushes() bool { return s == SecretsManager || s == ParameterStore }

// DataFromProblem is why spec.dataFrom cannot read through a store of s
// ("a ... store: why"), or nil.
func (s Service) DataFromProblem() error {
	switch s {
	case KMS:
		return errors.New("a KMS store: ciphertext is bound to one key, so use data[], not dataFrom")
	case CertificateManager:
		return errors.New("a CertificateManager store: a certificate is one PEM bundle, so use data[], not dataFrom (ESO does not implement it either)")
	}
	return nil
}

// RefProblem is why a data[] reference with these remoteRef settings cannot
// read through a store of s, or nil. A CertificateManager reference is a
// certificate ARN whose value is the whole PEM bundle, so property, version
// and metadataPolicy Fetch have no meaning (ESO ignores them; secretsync
// says so rather than write something unexpected).
func (s Service) RefProblem(property, version string, fetchMetadata bool) error {
	if s == CertificateManager && (property != "" || version != "" || fetchMetadata) {
		return errors.New("a CertificateManager reference is a certificate ARN and gives the whole PEM bundle (certificate, chain, private key): property, version and metadataPolicy do not apply")
	}
	return nil
}

// Canonical is the key a reference reads through a store of s with prefix:
// Parameter Store applies the prefix to every key (as ESO does), Secrets
// Manager to names but not to ARNs; KMS ciphertext and certificate ARNs are
// taken as they are.
func (s Service) Canonical(prefix, key string) string {
	switch s {
	case ParameterStore:
		return prefix + key
	case KMS, CertificateManager:
		return key
	}
	if strings.HasPrefix(key, "arn:") {
		return key
	}
	return prefix + key
}

// EventName is the name an AWS change event gives what a reference reads
// (ARNs and version selectors taken off), or "" for a service whose
// references no event names (KMS, CertificateManager).
func (s Service) EventName(prefix, key string) string {
	switch s {
	case ParameterStore:
		return events.ParameterName(s.Canonical(prefix, key))
	case KMS, CertificateManager:
		return ""
	}
	return events.SecretName(s.Canonical(prefix, key))
}
