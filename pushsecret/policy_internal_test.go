package pushsecret

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/secretsync/secretsync/cluster"
	"github.com/secretsync/secretsync/internal/leaktest"
	"github.com/secretsync/secretsync/internal/scrub"
	"github.com/secretsync/secretsync/providers/aws/awsservice"
	"github.com/secretsync/secretsync/render"
)

// A policy source is read in the PushSecret's namespace alone, through its
// scope: an object of that name in another namespace is never asked for
// (the client's actions name no other namespace). A cluster token Secret is
// refused, and no error quotes a policy's text, whatever is wrong with it.
func TestAPolicySourceIsReadInThePushSecretsNamespaceOnly(t *testing.T) {
	marker := leaktest.Canary()
	var canaries leaktest.Canaries
	canaries.Add(marker)
	kube := fake.NewClientset(
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "elsewhere", Namespace: "b"}, Data: map[string]string{"p": `{"Sid":"` + marker + `"}`}},
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "pol", Namespace: "a"}, Data: map[string]string{
			"good": `{"Version":"2012-10-17","Statement":[]}`, "list": `["` + marker + `"]`, "long": `{"Sid":"` + strings.Repeat(marker, 700) + `"}`}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "token", Namespace: "a"}, Type: corev1.SecretTypeServiceAccountToken,
			Data: map[string][]byte{"token": []byte(`{"Sid":"` + marker + `"}`)}},
	)
	c := cluster.NewScoped(kube, render.Asker{Kind: render.KindPushSecret, Namespace: "a", Name: "p"}, scrub.New())
	ctx := context.Background()
	for _, tc := range []struct {
		src  awsservice.PolicySource
		want string
	}{
		{awsservice.PolicySource{Kind: "ConfigMap", Name: "pol", Key: "good"}, ""},
		{awsservice.PolicySource{Kind: "ConfigMap", Name: "elsewhere", Key: "p"}, "ConfigMap a/elsewhere not found"},
		{awsservice.PolicySource{Kind: "ConfigMap", Name: "pol", Key: "none"}, "ConfigMap a/pol has no key none"},
		{awsservice.PolicySource{Kind: "ConfigMap", Name: "pol", Key: "list"}, "the policy at key list of ConfigMap a/pol is not a JSON object"},
		{awsservice.PolicySource{Kind: "ConfigMap", Name: "pol", Key: "long"}, "AWS takes at most 20480"},
		{awsservice.PolicySource{Kind: "Secret", Name: "token", Key: "token"}, "Secret a/token: is refused: its type kubernetes.io/service-account-token"},
	} {
		_, err := readPolicy(ctx, c, scrub.New(), "a", tc.src)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.src, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: %v, want %q", tc.src, err, tc.want)
		case err != nil:
			canaries.Check(t, "the error", err.Error())
		}
	}
	for _, a := range kube.Actions() {
		if a.GetNamespace() != "a" {
			t.Errorf("a read left the PushSecret's namespace: %s %s in %q", a.GetVerb(), a.GetResource().Resource, a.GetNamespace())
		}
	}
}
