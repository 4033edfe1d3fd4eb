package main

import (
	"context"
	"errors"

	"github.com/secretsync/secretsync/desired"
	"github.com/secretsync/secretsync/providers"
	"github.com/secretsync/secretsync/providers/aws"
	"github.com/secretsync/secretsync/render"
	"github.com/secretsync/secretsync/review"
)

// remoteOwner answers review.CheckRemotePushes for the stores of set with
// the AWS default credential chain (plan has no cluster to read store
// credentials from): existence, the managed-by tag and a scheduled
// deletion, never a value.
func remoteOwner(ctx context.Context, set *render.Set, f *aws.Factory) review.OwnerFunc {
	stores := map[string]*render.SecretStore{}
	for k, st := range desired.IndexStores(set) {
		stores[k.String()] = st
	}
	return func(store, key string) (providers.Remote, error) {
		st := stores[store]
		if st == nil || st.Spec.Provider.AWS == nil {
			return providers.Remote{}, errors.New("the store is not an AWS store of the head")
		}
		a := st.Spec.Provider.AWS
		p, err := f.Provider(ctx, aws.Store{Service: desired.Service(st), Region: a.Region, Prefix: a.Prefix})
		if err != nil {
			return providers.Remote{}, err
		}
		o, ok := p.(providers.Owner)
		if !ok {
			return providers.Remote{}, errors.New("the store's service takes no push")
		}
		return o.Owner(ctx, p.Canonical(providers.Ref{Key: key}).Key)
	}
}
