package reconciler

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/secretsync/secretsync/cluster"
	"github.com/secretsync/secretsync/desired"
	"github.com/secretsync/secretsync/drift"
	"github.com/secretsync/secretsync/fetch"
	"github.com/secretsync/secretsync/generators"
	"github.com/secretsync/secretsync/plan"
	"github.com/secretsync/secretsync/render"
)

// desiredSecret is one Secret to apply, with the ExternalSecret behind it.
// A reused one had no values fetched: the live Secret already holds them.
type desiredSecret struct {
	es      *render.ExternalSecret
	target  plan.Target
	secret  *corev1.Secret
	shape   *drift.Shape // nil when gone
	hash    string
	version plan.Version
	// prior is a reused ExternalSecret's state, kept as it is.
	prior  *esState
	reused bool
	// gone: deletionPolicy Delete and every remote source is gone.
	gone bool
	// retained: deletionPolicy Retain and the sources gave no data; the
	// Secret is kept as it is (hash is its live one, for rollout).
	retained bool
}

// retain is an ExternalSecret whose Secret is kept as it is
// (desired.ErrRetained), carrying the live Secret's content hash.
func (r *Reconciler) retain(ctx context.Context, es *render.ExternalSecret, t plan.Target, live *drift.Live, merged map[plan.Target]*corev1.Secret, version plan.Version) desiredSecret {
	d := desiredSecret{es: es, target: t, version: version, retained: true}
	if !desired.Merges(es) {
		if s, _ := live.Get(ctx, t); s != nil { // an error is the apply's to report
			d.hash = s.Annotations[AnnotationDataHash]
		}
	} else if s := merged[t]; s != nil {
		d.hash = s.Annotations[plan.MergeKey(esID(es))]
	}
	return d
}

// desired resolves every reference once and yields the Secrets to build,
// part by part: while the caller works on one part, the next part's values
// are fetched. It writes nothing. An ExternalSecret that is in Git but
// fails is marked failed in its outcome: its Secret is kept as it is and
// never pruned. The caller must range over every part.
//
// trusted says the drift watch has seen every change of this instance's
// Secrets since the last pass: reuse then needs no read of them.
func (r *Reconciler) desired(ctx context.Context, set *render.Set, revision string, live *drift.Live, merged map[plan.Target]*corev1.Secret, force, trusted bool, res *Result) iter.Seq[[]desiredSecret] {
	return func(yield func([]desiredSecret) bool) {
		r.yieldDesired(ctx, set, revision, live, merged, force, trusted, res, yield)
	}
}

// resolving is what one pass's desired shares while it resolves: its
// inputs, the indexes of stores and generators, and the references found.
type resolving struct {
	r              *Reconciler
	ctx            context.Context
	set            *render.Set
	revision       string
	live           *drift.Live
	merged         map[plan.Target]*corev1.Secret
	force, trusted bool
	res            *Result
	stores         map[desired.StoreKey]*render.SecretStore
	gens           map[desired.GeneratorKey]*render.Generator
}

// fail records an ExternalSecret's failure in its outcome.
func (z *resolving) fail(es *render.ExternalSecret, reason Reason, err error) {
	z.res.Failed++
	err = fmt.Errorf("externalsecret %s/%s (%s): %w", es.Namespace, es.Name, es.Source, err)
	class := errorClass(reason, err)
	err = z.res.fail(reason, err)
	o := z.res.outcome(esID(es))
	o.failed, o.err, o.class = true, err, class
}

// partSize is how many ExternalSecrets to fetch are resolved together
// (fetch.Split). A pass applies one part while it fetches the next, so a
// cold pass takes about as long as its slower half rather than the sum.
var partSize = 500 // a variable so that tests can make parts small

func (r *Reconciler) yieldDesired(ctx context.Context, set *render.Set, revision string, live *drift.Live, merged map[plan.Target]*corev1.Secret, force, trusted bool, res *Result,
	yield func([]desiredSecret) bool) {
	z := &resolving{r: r, ctx: ctx, set: set, revision: revision, live: live, merged: merged, force: force, trusted: trusted, res: res,
		stores: desired.IndexStores(set), gens: desired.IndexGenerators(set)}
	fresh, reused := z.sortOut()
	// Each part takes its own ExternalSecrets' references and specs, and
	// lets them go when it is done: past this point nothing holds those of
	// the whole set.
	f := fetch.New(z.stores, r.provider, r.scrub, r.now)
	parts := fetch.Parts(ctx, f, fetch.Split(reused, func(d desiredSecret) plan.Target { return d.target }, fresh, partSize))
	for p := range parts {
		res.FetchTime += p.FetchTime
		out := p.Reused
		for _, f := range p.Fresh {
			if d, ok := z.build(f, p); ok {
				out = append(out, d)
			}
		}
		if !yield(refuseSharedKeys(out, z.fail)) {
			for range parts { // let the fetch of later parts end
			}
			return
		}
	}
}

// sortOut compiles the set and splits its ExternalSecrets into those whose
// values must be fetched and those reused as their targets hold them; it
// rebuilds the AWS event index on the way.
func (z *resolving) sortOut() (fresh []fetch.Pending, reused []desiredSecret) {
	r, ctx, live, merged := z.r, z.ctx, z.live, z.merged
	var remotes desired.RemoteIndex
	c := desired.NewCompiler(z.set, desired.Options{Namespaces: r.cfg.Namespaces, NamespaceLabels: cluster.NamespaceLabels(ctx, r.kube), OwnNamespaces: r.cfg.OwnNamespaces})
	// In namespace order, so that the live targets read to check reuse can
	// go namespace by namespace; each compiled as it is reached, so that
	// the references of those reused are let go at once.
	ordered := slices.Clone(z.set.ExternalSecrets)
	slices.SortStableFunc(ordered, func(a, b *render.ExternalSecret) int { return strings.Compare(a.Namespace, b.Namespace) })
	for _, es := range ordered {
		it := c.Item(es)
		t := target(es)
		live.Passed(t.Namespace)
		if len(it.Problems) > 0 {
			var err error = it.Problems[0]
			for _, p := range it.Problems[1:] {
				err = fmt.Errorf("%w; %w", err, p)
			}
			z.fail(es, ResolveFailed, err)
			continue
		}
		remotes.Add(es, it.Entries, z.stores)
		version := plan.VersionOf(es)
		holds := func(st *esState) bool {
			if st.shape == nil { // restored
				return r.vouch(ctx, st, es, t, live, merged)
			}
			if desired.Merges(es) {
				return st.shape.Matches(merged[t], st.hash)
			}
			if z.trusted && t.Kind == "" {
				return true // the watch sees our labelled Secrets, not ConfigMaps
			}
			s, _ := live.Get(ctx, t) // an error is the apply's to report
			return st.shape.Matches(s, st.hash)
		}
		// ESO skips a refresh that is not due while the target is valid;
		// holds is asked last, as only such an ExternalSecret needs its
		// target read.
		if st := r.state(es); desired.CreationPolicy(es) != desired.PolicyNone && !r.fetchDue(st, es, version, z.force) && holds(st) {
			reused = append(reused, desiredSecret{es: es, target: t, shape: st.shape, hash: st.hash, version: st.version, prior: st, reused: true})
			continue
		}
		fresh = append(fresh, fetch.Pending{ES: es, Refs: it.Entries, Version: version})
	}
	remotes.Sort()
	r.remotes = remotes // Pass holds r.mu
	return fresh, reused
}

// build makes one fetched ExternalSecret's desired Secret from its part's
// values; ok false means it failed (recorded in its outcome).
func (z *resolving) build(f fetch.Pending, p *fetch.Part[desiredSecret]) (d desiredSecret, ok bool) {
	r, es, refs := z.r, f.ES, f.Refs
	t := target(es)
	gen, genNote, err := r.generate(z.ctx, es, refs, z.live, z.gens)
	for _, kv := range gen {
		for _, v := range kv {
			r.scrub.Add(v.Bytes())
		}
	}
	if err != nil {
		z.fail(es, ResolveFailed, err)
		return d, false
	}
	data, err := p.Data(f, gen)
	for _, v := range data {
		r.scrub.Add(v.Bytes())
	}
	switch {
	case errors.Is(err, desired.ErrAllGone):
		z.res.outcome(esID(es)).fetched = true
		return desiredSecret{es: es, target: t, version: f.Version, gone: true}, true
	case errors.Is(err, desired.ErrRetained):
		z.res.outcome(esID(es)).fetched = true
		return r.retain(z.ctx, es, t, z.live, z.merged, f.Version), true
	case err != nil:
		z.fail(es, ResolveFailed, err)
		return d, false
	}
	content, err := desired.ApplyTemplate(z.ctx, es, data, r.scoped(render.AskerFor(es)))
	if err != nil {
		z.fail(es, ResolveFailed, err)
		return d, false
	}
	learnShaped(r.scrub, es, content)
	if err := generators.KeptAsMade(refs, z.gens, gen, content.Data); err != nil {
		z.fail(es, ResolveFailed, err)
		return d, false
	}
	// Our state annotations are ours alone: a template (or, without one,
	// the ExternalSecret's own annotations) cannot mark the Secret
	// orphaned, which prune would then never delete, nor forge a
	// generator's record.
	delete(content.Annotations, AnnotationOrphaned)
	delete(content.Annotations, generators.Annotation)
	if genNote != "" {
		content.Annotations[generators.Annotation] = genNote
	}
	z.res.Resolved++
	o := z.res.outcome(esID(es))
	o.resolved, o.fetched, o.versions = true, true, p.Versions(f)
	if desired.Merges(es) {
		raw := make(map[string][]byte, len(content.Data))
		for k, v := range content.Data {
			raw[k] = v.Bytes()
		}
		d = r.buildMerge(es, t, raw)
	} else {
		d = r.build(es, t, content, z.revision)
	}
	d.version = f.Version
	return d, true
}

// refuseSharedKeys fails every writer of a key that two ExternalSecrets
// write into one Secret (plan.SharedKeys).
func refuseSharedKeys(out []desiredSecret, fail func(*render.ExternalSecret, Reason, error)) []desiredSecret {
	writers := make([]plan.Writer, 0, len(out))
	for _, d := range out {
		if d.shape != nil {
			writers = append(writers, plan.Writer{Target: d.target, ExternalSecret: esID(d.es), Source: d.es.Source, Keys: d.shape.Keys()})
		}
	}
	bad := plan.SharedKeys(writers)
	if len(bad) == 0 {
		return out
	}
	var kept []desiredSecret
	for _, d := range out {
		if msg, ok := bad[esID(d.es)]; ok {
			fail(d.es, ResolveFailed, errors.New(msg))
			continue
		}
		kept = append(kept, d)
	}
	return kept
}

// build makes the whole Secret an owning ExternalSecret applies: the
// template's type, labels and annotations, then ours, which win.
func (r *Reconciler) build(es *render.ExternalSecret, t plan.Target, c desired.Shaped, revision string) desiredSecret {
	raw := make(map[string][]byte, len(c.Data))
	for k, v := range c.Data {
		raw[k] = v.Bytes()
	}
	s := &corev1.Secret{Data: raw}
	if t.Kind == "" {
		s.Type = corev1.SecretType(c.Type) // a ConfigMap has none
	}
	s.Name, s.Namespace = t.Name, t.Namespace
	s.Labels = desired.CopyMap(c.Labels)
	for k, v := range r.labels() {
		s.Labels[k] = v
	}
	s.Annotations = desired.CopyMap(c.Annotations)
	s.Annotations[AnnotationSource] = es.Source
	s.Annotations[AnnotationExternalSecret] = es.Namespace + "/" + es.Name
	if desired.CreationPolicy(es) == desired.PolicyOrphan {
		s.Annotations[AnnotationOrphaned] = "true"
	}
	if es.Spec.Target.Immutable {
		s.Immutable = &es.Spec.Target.Immutable
	}
	sh := drift.ShapeOf(s, AnnotationDataHash, true)
	hash := sh.Hash(s)
	s.Annotations[AnnotationDataHash] = hash
	s.Annotations[AnnotationRevision] = revision
	return desiredSecret{es: es, target: t, secret: s, shape: sh, hash: hash}
}
