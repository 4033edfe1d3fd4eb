package pushsecret_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/secretsync/secretsync/internal/awstest"
	"github.com/secretsync/secretsync/internal/scrub"
	"github.com/secretsync/secretsync/inventory"
	"github.com/secretsync/secretsync/providers"
	"github.com/secretsync/secretsync/providers/aws"
	"github.com/secretsync/secretsync/pushsecret"
	"github.com/secretsync/secretsync/render"
)

// Two PushSecrets of one namespace each push a different property of one
// remote secret that does not exist yet, pushed concurrently (Concurrency
// 2) through the AWS provider against the project's Secrets Manager
// server: no pass reports a failure and both properties end in the remote
// secret. Each round is a new remote secret, so each starts with both
// pushes finding it missing.
func TestConcurrentPushSecretsWritingPropertiesOfOneNewSecretKeepBoth(t *testing.T) {
	awstest.Isolate(t)
	b := awstest.StartSM(t)
	b.SM.SetLatency(time.Millisecond)
	factory := aws.NewFactory(aws.Options{Endpoint: b.URL, DefaultRegion: awstest.Region})
	kube := fake.NewClientset(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "ns"}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "src", Namespace: "ns"}, Data: map[string][]byte{"a": []byte("property-a-value"), "b": []byte("property-b-value")}})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for round := range 10 {
		remote := fmt.Sprintf("shared/%d", round)
		dir := t.TempDir()
		yaml := "apiVersion: external-secrets.io/v1\nkind: SecretStore\nmetadata: {name: aws, namespace: ns}\nspec: {provider: {aws: {service: SecretsManager, region: " + awstest.Region + "}}}\n"
		for _, k := range []string{"a", "b"} {
			yaml += fmt.Sprintf("---\napiVersion: external-secrets.io/v1alpha1\nkind: PushSecret\nmetadata: {name: p%s, namespace: ns}\nspec:\n  secretStoreRefs: [{name: aws}]\n  selector: {secret: {name: src}}\n  data:\n    - match: {secretKey: %s, remoteRef: {remoteKey: %s, property: %s}}\n", k, k, remote, k)
		}
		if err := os.WriteFile(filepath.Join(dir, "all.yaml"), []byte(yaml), 0o600); err != nil {
			t.Fatal(err)
		}
		set, err := render.Render(ctx, dir, ".", render.Options{})
		if err != nil || len(set.Errors) > 0 || len(set.PushSecrets) != 2 {
			t.Fatalf("render: %v %v", err, set)
		}
		p := pushsecret.New(pushsecret.Config{Kube: kube, Concurrency: 2, Now: time.Now, Guard: inventory.PruneGuard,
			Provider: func(ctx context.Context, _ *render.SecretStore, _ string) (providers.Provider, error) {
				return factory.Provider(ctx, aws.Store{})
			},
			Events: func(context.Context, corev1.ObjectReference, string, string, string) {}})
		out := p.Push(ctx, pushsecret.Pass{Set: set, Redactor: scrub.New()})
		if len(out.Failed) > 0 || out.Pushed != 2 {
			t.Fatalf("round %d: pushed %d, failed %v; want both pushed", round, out.Pushed, out.Failed)
		}
		g, err := b.Client().GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: awssdk.String(remote)})
		if err != nil {
			t.Fatal(err)
		}
		var got map[string]string
		_ = json.Unmarshal(g.SecretBinary, &got)
		if got["a"] != "property-a-value" || got["b"] != "property-b-value" {
			t.Fatalf("round %d: %s holds a %v, b %v; want both properties", round, remote, got["a"] != "", got["b"] != "")
		}
	}
}
