package awsservice

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Every bad key and value of a push's metadata is a problem of its own,
// named by its path, not only the first: validate lists them all.
func TestPushMetaProblemsNameEveryBadKey(t *testing.T) {
	env := func(spec string) []byte {
		return []byte(`{"apiVersion":"kubernetes.external-secrets.io/v1alpha1","kind":"PushSecretMetadata","spec":` + spec + `}`)
	}
	for _, c := range []struct {
		name    string
		service Service
		raw     []byte
		want    []string
	}{
		{"none", SecretsManager, nil, nil},
		{"ESO's keys, either case", SecretsManager, env(`{"secretPushFormat":"string","kmsKeyID":"k","description":"d","tags":{"a":"b"}}`), nil},
		{"two bad keys", SecretsManager, env(`{"secretPushFormat":"text","colour":"red","tags":{"managed-by":"me"}}`), []string{
			`metadata.spec.colour: is not a key of ESO's SecretsManager push metadata`,
			`metadata.spec.secretPushFormat: must be binary or string, not "text"`,
			`metadata.spec.tags: cannot set managed-by: every pushed secret carries managed-by=external-secrets`,
		}},
		{"wrong types", SecretsManager, env(`{"tags":{"n":1},"description":2}`), []string{
			`metadata.spec.description: must be a JSON string`,
			`metadata.spec.tags: must be a JSON object of strings`,
		}},
		{"no envelope, and an unknown key", ParameterStore, []byte(`{"secretType":"String"}`), []string{
			`metadata: must be ESO's envelope: apiVersion kubernetes.external-secrets.io/v1alpha1, kind PushSecretMetadata, the keys under spec`,
			`metadata.secretType: is not a key of ESO's ParameterStore push metadata`,
		}},
		{"a Secrets Manager key on Parameter Store", ParameterStore, env(`{"secretPushFormat":"string","tier":{"type":"Premium","size":1}}`), []string{
			`metadata.spec.secretPushFormat: is not a key of ESO's ParameterStore push metadata`,
			`metadata.spec.tier.size: is not a key of ESO's ParameterStore push metadata`,
			`metadata.spec.tier.type: must be one of [Standard Advanced Intelligent-Tiering], not "Premium"`,
		}},
		{"a resource policy from a ConfigMap", SecretsManager, env(`{"resourcePolicy":{"blockPublicPolicy":true,"policySourceRef":{"kind":"ConfigMap","name":"pol","key":"policy.json"}}}`), nil},
		{"a resource policy naming another namespace, a path and no key", SecretsManager,
			env(`{"resourcePolicy":{"blockPublicPolicy":false,"policySourceRef":{"kind":"Secret","name":"other/pol","namespace":"other"}}}`), []string{
				`metadata.spec.resourcePolicy.blockPublicPolicy: cannot be false: secretsync always asks AWS to refuse a policy that grants public access`,
				`metadata.spec.resourcePolicy.policySourceRef.namespace: is not a key of ESO's policySourceRef: the policy is read in the PushSecret's own namespace only`,
				`metadata.spec.resourcePolicy.policySourceRef.name: must be the name of a ConfigMap or Secret of the PushSecret's namespace (lowercase letters, digits, '-', '.')`,
				`metadata.spec.resourcePolicy.policySourceRef.key: must be a key of a ConfigMap or Secret (letters, digits, '-', '_', '.')`,
			}},
		{"a resource policy on Parameter Store", ParameterStore, env(`{"resourcePolicy":{}}`), []string{
			`metadata.spec.resourcePolicy: is not a key of ESO's ParameterStore push metadata`,
		}},
		{"a service that takes no push", KMS, env(`{"x":1}`), nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			var got []string
			for _, p := range c.service.PushMetaProblems(c.raw) {
				got = append(got, p.Error())
			}
			if diff := cmp.Diff(c.want, got); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}
