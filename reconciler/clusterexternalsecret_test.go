package reconciler_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestAClusterExternalSecretFollowsTheNamespaces: one ExternalSecret per
// namespace it names or selects, made at every pass from the namespaces of
// the cluster then, with externalSecretMetadata as its labels (which reach
// the Secret, as in ESO, since there is no template); a namespace that
// starts matching gets its Secret, one that stops matching loses it under
// the prune guards, and a name taken by a plain ExternalSecret is an error
// of the ClusterExternalSecret that blocks prune.
func TestAClusterExternalSecretFollowsTheNamespaces(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	team := "team-" + f.ns
	named, picked, other := f.ns+"-named", f.ns+"-picked", f.ns+"-other"
	for _, ns := range []string{named, picked, other} {
		n := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}
		if ns == picked {
			n.Labels = map[string]string{"team": team}
		}
		if _, err := env.Client.CoreV1().Namespaces().Create(ctx, n, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	const value = "ces-seeded-value"
	f.seed("shared/token", value)
	ces := fmt.Sprintf(`apiVersion: external-secrets.io/v1
kind: ClusterExternalSecret
metadata: {name: %[1]s-token}
spec:
  externalSecretName: token
  externalSecretMetadata: {labels: {owner: platform}}
  namespaces: [%[2]s]
  namespaceSelectors: [{matchLabels: {team: %[3]s}}]
  refreshTime: 1m
  externalSecretSpec:
    secretStoreRef: {name: aws, kind: ClusterSecretStore}
    data: [{secretKey: token, remoteRef: {key: shared/token}}]
---
apiVersion: external-secrets.io/v1
kind: ClusterSecretStore
metadata: {name: aws}
spec: {provider: {aws: {service: SecretsManager, region: us-east-1}}}
`, f.ns, named, team)
	f.commit(map[string]string{"ces.yaml": ces})
	secretIn := func(ns string) *corev1.Secret {
		s, err := env.Client.CoreV1().Secrets(ns).Get(ctx, "token", metav1.GetOptions{})
		if err != nil {
			return nil
		}
		return s
	}
	if res := f.pass(); !res.OK() || res.Applied != 2 {
		t.Fatalf("pass: applied %d, errors %v\n%s", res.Applied, res.Errors, f.logs.String())
	}
	for ns, want := range map[string]bool{named: true, picked: true, other: false} {
		s := secretIn(ns)
		if (s != nil) != want {
			t.Fatalf("Secret token in %s: exists %v, want %v", ns, s != nil, want)
		}
		if s != nil && (string(s.Data["token"]) != value || s.Labels["owner"] != "platform" || !strings.HasSuffix(s.Annotations["secretsync.io/source"], "ces.yaml")) {
			t.Fatalf("Secret token in %s: value matches %v, labels %v, annotations %v", ns, string(s.Data["token"]) == value, s.Labels, s.Annotations)
		}
	}

	label := func(ns string, lbls map[string]string) {
		n, err := env.Client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		n.Labels = lbls
		n.Labels["kubernetes.io/metadata.name"] = ns
		if _, err := env.Client.CoreV1().Namespaces().Update(ctx, n, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("a namespace that starts matching gets its Secret; one that stops loses it", func(t *testing.T) {
		label(other, map[string]string{"team": team})
		label(picked, map[string]string{})
		res := f.pass()
		if !res.OK() || res.Pruned != 1 {
			t.Fatalf("pass: pruned %d, errors %v", res.Pruned, res.Errors)
		}
		if secretIn(other) == nil || secretIn(picked) != nil || secretIn(named) == nil {
			t.Fatalf("after relabelling: other %v, picked %v, named %v", secretIn(other) != nil, secretIn(picked) != nil, secretIn(named) != nil)
		}
	})

	t.Run("a name a plain ExternalSecret takes is an error that blocks prune", func(t *testing.T) {
		f.commit(map[string]string{"plain.yaml": fmt.Sprintf(`apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: token, namespace: %s}
spec:
  secretStoreRef: {name: aws, kind: ClusterSecretStore}
  data: [{secretKey: other, remoteRef: {key: shared/token}}]
`, named)})
		label(other, map[string]string{}) // its Secret would be pruned, but for the error
		res := f.pass()
		if res.OK() || len(res.Errors) == 0 || !strings.Contains(fmt.Sprint(res.Errors), "it would make ExternalSecret "+named+"/token, which the ExternalSecret in plain.yaml already defines") {
			t.Fatalf("errors: %v", res.Errors)
		}
		if res.PruneSkipped == "" || secretIn(other) == nil {
			t.Fatalf("prune ran despite the error: skipped %q", res.PruneSkipped)
		}
	})
}
