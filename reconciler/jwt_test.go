package reconciler_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/secretsync/secretsync/internal/stsserver"
)

// TestJWTAuthUsesATokenRequestForTheServiceAccount: the real API server
// issues the token; STS (stsserver) trades it for the annotated role's
// credentials; Secrets Manager accepts only those.
func TestJWTAuthUsesATokenRequestForTheServiceAccount(t *testing.T) {
	f := newFixture(t)
	f.seed("k/a", "jwt-value-seeded")
	const role = "arn:aws:iam::111122223333:role/team-reader"
	f.sm.SM.RequireAccessKeys(stsserver.AccessKeyFor(role))
	f.sts.AcceptToken = func(tok string) bool { return strings.Count(tok, ".") == 2 }
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "reader", Namespace: f.ns,
		Annotations: map[string]string{"eks.amazonaws.com/role-arn": role}}}
	if _, err := env.Client.CoreV1().ServiceAccounts(f.ns).Create(context.Background(), sa, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	store := fmt.Sprintf(`apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {name: aws, namespace: %s}
spec:
  provider:
    aws:
      service: SecretsManager
      region: us-east-1
      auth: {jwt: {serviceAccountRef: {name: reader}}}
`, f.ns)
	f.commit(map[string]string{"store.yaml": store, "a.yaml": f.es("a", "v=k/a")})
	mustOK(t, f.pass())
	sameData(t, "secret a", data(f.secret("a")), map[string]string{"v": "jwt-value-seeded"})
	calls := f.sts.Calls()
	if len(calls) != 1 || calls[0].Action != "AssumeRoleWithWebIdentity" || calls[0].RoleArn != role {
		t.Fatalf("STS calls = %+v", calls)
	}
	if strings.Contains(f.logs.String(), calls[0].WebIdentityToken) {
		t.Fatal("the service account token appears in the logs")
	}

	t.Run("a service account without the role annotation is a clear error", func(t *testing.T) {
		sa.Annotations = nil
		if _, err := env.Client.CoreV1().ServiceAccounts(f.ns).Update(context.Background(), sa, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		res := f.pass()
		if len(res.Errors) == 0 || !strings.Contains(res.Errors[0].Error(), "has no eks.amazonaws.com/role-arn annotation") {
			t.Fatalf("errors = %v", res.Errors)
		}
	})
}
