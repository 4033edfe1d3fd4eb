package providers

import (
	"context"

	"github.com/secretsync/secretsync/render"
)

// Factory makes the provider of one store and counts the calls its
// providers make; *aws.Factory is one. The reconciler knows no provider by
// name: a second provider is a second Factory.
type Factory interface {
	// ForStore makes the provider that serves st, reading what its auth
	// names from the cluster.
	ForStore(ctx context.Context, st *render.SecretStore, cluster Cluster) (Provider, error)
	// CallCounts counts remote calls by "<operation> <outcome>" since the
	// factory was made.
	CallCounts() map[string]int64
	// CostPer10k is what 10,000 remote calls cost, in USD.
	CostPer10k() float64
}

// Cluster is what a store's or generator's auth may read from the cluster.
// The reconciler hands each a Cluster bound to that object's scope
// (render.Asker.Scope): a namespace it may not read is refused before any
// request, whatever the provider asks.
type Cluster interface {
	// Namespace is the namespace a reference naming named ("" for none)
	// reads: the asker's own, or for a ClusterSecretStore the one named,
	// else that of the ExternalSecret it serves.
	Namespace(named string) (string, error)
	// SecretValue is one key of a Secret (auth.secretRef).
	SecretValue(ctx context.Context, namespace, name, key string) (Value, error)
	// ServiceAccountAnnotation is one annotation of a service account.
	ServiceAccountAnnotation(ctx context.Context, namespace, name, annotation string) (string, error)
	// ServiceAccountToken returns a source of fresh tokens for a service
	// account, for the given audiences (auth.jwt).
	ServiceAccountToken(namespace, name string, audiences []string) func() ([]byte, error)
}

// Generators is a Factory that runs the generators of its remote service
// (the AWS factory: ECRAuthorizationToken).
type Generators interface {
	// Generate returns a generator's values by output key.
	Generate(ctx context.Context, g *render.Generator, cluster Cluster) (map[string]Value, error)
}
