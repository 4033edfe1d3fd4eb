package pushsecret

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/secretsync/secretsync/cluster"
	"github.com/secretsync/secretsync/desired"
	"github.com/secretsync/secretsync/generators"
	"github.com/secretsync/secretsync/internal/scrub"
	"github.com/secretsync/secretsync/inventory"
	"github.com/secretsync/secretsync/providers"
	"github.com/secretsync/secretsync/render"
)

// pushPlan is what one PushSecret writes this pass, decided before any
// write: its entries (values included), a digest of its spec and of them,
// and the versions of the Secrets read (Due reads them again).
type pushPlan struct {
	entries  []desired.PushEntry
	sum      [32]byte
	versions string
	err      error
	// generator is the generator state the entries' values come from; kept
	// says its values are already pushed and not due: nothing to write.
	generator string
	kept      bool
	// synced is the digest of what it pushes, values aside (syncedOf);
	// sourced says its sources were read, or tried (Due reads them again);
	// waits says it backs off (state.waiting), decided before its
	// generator ran.
	synced  string
	sourced bool
	waits   bool
}

// plan reads ps's sources through its scope, applies its template and
// decides its writes (desired.PushEntries). It asks nothing of AWS.
func (r *run) plan(ctx context.Context, ps *render.PushSecret, gens map[desired.GeneratorKey]*render.Generator,
	nsLabels desired.NamespaceLabels, old []inventory.PushRow) pushPlan {
	stores := r.stores
	// Refused before any source is read: its spec and stores alone.
	refused := func(err error) pushPlan { return pushPlan{err: err, synced: syncedOf(ps, stores, "", "")} }
	if probs := desired.PushProblems(ps, stores, desired.Options{Namespaces: r.cfg.Namespaces, NamespaceLabels: nsLabels, OwnNamespaces: r.cfg.OwnNamespaces}); len(probs) > 0 {
		// One line, so a table row, an Event and a log line each hold every problem.
		msgs := make([]string, len(probs))
		for i, p := range probs {
			msgs[i] = p.Error()
		}
		return refused(errors.New(strings.Join(msgs, "; ")))
	}
	g, err := desired.PushGenerator(ps, gens)
	if err != nil {
		return refused(err)
	}
	var srcs []desired.PushSource
	var versions, generator string
	if g != nil {
		generator = g.Kind + "/" + g.Name + "@" + generators.Digest(g)
		synced := syncedOf(ps, stores, generatedVersion, generator)
		if keptGenerated(ps, stores, old, generator, r.cfg.Now()) {
			return pushPlan{kept: true, generator: generator, versions: generatedVersion, synced: synced, sourced: true}
		}
		if r.states[ps.ID()].waiting(synced, r.cfg.Now()) {
			return pushPlan{waits: true, generator: generator, versions: generatedVersion, synced: synced, sourced: true}
		}
		srcs, err = r.generatedSource(ctx, g)
		versions = generatedVersion
	} else {
		srcs, versions, err = r.sources(ctx, ps, r.Redactor)
	}
	synced := syncedOf(ps, stores, versions, generator)
	if err != nil {
		return pushPlan{err: err, versions: versions, synced: synced, sourced: true}
	}
	fail := func(err error) pushPlan { return pushPlan{err: err, versions: versions, synced: synced, sourced: true} }
	if err := r.template(ctx, ps, srcs); err != nil {
		return fail(err)
	}
	entries, err := desired.PushEntries(ps, stores, srcs, r.rewrites)
	if err != nil {
		return fail(err)
	}
	h := sha256.New()
	spec, _ := json.Marshal(ps.Spec)
	h.Write(spec)
	for _, e := range entries {
		r.Redactor.Add(e.Value.Bytes())
		fmt.Fprintf(h, "\x00%s\x00%s\x00%s\x00%s\x00%d\x00", e.Field, e.Store, e.RemoteKey, e.Property, len(e.Value.Bytes()))
		h.Write(e.Value.Bytes())
	}
	p := pushPlan{entries: entries, versions: versions, generator: generator, synced: synced, sourced: true}
	h.Sum(p.sum[:0])
	return p
}

// syncedOf is a digest of what a PushSecret pushes, values aside: its
// spec, the specs of the stores it selects, its generator's (kind, name,
// spec digest) and its sources' names and resourceVersions. Rows record
// it (PushRow.Synced): none of it is a value.
func syncedOf(ps *render.PushSecret, stores map[desired.StoreKey]*render.SecretStore, versions, generator string) string {
	h := sha256.New()
	spec, _ := json.Marshal(ps.Spec)
	h.Write(spec)
	for _, k := range desired.PushStores(ps, stores) {
		var st []byte
		if stores[k] != nil {
			st, _ = json.Marshal(stores[k].Spec)
		}
		fmt.Fprintf(h, "\x00%s\x00%s", k, st)
	}
	fmt.Fprintf(h, "\x00%s\x00%s", generator, versions)
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// template applies ps's template, if any, to each source in place: ESO's
// engine over each, as an ExternalSecret's target template, with the same
// functions and the same budget.
func (r *run) template(ctx context.Context, ps *render.PushSecret, srcs []desired.PushSource) error {
	t := ps.Spec.Template
	if t == nil {
		return nil
	}
	es := &render.ExternalSecret{Meta: ps.Meta, Spec: render.ExternalSecretSpec{Target: render.Target{Template: t}}}
	for i, src := range srcs {
		data := make(map[string]providers.Value, len(src.Data))
		for k, v := range src.Data {
			data[k] = providers.NewValue(v)
		}
		shaped, err := desired.ApplyTemplate(ctx, es, data, cluster.NewScoped(r.cfg.Kube, asker(ps), r.Redactor))
		if err == nil {
			err = keyMadeOfAValue(t, src.Data, shaped.Data)
		}
		if err != nil {
			return fmt.Errorf("spec.template over Secret %s: %w", src.Name, err)
		}
		srcs[i].Data = make(map[string][]byte, len(shaped.Data))
		for k, v := range shaped.Data {
			r.Redactor.Add(v.Bytes())
			srcs[i].Data[k] = v.Bytes()
		}
	}
	return nil
}

// keyMadeOfAValue refuses a key the template rendered (neither written in
// its data nor the source's) that holds a value of the source: a pushed
// key becomes a remote secret's name, an Event's text and an inventory row,
// none of them secret. The error names neither key nor value.
func keyMadeOfAValue(t *render.Template, src map[string][]byte, shaped map[string]providers.Value) error {
	for k := range shaped {
		if _, written := t.Data[k]; written {
			continue
		}
		if _, kept := src[k]; kept {
			continue
		}
		for _, v := range src {
			if len(v) >= scrub.MinLen && strings.Contains(k, string(v)) {
				return errors.New("a key it renders holds a value of the Secret; keys become remote names, which are not secret")
			}
		}
	}
	return nil
}

func asker(ps *render.PushSecret) render.Asker {
	return render.Asker{Kind: render.KindPushSecret, Namespace: ps.Namespace, Name: ps.Name}
}

// sources reads the Secrets ps pushes from, in its own namespace through
// its scope, teaching red their values: the one selector.secret names, or
// every one its label selector matches (none is an error: a label that
// matches nothing must not read as "push nothing", which would let prune
// delete). It returns them in name order, with their names and
// resourceVersions.
func (p *Pusher) sources(ctx context.Context, ps *render.PushSecret, red *scrub.Redactor) ([]desired.PushSource, string, error) {
	sel := ps.Spec.Selector.Secret
	c := cluster.NewScoped(p.cfg.Kube, asker(ps), red)
	var found []corev1.Secret
	if sel.Selector == nil {
		src, err := c.SecretObject(ctx, "", sel.Name)
		if apierrors.IsNotFound(err) {
			return nil, "", fmt.Errorf("source Secret %s/%s not found", ps.Namespace, sel.Name)
		}
		if err != nil {
			return nil, "", fmt.Errorf("read source Secret %s/%s: %w", ps.Namespace, sel.Name, err)
		}
		found = []corev1.Secret{*src}
	} else {
		list, err := c.Secrets(ctx, sel.Selector)
		if err != nil {
			return nil, "", fmt.Errorf("list the source Secrets of spec.selector.secret.selector in %s: %w", ps.Namespace, err)
		}
		if len(list) == 0 {
			return nil, "", fmt.Errorf("spec.selector.secret.selector matches no Secret in %s", ps.Namespace)
		}
		found = list
	}
	slices.SortFunc(found, func(a, b corev1.Secret) int { return strings.Compare(a.Name, b.Name) })
	out := make([]desired.PushSource, 0, len(found))
	var versions strings.Builder
	for _, s := range found {
		// A cluster credential never leaves the cluster, as secretsync never
		// writes one (render.PrivilegedSecret): a repo writer who cannot read
		// the namespace's Secrets must not copy its tokens out to AWS.
		if t := s.Type; t == corev1.SecretTypeServiceAccountToken || t == corev1.SecretTypeBootstrapToken {
			return nil, "", fmt.Errorf("source Secret %s/%s is refused: its type %s holds a credential to this cluster, which secretsync never pushes", ps.Namespace, s.Name, t)
		}
		for _, v := range s.Data {
			red.Add(v)
		}
		out = append(out, desired.PushSource{Name: s.Name, Data: s.Data})
		fmt.Fprintf(&versions, "%s=%s,", s.Name, s.ResourceVersion)
	}
	return out, versions.String(), nil
}

// sourceVersions reads ps's sources' names and resourceVersions again, as
// sources read them, for Due; an error reads as changed.
func (p *Pusher) sourceVersions(ctx context.Context, ps *render.PushSecret, red *scrub.Redactor) string {
	if ps.Spec.Selector.Secret == nil {
		return generatedVersion
	}
	_, v, err := p.sources(ctx, ps, red)
	if err != nil {
		return ""
	}
	return v
}

// generatedVersion stands for a generator's source, which has no version:
// its values change only by its spec or refresh (keptGenerated).
const generatedVersion = "generated"

// generatedSource runs the generator a PushSecret pushes from, under the
// budget (Config.Generate), as one source.
func (r *run) generatedSource(ctx context.Context, g *render.Generator) ([]desired.PushSource, error) {
	kv, err := r.cfg.Generate(ctx, g)
	if err != nil {
		return nil, fmt.Errorf("generator %s/%s: %w", g.Kind, g.Name, err)
	}
	data := make(map[string][]byte, len(kv))
	for k, v := range kv {
		r.Redactor.Add(v.Bytes())
		data[k] = v.Bytes()
	}
	return []desired.PushSource{{Name: "generator " + g.Kind + "/" + g.Name, Data: data}}, nil
}

// keptGenerated reports whether a PushSecret's generated values are in
// AWS and not due, so that it is not run again: every row pushed them
// from this generator spec without error, rows cover every remote secret
// Git names for it, and none was written more than refreshInterval ago
// (none for 0). The values are kept in AWS only, as an ExternalSecret's
// in its Secret: a restart, or a pass with nothing due, makes no new one.
func keptGenerated(ps *render.PushSecret, stores map[desired.StoreKey]*render.SecretStore, old []inventory.PushRow, generator string, now time.Time) bool {
	if len(old) == 0 {
		return false
	}
	have := map[string]bool{}
	interval := intervalOf(ps)
	for _, row := range old {
		if row.Generator != generator || !row.Ready || row.LastPush != nil && refreshDue(interval, row.LastPush.Time, now) {
			return false
		}
		have[row.Store+"\x00"+row.RemoteKey] = true
	}
	for _, rm := range desired.StaticRemotes(ps, stores) {
		if !have[rm.Store.String()+"\x00"+rm.RemoteKey] {
			return false
		}
	}
	return true
}
