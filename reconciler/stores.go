package reconciler

import (
	"context"

	"github.com/secretsync/secretsync/cluster"
	"github.com/secretsync/secretsync/providers"
	"github.com/secretsync/secretsync/render"
)

// provider builds the provider for a store serving ExternalSecrets of
// namespace serving ("" unless the store is render.Referent); its auth
// reads the cluster through the store's own scope.
func (r *Reconciler) provider(ctx context.Context, st *render.SecretStore, serving string) (providers.Provider, error) {
	return r.providers.ForStore(ctx, st, r.scoped(render.AskerServing(st, serving)))
}

// scoped is the cluster as one manifest object sees it (cluster.Scoped),
// learning into the running pass's redactor.
func (r *Reconciler) scoped(a render.Asker) cluster.Scoped {
	return cluster.NewScoped(r.kube, a, r.scrub)
}
