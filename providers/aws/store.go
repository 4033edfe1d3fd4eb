package aws

import (
	"context"
	"fmt"

	"github.com/secretsync/secretsync/providers"
	"github.com/secretsync/secretsync/providers/aws/awsservice"
	"github.com/secretsync/secretsync/render"
)

var (
	_ providers.Factory   = (*Factory)(nil)
	_ providers.Provider  = (*provider)(nil)
	_ providers.Finder    = (*provider)(nil)
	_ providers.Describer = (*provider)(nil)
	_ providers.Provider  = (*kmsProvider)(nil)
	_ providers.Provider  = (*ssmProvider)(nil)
	_ providers.Finder    = (*ssmProvider)(nil)
	_ providers.Provider  = (*acmProvider)(nil)
)

// irsaAnnotation names the IAM role of a service account, as EKS IRSA does.
const irsaAnnotation = "eks.amazonaws.com/role-arn"

// ForStore makes the provider of a store's spec.provider.aws, reading the
// static credentials its auth.secretRef names, or the role and tokens of
// the service account its auth.jwt names, from the cluster.
func (f *Factory) ForStore(ctx context.Context, st *render.SecretStore, cluster providers.Cluster) (providers.Provider, error) {
	cfg, err := storeConfig(ctx, st.Spec.Provider.AWS, cluster, st.Name, st.Kind)
	if err != nil {
		return nil, err
	}
	if r := st.Spec.RetrySettings; r != nil {
		cfg.Retry = &Retry{MaxAttempts: r.Attempts(), Interval: r.Interval()}
	}
	return f.Provider(ctx, cfg)
}

// storeConfig is a provider.aws block's settings, with the credentials its
// auth names read from the cluster, each in the namespace the cluster's
// scope gives it (a referent store's: the served ExternalSecret's); name
// and kind are the store's, for sessionTagsPolicy.
func storeConfig(ctx context.Context, a *render.AWSProvider, cluster providers.Cluster, name, kind string) (Store, error) {
	cfg := Store{Service: awsservice.Service(a.Service), Region: a.Region, Prefix: a.Prefix, KMSKeyID: a.KMSKeyID,
		Role: a.Role, AdditionalRoles: a.AdditionalRoles, ExternalID: a.ExternalID, TransitiveTagKeys: a.TransitiveTagKeys}
	if sm := a.SecretsManager; sm != nil {
		cfg.ForceDeleteWithoutRecovery, cfg.RecoveryWindowInDays = sm.ForceDeleteWithoutRecovery, sm.RecoveryWindowInDays
	}
	served := ""
	if a.TagsByPolicy() {
		// esoNamespace: a SecretStore's own, a ClusterSecretStore's served
		// ExternalSecret's (render.Referent makes one provider each).
		ns, err := cluster.Namespace("")
		if err != nil {
			return Store{}, fmt.Errorf("sessionTagsPolicy %s: %w", a.SessionTagsPolicy, err)
		}
		served = ns
	}
	cfg.SessionTags = a.SessionTagsFor(served, name, kind)
	if j := a.Auth.JWT; j != nil {
		sa := j.ServiceAccountRef
		ns, err := cluster.Namespace(sa.Namespace)
		if err != nil {
			return Store{}, fmt.Errorf("service account %s for jwt auth: %w", sa.Name, err)
		}
		role, err := cluster.ServiceAccountAnnotation(ctx, ns, sa.Name, irsaAnnotation)
		if err != nil {
			return Store{}, fmt.Errorf("read service account %s/%s for jwt auth: %w", ns, sa.Name, err)
		}
		if role == "" {
			return Store{}, fmt.Errorf("service account %s/%s has no %s annotation naming the role to assume", ns, sa.Name, irsaAnnotation)
		}
		audiences := sa.Audiences
		if len(audiences) == 0 {
			audiences = []string{"sts.amazonaws.com"}
		}
		cfg.WebIdentity = &WebIdentity{RoleARN: role, Subject: "serviceaccount:" + ns + "/" + sa.Name, Token: cluster.ServiceAccountToken(ns, sa.Name, audiences)}
	}
	if ref := a.Auth.SecretRef; ref != nil {
		read := func(sel render.SecretKeySelector) (providers.Value, error) {
			ns, err := cluster.Namespace(sel.Namespace)
			if err != nil {
				return providers.Value{}, fmt.Errorf("credentials secret %s: %w", sel.Name, err)
			}
			return cluster.SecretValue(ctx, ns, sel.Name, sel.Key)
		}
		var creds Credentials
		var err error
		if creds.AccessKeyID, err = read(ref.AccessKeyID); err != nil {
			return Store{}, err
		}
		if creds.SecretAccessKey, err = read(ref.SecretAccessKey); err != nil {
			return Store{}, err
		}
		if ref.SessionToken != nil {
			if creds.SessionToken, err = read(*ref.SessionToken); err != nil {
				return Store{}, err
			}
		}
		cfg.Credentials = &creds
	}
	return cfg, nil
}

// CallCounts is Calls().Snapshot(), for providers.Factory.
func (f *Factory) CallCounts() map[string]int64 { return f.calls.Snapshot() }

// CostPer10k is PricePer10k, for providers.Factory.
func (f *Factory) CostPer10k() float64 { return PricePer10k }
