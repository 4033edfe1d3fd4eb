package pushsecret

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/secretsync/secretsync/cluster"
	"github.com/secretsync/secretsync/desired"
	"github.com/secretsync/secretsync/generators"
	"github.com/secretsync/secretsync/internal/scrub"
	"github.com/secretsync/secretsync/inventory"
	"github.com/secretsync/secretsync/providers"
	"github.com/secretsync/secretsync/providers/aws/awsservice"
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
	// policies are the resource policy texts the entries' metadata names
	// (policy.go), by source.
	policies map[awsservice.PolicySource]string
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
	policies, policySum, err := r.policies(ctx, ps, entries)
	if err != nil {
		return fail(err)
	}
	if policySum != "" {
		// A changed policy is pushed as a changed source is: synced and sum differ.
		synced = syncedOf(ps, stores, versions+"\x00policies:"+policySum, generator)
	}
	h := sha256.New()
	spec, _ := json.Marshal(ps.Spec)
	h.Write(spec)
	h.Write([]byte(policySum))
	// The stores' specs too: a prefix that moves changes the names written.
	writeStores(h, ps, stores)
	for _, e := range entries {
		r.Redactor.Add(e.Value.Bytes())
		fmt.Fprintf(h, "\x00%s\x00%s\x00%s\x00%s\x00%d\x00", e.Field, e.Store, e.RemoteKey, e.Property, len(e.Value.Bytes()))
		h.Write(e.Value.Bytes())
	}
	p := pushPlan{entries: entries, versions: versions, generator: generator, synced: synced, sourced: true, policies: policies}
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
	writeStores(h, ps, stores)
	fmt.Fprintf(h, "\x00%s\x00%s", generator, versions)
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// writeStores writes the keys and specs of the stores ps selects to h.
func writeStores(h io.Writer, ps *render.PushSecret, stores map[desired.StoreKey]*render.SecretStore) {
	for _, k := range desired.PushStores(ps, stores) {
		var st []byte
		if stores[k] != nil {
			st, _ = json.Marshal(stores[k].Spec)
		}
		fmt.Fprintf(h, "\x00%s\x00%s", k, st)
	}
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
	scoped := cluster.NewScoped(r.cfg.Kube, asker(ps), r.Redactor)
	for i, src := range srcs {
		shaped, err := desired.ApplyTemplate(ctx, es, valuesOf(src.Data), scoped)
		if err == nil && rendersNewKeys(t, src.Data, shaped.Data) {
			err = keysMadeOfValues(ctx, es, src.Data, shaped.Data, scoped)
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

func valuesOf(data map[string][]byte) map[string]providers.Value {
	out := make(map[string]providers.Value, len(data))
	for k, v := range data {
		out[k] = providers.NewValue(v)
	}
	return out
}

// rendersNewKeys reports whether the template rendered a key that is
// neither written in its data nor one of the source's: only such a key
// (from templateFrom) can be made of a value.
func rendersNewKeys(t *render.Template, src map[string][]byte, shaped map[string]providers.Value) bool {
	for k := range shaped {
		_, written := t.Data[k]
		_, kept := src[k]
		if !written && !kept {
			return true
		}
	}
	return false
}

// keysMadeOfValues renders the template a second time over stand-in values
// (the same keys, every letter and digit of each value changed) and
// refuses it when the keys differ: a key that changes with the values is
// made of them, whole, encoded or cut (b64enc, upper, printf, substr), and
// a pushed key becomes a remote secret's name, an Event's text and an
// inventory row, none of them secret. One more render, under the same
// budget, and only for templates that render keys of their own. The
// errors name neither key nor value.
func keysMadeOfValues(ctx context.Context, es *render.ExternalSecret, src map[string][]byte, shaped map[string]providers.Value, scoped desired.TemplateSources) error {
	stand := make(map[string]providers.Value, len(src))
	for k, v := range src {
		stand[k] = providers.NewValue(standIn(v))
	}
	again, err := desired.ApplyTemplate(ctx, es, stand, scoped)
	if err != nil {
		return errors.New("its keys could not be rendered over stand-in values, so they cannot be shown to hold no value of the Secret; keys become remote names, which are not secret")
	}
	if len(again.Data) != len(shaped) {
		return errKeysOfValues
	}
	for k := range shaped {
		if _, ok := again.Data[k]; !ok {
			return errKeysOfValues
		}
	}
	return nil
}

var errKeysOfValues = errors.New("a key it renders changes with the Secret's values: it holds a value of the Secret, whole or in part; keys become remote names, which are not secret")

// standIn is v with every letter and digit rotated (ROT13, and 5 for
// digits), so that any piece of v holding one differs (a value with
// neither becomes as many x). Its shape stays, so that a template that
// parses values renders over it as over v: punctuation and length; a JSON
// value's structure and object keys (its strings and numbers are stood in
// for); base64 of text stays base64 of text when every character of the
// encoding still differs.
func standIn(v []byte) []byte {
	if j, ok := standInJSON(v); ok {
		return j
	}
	if dec, err := base64.StdEncoding.DecodeString(string(v)); err == nil && len(dec) > 0 && utf8.Valid(dec) {
		enc := []byte(base64.StdEncoding.EncodeToString(standIn(dec)))
		if len(enc) == len(v) && differsEverywhere(v, enc) {
			return enc
		}
	}
	out := make([]byte, len(v))
	for i, c := range v {
		switch {
		case c >= 'a' && c <= 'z':
			c = 'a' + (c-'a'+13)%26
		case c >= 'A' && c <= 'Z':
			c = 'A' + (c-'A'+13)%26
		case c >= '0' && c <= '9':
			c = '0' + (c-'0'+5)%10
		}
		out[i] = c
	}
	if bytes.Equal(out, v) {
		return bytes.Repeat([]byte("x"), len(v))
	}
	return out
}

// differsEverywhere reports whether b differs from a at every byte but
// base64's padding.
func differsEverywhere(a, b []byte) bool {
	for i := range a {
		if a[i] == b[i] && a[i] != '=' {
			return false
		}
	}
	return true
}

// standInJSON is standIn of a JSON object or array: its structure and
// object keys kept, each string stood in for, each number's digits
// rotated (1-9 among themselves, so it stays a number).
func standInJSON(v []byte) ([]byte, bool) {
	t := bytes.TrimSpace(v)
	if len(t) == 0 || t[0] != '{' && t[0] != '[' {
		return nil, false
	}
	dec := json.NewDecoder(bytes.NewReader(t))
	dec.UseNumber()
	var doc any
	if dec.Decode(&doc) != nil || dec.More() {
		return nil, false
	}
	var walk func(any) any
	walk = func(n any) any {
		switch n := n.(type) {
		case map[string]any:
			for k, e := range n {
				n[k] = walk(e)
			}
		case []any:
			for i, e := range n {
				n[i] = walk(e)
			}
		case string:
			return string(standIn([]byte(n)))
		case json.Number:
			return json.Number(strings.Map(func(r rune) rune {
				if r >= '1' && r <= '9' {
					return '1' + (r-'1'+4)%9
				}
				return r
			}, string(n)))
		}
		return n
	}
	out, err := json.Marshal(walk(doc))
	return out, err == nil
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
	found, err := readSources(ctx, c, sel.Name, sel.Selector)
	switch {
	case sel.Selector == nil && apierrors.IsNotFound(err):
		return nil, "", fmt.Errorf("source Secret %s/%s not found", ps.Namespace, sel.Name)
	case sel.Selector == nil && err != nil:
		return nil, "", fmt.Errorf("read source Secret %s/%s: %w", ps.Namespace, sel.Name, err)
	case err != nil:
		return nil, "", fmt.Errorf("list the source Secrets of spec.selector.secret.selector in %s: %w", ps.Namespace, err)
	case len(found) == 0:
		return nil, "", fmt.Errorf("spec.selector.secret.selector matches no Secret in %s", ps.Namespace)
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

// readSources reads what a PushSecret's source selection names, through c:
// the Secret name, or, with a label selector, the Secrets it matches.
func readSources(ctx context.Context, c cluster.Scoped, name string, selector *metav1.LabelSelector) ([]corev1.Secret, error) {
	if selector != nil {
		return c.Secrets(ctx, selector)
	}
	s, err := c.SecretObject(ctx, "", name)
	if err != nil {
		return nil, err
	}
	return []corev1.Secret{*s}, nil
}
