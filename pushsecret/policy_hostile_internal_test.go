package pushsecret

import (
	"strings"
	"testing"

	"github.com/secretsync/secretsync/internal/leaktest"
	"github.com/secretsync/secretsync/providers/aws/awsservice"
)

// Hostile review (security.md 15.R): a policySourceRef that tries to leave
// the namespace, name another kind, or a key that is a path, is refused by
// the metadata's decoder, before any read; so is a namespace key.
func TestHostilePolicySourceRefsAreRefusedBeforeAnyRead(t *testing.T) {
	for _, ref := range []string{
		`{"kind":"ConfigMap","name":"other/pol","key":"p"}`,
		`{"kind":"ConfigMap","name":"..","key":"p"}`,
		`{"kind":"ConfigMap","name":"pol","key":"../p"}`,
		`{"kind":"ConfigMap","name":"pol","key":"..data"}`,
		`{"kind":"configmap","name":"pol","key":"p"}`,
		`{"kind":"secret","name":"pol","key":"p"}`,
		`{"kind":"ServiceAccount","name":"default","key":"p"}`,
		`{"kind":"ClusterSecretStore","name":"pol","key":"p"}`,
		`{"kind":"ConfigMap","name":"pol","key":"p","namespace":"kube-system"}`,
		`{"kind":"ConfigMap","name":"pol","key":"p","Namespace":"kube-system"}`,
		`{"kind":"ConfigMap","name":"POL","key":"p"}`,
		`{"kind":"ConfigMap","name":"","key":"p"}`,
	} {
		meta := `{"apiVersion":"kubernetes.external-secrets.io/v1alpha1","kind":"PushSecretMetadata","spec":{"resourcePolicy":{"policySourceRef":` + ref + `}}}`
		if src := awsservice.SecretsManager.PolicySource([]byte(meta)); src != nil {
			t.Errorf("%s: read as %s", ref, src)
		}
		if _, probs := awsservice.DecodeSecretsManagerPush([]byte(meta)); len(probs) == 0 {
			t.Errorf("%s: no problem", ref)
		}
	}
}

// Hostile review: text that is a JSON object followed by a stray closing
// bracket is no JSON document; it must be refused before any AWS call, as
// the text AWS refuses is, and never count as the same policy as the
// object it starts with (a compare would then keep AWS's policy while Git
// says another text).
func TestAPolicyWithTrailingBytesIsNoJSONObject(t *testing.T) {
	marker := leaktest.Canary()
	var canaries leaktest.Canaries
	canaries.Add(marker)
	obj := `{"Sid":"` + marker + `"}`
	for _, text := range []string{obj + "}", obj + "]", obj + " }", obj + obj, obj + " x"} {
		err := awsservice.CheckPolicy([]byte(text))
		if err == nil || !strings.Contains(err.Error(), "is not a JSON object") {
			t.Errorf("a text of %d bytes with trailing bytes: %v, want it refused", len(text), err)
			continue
		}
		canaries.Check(t, "the error", err.Error())
		if awsservice.SamePolicy([]byte(text), []byte(obj)) {
			t.Errorf("a text of %d bytes with trailing bytes is the same policy as its first object", len(text))
		}
	}
}
