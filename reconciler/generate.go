package reconciler

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"

	"github.com/secretsync/secretsync/desired"
	"github.com/secretsync/secretsync/drift"
	"github.com/secretsync/secretsync/generators"
	"github.com/secretsync/secretsync/plan"
	"github.com/secretsync/secretsync/providers"
	"github.com/secretsync/secretsync/render"
)

// generate returns the values of es's generator entries, by entry field,
// and the annotation that records them (generators.Keep), reading the
// Secret they are kept in through es's scope.
func (r *Reconciler) generate(ctx context.Context, es *render.ExternalSecret, entries []desired.Entry, targets *drift.Live,
	gens map[desired.GeneratorKey]*render.Generator) (map[string]map[string]providers.Value, string, error) {
	if !generators.Used(entries) {
		return nil, "", nil
	}
	t := target(es)
	_, err := render.AskerFor(es).Scope(t.Namespace)
	var live *corev1.Secret
	if err == nil {
		live, err = targets.Get(ctx, t)
	}
	if err != nil {
		return nil, "", fmt.Errorf("read the secret its generated values are kept in: %w", err)
	}
	return generators.Keep(ctx, generators.Kept{Entries: entries, Generators: gens, Live: live,
		Refresh: plan.Refresh{Policy: es.Spec.RefreshPolicy, Interval: r.interval(es)}, Now: r.now(), Run: r.runGenerator})
}

func (r *Reconciler) runGenerator(ctx context.Context, g *render.Generator) (map[string]providers.Value, error) {
	if generators.Local(g.Kind) {
		return generators.Generate(ctx, g)
	}
	if rg, ok := r.providers.(providers.Generators); ok {
		return rg.Generate(ctx, g, r.scoped(render.AskerOfGenerator(g)))
	}
	return nil, errors.New("no provider runs this generator")
}
