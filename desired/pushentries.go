package desired

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/secretsync/secretsync/providers"
	"github.com/secretsync/secretsync/render"
)

// PushSource is one Secret a PushSecret pushes from, its data after the
// PushSecret's template: the Secret selector.secret names, or each one
// its label selector matches.
type PushSource struct {
	Name string // the Secret's name, in the PushSecret's namespace
	Data map[string][]byte
}

// PushEntry is one remote write a PushSecret makes: which store, remote
// secret and property, the value, and the entry of the spec it comes from.
type PushEntry struct {
	Field     string // spec.data[i] or spec.dataTo[i]
	Source    string // the source Secret's name
	Store     StoreKey
	RemoteKey string
	Property  string
	Value     providers.Value
	Metadata  json.RawMessage // as written in Git, for the provider to decode
}

// PushStores are the stores ps pushes to, each once, in order: those its
// secretStoreRefs name and those their label selectors match among the
// rendered stores (SecretStores of its namespace, or ClusterSecretStores).
func PushStores(ps *render.PushSecret, stores map[StoreKey]*render.SecretStore) []StoreKey {
	var out []StoreKey
	seen := map[StoreKey]bool{}
	add := func(k StoreKey) {
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	for _, ref := range ps.Spec.SecretStoreRefs {
		if ref.LabelSelector == nil {
			add(StoreKeyOf(ref.StoreKind(), ps.Namespace, ref.Name))
			continue
		}
		for _, k := range slices.SortedFunc(maps.Keys(stores), func(a, b StoreKey) int { return strings.Compare(a.String(), b.String()) }) {
			if storeSelected(ref, ps.Namespace, k, stores[k]) {
				add(k)
			}
		}
	}
	return out
}

// storeSelected reports whether ref (by name or label selector) names the
// store k for a PushSecret of namespace ns.
func storeSelected(ref render.PushSecretStoreRef, ns string, k StoreKey, st *render.SecretStore) bool {
	if k != StoreKeyOf(ref.StoreKind(), ns, k.Name) {
		return false
	}
	if ref.LabelSelector == nil {
		return k.Name == ref.Name
	}
	return st != nil && labelsMatch(ref.LabelSelector, st.Labels)
}

// DataToSelects reports whether dataTo entry dt of ps pushes to store k.
func DataToSelects(ps *render.PushSecret, dt render.PushSecretDataTo, k StoreKey, stores map[StoreKey]*render.SecretStore) bool {
	return dt.StoreRef != nil && storeSelected(*dt.StoreRef, ps.Namespace, k, stores[k])
}

func labelsMatch(sel *metav1.LabelSelector, l map[string]string) bool {
	s, err := metav1.LabelSelectorAsSelector(sel)
	return err == nil && s.Matches(labels.Set(l))
}

// MaxPushEntries bounds the remote writes (a remote secret, or one of its
// properties, in one store) one PushSecret makes: a few lines multiply
// stores by source Secrets by keys, and each write costs AWS calls at
// every refresh. PushEntries stops counting past it.
const MaxPushEntries = 1000

// MaxPushRewriteBytes bounds the work of the dataTo rewrites of one
// namespace's PushSecrets in one pass together (PushBudget), counted as the key names
// each rewrite step reads and writes, rewriteStepBytes a step, and a
// transform's template steps and function bytes (transformStepBytes).
const MaxPushRewriteBytes = 128 << 20

// rewriteStepBytes is what one rewrite of one key costs besides the
// names: matching and replacing is work even when the names stay short.
const rewriteStepBytes = 256

// transformStepBytes is what one step of a transform rewrite's template
// (a range iteration, a template call, an element: render.ExecCost) costs:
// a template's steps are bounded per run (render), not across keys, so
// they are counted here, with the bytes its functions took and returned.
// Counted work, unlike run time, is the same in diff and in the pass on a
// loaded machine. 128 MiB is 2 million steps a namespace and pass; a plain
// transform takes a few a key.
const transformStepBytes = 64

// PushBudget is a pass's budget of dataTo rewrite work, one account of
// MaxPushRewriteBytes a namespace: a namespace's PushSecrets share theirs,
// so a repo writer who spends it stops only its own namespace's pushes,
// never another's. Every account stops when the pass's context ends,
// which bounds the pass as a whole. Safe for concurrent use.
type PushBudget struct {
	ctx context.Context
	mu  sync.Mutex
	ns  map[string]*WorkBudget
}

// NewPushBudget is a pass's PushBudget, stopped when ctx ends: each pass
// makes one.
func NewPushBudget(ctx context.Context) *PushBudget {
	return &PushBudget{ctx: ctx, ns: map[string]*WorkBudget{}}
}

// of is namespace's account.
func (p *PushBudget) of(namespace string) *WorkBudget {
	p.mu.Lock()
	defer p.mu.Unlock()
	b := p.ns[namespace]
	if b == nil {
		b = newWorkBudget(p.ctx, MaxPushRewriteBytes,
			fmt.Sprintf("the dataTo rewrites of the PushSecrets of namespace %s in this pass together do more than %d MiB of work (%d bytes a key and rewrite, the names, %d bytes a step of a transform's template)",
				namespace, MaxPushRewriteBytes>>20, rewriteStepBytes, transformStepBytes))
		p.ns[namespace] = b
	}
	return b
}

// PushEntries decides what ps writes from its sources (in name order) to
// its stores, as ESO's PushSecret does: for each store, its dataTo entries
// (those whose storeRef selects the store) expanded over each source's
// keys, then data, which wins over dataTo for the same source key. Two
// writes that would overwrite each other (one remote key and property, or
// the whole of a remote secret and one of its properties) are refused,
// within one source or across label-selected sources (ESO writes each in
// turn, so the remote value would flip at every push), and so are more
// than MaxPushEntries writes. Each dataTo rewrite of a key spends
// ps's namespace's account of rewrites, the pass's PushBudget. Errors name
// keys, never values.
func PushEntries(ps *render.PushSecret, stores map[StoreKey]*render.SecretStore, srcs []PushSource, rewrites *PushBudget) ([]PushEntry, error) {
	w := &pushWork{json: newMergeBudget(), rewrites: rewrites.of(ps.Namespace)}
	var out []PushEntry
	for _, key := range PushStores(ps, stores) {
		seen := map[string]*remoteUse{}
		for _, src := range srcs {
			entries, err := pushEntriesOf(ps, key, stores, src, w)
			if err != nil {
				return nil, fmt.Errorf("source Secret %s/%s, store %s: %w", ps.Namespace, src.Name, key, err)
			}
			for _, e := range entries {
				if err := claim(seen, e); err != nil {
					return nil, err
				}
				out = append(out, e)
			}
		}
	}
	return out, nil
}

// remoteUse is what one PushSecret writes to one remote secret of a store:
// the first write, the write of the whole of it, and those of properties.
type remoteUse struct {
	first, whole *PushEntry
	// props are the writes of each property; nested, the first of some
	// property nested in it.
	props, nested map[string]*PushEntry
}

// claim records e in seen (by remote key, within one store), refusing it
// if it would overwrite an earlier write: the same property, or either
// one the whole secret (ESO writes each in turn: a new version at every
// pass, and a value that flips under its readers).
func claim(seen map[string]*remoteUse, e PushEntry) error {
	u := seen[e.RemoteKey]
	if u == nil {
		u = &remoteUse{props: map[string]*PushEntry{}, nested: map[string]*PushEntry{}}
		seen[e.RemoteKey] = u
	}
	prev := u.props[e.Property]
	switch {
	case e.Property == "":
		prev = u.first
	case prev == nil && u.whole != nil:
		prev = u.whole
	case prev == nil:
		prev = u.nestedIn(e.Property)
	}
	if prev != nil {
		return fmt.Errorf("%s of Secret %s and %s of Secret %s both write remote key %q%s in %s: refused, nothing is pushed",
			prev.Field, prev.Source, e.Field, e.Source, e.RemoteKey, clashNote(prev.Property, e.Property), e.Store)
	}
	if u.first == nil {
		u.first = &e
	}
	if e.Property == "" {
		u.whole = &e
	}
	u.props[e.Property] = &e
	for _, parent := range parentProperties(e.Property) {
		if u.nested[parent] == nil {
			u.nested[parent] = &e
		}
	}
	return nil
}

// nestedIn is an earlier write of a property that property is nested in,
// or of one nested in property (dots nest: "db" holds "db.user"), if any.
func (u *remoteUse) nestedIn(property string) *PushEntry {
	if e := u.nested[property]; e != nil {
		return e
	}
	for _, parent := range parentProperties(property) {
		if e := u.props[parent]; e != nil {
			return e
		}
	}
	return nil
}

// clashNote says which parts of a remote secret two writes share.
func clashNote(p, q string) string {
	switch {
	case p == q:
		return propertyNote(p)
	case p == "":
		return " (the whole secret and its" + propertyNote(q) + ")"
	case q == "":
		return " (its" + propertyNote(p) + " and the whole secret)"
	}
	return " (its" + propertyNote(p) + " and" + propertyNote(q) + ", one nested in the other)"
}

func propertyNote(p string) string {
	if p == "" {
		return ""
	}
	return " property " + strconv.Quote(p)
}

// pushWork is what one PushSecret's entries spend: its own JSON budget
// (renamed keys and bundles), the pass's rewrite budget, and its count of
// writes (MaxPushEntries).
type pushWork struct {
	json, rewrites *WorkBudget
	entries        int
}

// count adds one write, refusing the PushSecret past MaxPushEntries.
func (w *pushWork) count() error {
	w.entries++
	if w.entries > MaxPushEntries {
		return fmt.Errorf("it writes at least %d remote secrets and properties (stores × source Secrets × keys), more than the %d one PushSecret may (MaxPushEntries): refused, nothing is pushed",
			w.entries, MaxPushEntries)
	}
	return nil
}

// pushEntriesOf is one source's writes to one store.
func pushEntriesOf(ps *render.PushSecret, key StoreKey, stores map[StoreKey]*render.SecretStore, src PushSource, w *pushWork) ([]PushEntry, error) {
	explicit := map[string]bool{}
	for _, d := range ps.Spec.Data {
		explicit[d.Match.SecretKey] = true
	}
	var out []PushEntry
	for i, dt := range ps.Spec.DataTo {
		if !DataToSelects(ps, dt, key, stores) {
			continue
		}
		entries, err := expandDataTo(fmt.Sprintf("spec.dataTo[%d]", i), dt, src, explicit, w)
		if err != nil {
			return nil, err
		}
		out = append(out, entries...)
	}
	for i, d := range ps.Spec.Data {
		field := fmt.Sprintf("spec.data[%d]", i)
		if err := w.count(); err != nil {
			return nil, err
		}
		data, err := reverseKeys(d.ConversionStrategy, src.Data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", field, err)
		}
		v, ok := data[d.Match.SecretKey]
		switch {
		case d.Match.SecretKey == "":
			if v, err = wholeSecret(data); err != nil {
				return nil, fmt.Errorf("%s: %w", field, err)
			}
		case !ok:
			return nil, fmt.Errorf("%s: source Secret has no key %s", field, d.Match.SecretKey)
		}
		out = append(out, PushEntry{Field: field, Source: src.Name, RemoteKey: d.Match.RemoteRef.RemoteKey, Property: d.Match.RemoteRef.Property,
			Value: providers.NewValue(v), Metadata: d.Metadata})
	}
	for i := range out {
		out[i].Store = key
	}
	return out, nil
}

// expandDataTo is one dataTo entry over one source: its keys converted
// (conversionStrategy), filtered (match.regexp), renamed (rewrite, in
// order); those data names are left to data. Without remoteKey each key
// is a remote secret of that name; with it, the keys are one JSON object
// in remoteKey. Each rewrite of a key spends the pass's rewrite budget;
// renamed keys and bundles spend the PushSecret's JSON budget: a rewrite
// that multiplies a key stops there.
func expandDataTo(field string, dt render.PushSecretDataTo, src PushSource, explicit map[string]bool, w *pushWork) ([]PushEntry, error) {
	data, err := reverseKeys(dt.ConversionStrategy, src.Data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", field, err)
	}
	var match *regexp.Regexp
	if dt.Match != nil && dt.Match.RegExp != "" {
		if match, err = regexp.Compile(dt.Match.RegExp); err != nil {
			return nil, fmt.Errorf("%s.match.regexp: %w", field, err)
		}
	}
	rewrites := make([]keyRewrite, len(dt.Rewrite))
	for j, rw := range dt.Rewrite {
		if rewrites[j], err = compileRewrite(rw); err != nil {
			return nil, fmt.Errorf("%s.rewrite[%d]: %w", field, j, err)
		}
	}
	bundle := map[string]string{}
	var out []PushEntry
	for _, k := range slices.Sorted(maps.Keys(data)) {
		if explicit[k] || match != nil && !match.MatchString(k) {
			continue
		}
		if dt.RemoteKey == "" {
			if err := w.count(); err != nil {
				return nil, err
			}
		}
		name, err := rewriteName(k, rewrites, w)
		if err != nil {
			return nil, fmt.Errorf("%s.%w", field, err)
		}
		if name == "" {
			return nil, fmt.Errorf("%s: rewrite makes key %q empty", field, k)
		}
		if err := render.RemoteKeyProblem(name); dt.RemoteKey == "" && err != nil {
			return nil, fmt.Errorf("%s: key %q becomes remote key %q, which %w", field, k, name, err)
		}
		if dt.RemoteKey != "" {
			if _, dup := bundle[name]; dup {
				return nil, fmt.Errorf("%s: two keys become %q", field, name)
			}
			bundle[name] = string(data[k])
			continue
		}
		out = append(out, PushEntry{Field: field, Source: src.Name, RemoteKey: name, Value: providers.NewValue(data[k]), Metadata: dt.Metadata})
	}
	if dt.RemoteKey == "" || len(bundle) == 0 {
		return out, nil
	}
	v, err := jsonObject(bundle)
	if err == nil {
		err = w.json.spend(len(v))
	}
	if err == nil {
		err = w.count()
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", field, err)
	}
	return []PushEntry{{Field: field, Source: src.Name, RemoteKey: dt.RemoteKey, Value: providers.NewValue(v), Metadata: dt.Metadata}}, nil
}

// rewriteName is the name a dataTo entry's rewrites make of source key k,
// each step spending the pass's rewrite budget (a transform's template
// steps too) and stopping with its context, each name the PushSecret's JSON
// budget. Its errors start with
// the rewrite's field (after "spec.dataTo[i].").
func rewriteName(k string, rewrites []keyRewrite, w *pushWork) (string, error) {
	name := k
	for j, kr := range rewrites {
		next, run, err := kr.apply(w.rewrites.ctx, name)
		if err != nil {
			return "", fmt.Errorf("rewrite[%d] of key %q: %w", j, k, err)
		}
		cost := rewriteStepBytes + len(name) + len(next) + run.Steps*transformStepBytes + run.Bytes
		if err := w.rewrites.spend(cost); err != nil {
			return "", fmt.Errorf("rewrite[%d]: %w", j, err)
		}
		if err := w.json.spend(len(next)); err != nil {
			return "", fmt.Errorf("rewrite[%d]: %w", j, err)
		}
		if len(next) > render.MaxRemoteKeyBytes {
			return "", fmt.Errorf("rewrite[%d] makes key %q longer than %d bytes", j, k, render.MaxRemoteKeyBytes)
		}
		name = next
	}
	return name, nil
}

// wholeSecret is a Secret as ESO pushes it without secretKey: a JSON
// object of its keys to their values as strings.
func wholeSecret(data map[string][]byte) ([]byte, error) {
	all := make(map[string]string, len(data))
	for k, v := range data {
		all[k] = string(v)
	}
	return jsonObject(all)
}

func jsonObject(m map[string]string) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil {
		return nil, errors.New("the values do not encode as JSON")
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// unicodeEscape is what ExternalSecret's conversionStrategy Unicode makes
// of a rune (convertKey): _U, four or five hex digits, _.
var unicodeEscape = regexp.MustCompile(`_U([0-9a-fA-F]{4,5})_`)

// reverseKeys is ESO's ReverseKeys: under ReverseUnicode each _U<hex>_ of
// a key becomes its rune again; two keys that become one are an error.
func reverseKeys(strategy string, in map[string][]byte) (map[string][]byte, error) {
	if strategy != render.PushReverseUnicode {
		return in, nil
	}
	out := make(map[string][]byte, len(in))
	for _, k := range slices.Sorted(maps.Keys(in)) {
		name := unicodeEscape.ReplaceAllStringFunc(k, func(m string) string {
			n, err := strconv.ParseInt(m[2:len(m)-1], 16, 32)
			if err != nil {
				return m
			}
			return string(rune(n))
		})
		if _, dup := out[name]; dup {
			return nil, fmt.Errorf("conversionStrategy ReverseUnicode makes two keys %q", name)
		}
		out[name] = in[k]
	}
	return out, nil
}
