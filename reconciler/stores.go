package reconciler

import (
	"context"
	"fmt"
	"time"

	authv1 "k8s.io/api/authentication/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/secretsync/secretsync/providers"
	"github.com/secretsync/secretsync/providers/aws"
	"github.com/secretsync/secretsync/render"
)

// ProviderFactory makes a provider for one AWS store; *aws.Factory is one.
type ProviderFactory interface {
	Provider(ctx context.Context, st aws.Store) (providers.Provider, error)
}

// provider builds the provider for a store, reading static credentials
// from the Secret its auth.secretRef names.
func (r *Reconciler) provider(ctx context.Context, st *render.SecretStore) (providers.Provider, error) {
	a := st.Spec.Provider.AWS
	cfg := aws.Store{Service: a.Service, Region: a.Region, Prefix: a.Prefix, KMSKeyID: a.KMSKeyID,
		Role: a.Role, AdditionalRoles: a.AdditionalRoles, ExternalID: a.ExternalID, TransitiveTagKeys: a.TransitiveTagKeys}
	if len(a.SessionTags) > 0 {
		cfg.SessionTags = map[string]string{}
		for _, t := range a.SessionTags {
			cfg.SessionTags[t.Key] = t.Value
		}
	}
	if j := a.Auth.JWT; j != nil {
		w, err := r.webIdentity(ctx, st, j.ServiceAccountRef)
		if err != nil {
			return nil, err
		}
		cfg.WebIdentity = w
	}
	if ref := a.Auth.SecretRef; ref != nil {
		read := func(sel render.SecretKeySelector) (providers.Value, error) {
			ns := sel.Namespace
			if ns == "" {
				ns = st.Namespace
			}
			s, err := r.kube.CoreV1().Secrets(ns).Get(ctx, sel.Name, metav1.GetOptions{})
			if err != nil {
				if apierrors.IsNotFound(err) {
					return providers.Value{}, fmt.Errorf("credentials secret %s/%s not found", ns, sel.Name)
				}
				return providers.Value{}, fmt.Errorf("read credentials secret %s/%s: %w", ns, sel.Name, err)
			}
			b, ok := s.Data[sel.Key]
			if !ok {
				return providers.Value{}, fmt.Errorf("credentials secret %s/%s has no key %q", ns, sel.Name, sel.Key)
			}
			return providers.NewValue(b), nil
		}
		var creds aws.Credentials
		var err error
		if creds.AccessKeyID, err = read(ref.AccessKeyID); err != nil {
			return nil, err
		}
		if creds.SecretAccessKey, err = read(ref.SecretAccessKey); err != nil {
			return nil, err
		}
		if ref.SessionToken != nil {
			if creds.SessionToken, err = read(*ref.SessionToken); err != nil {
				return nil, err
			}
		}
		cfg.Credentials = &creds
	}
	return r.providers.Provider(ctx, cfg)
}

// webIdentity is auth.jwt: the role in the service account's IRSA
// annotation, and tokens for that service account from the TokenRequest API,
// fetched each time STS credentials are renewed.
func (r *Reconciler) webIdentity(ctx context.Context, st *render.SecretStore, sa *render.ServiceAccountSelector) (*aws.WebIdentity, error) {
	ns := sa.Namespace
	if ns == "" {
		ns = st.Namespace
	}
	acct, err := r.kube.CoreV1().ServiceAccounts(ns).Get(ctx, sa.Name, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("read service account %s/%s for jwt auth: %w", ns, sa.Name, err)
	}
	role := acct.Annotations[irsaAnnotation]
	if role == "" {
		return nil, fmt.Errorf("service account %s/%s has no %s annotation naming the role to assume", ns, sa.Name, irsaAnnotation)
	}
	audiences := sa.Audiences
	if len(audiences) == 0 {
		audiences = []string{"sts.amazonaws.com"}
	}
	kube := r.kube
	token := func() ([]byte, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		expiry := int64(600)
		tr, err := kube.CoreV1().ServiceAccounts(ns).CreateToken(ctx, sa.Name, &authv1.TokenRequest{
			Spec: authv1.TokenRequestSpec{Audiences: audiences, ExpirationSeconds: &expiry}}, metav1.CreateOptions{})
		if err != nil {
			return nil, fmt.Errorf("token request for service account %s/%s: %w", ns, sa.Name, err)
		}
		return []byte(tr.Status.Token), nil
	}
	return &aws.WebIdentity{RoleARN: role, Subject: "serviceaccount:" + ns + "/" + sa.Name, Token: token}, nil
}

// irsaAnnotation names the IAM role of a service account, as EKS IRSA does.
const irsaAnnotation = "eks.amazonaws.com/role-arn"
