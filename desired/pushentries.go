package desired

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"

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

// PushEntries decides what ps writes from its sources (in name order) to
// its stores, as ESO's PushSecret does: for each store, its dataTo entries
// (those whose storeRef selects the store) expanded over each source's
// keys, then data, which wins over dataTo for the same source key. Two
// writes to one remote key and property are refused, within one source (as
// ESO) or across label-selected sources (ESO writes each in turn, so the
// remote value would flip at every push). Errors name keys, never values.
func PushEntries(ps *render.PushSecret, stores map[StoreKey]*render.SecretStore, srcs []PushSource) ([]PushEntry, error) {
	b := &mergeBudget{left: render.MaxMergeBytes}
	var out []PushEntry
	for _, key := range PushStores(ps, stores) {
		seen := map[string]PushEntry{}
		for _, src := range srcs {
			entries, err := pushEntriesOf(ps, key, stores, src, b)
			if err != nil {
				return nil, fmt.Errorf("source Secret %s/%s, store %s: %w", ps.Namespace, src.Name, key, err)
			}
			for _, e := range entries {
				id := e.RemoteKey + "\x00" + e.Property
				if prev, dup := seen[id]; dup {
					return nil, fmt.Errorf("%s of Secret %s and %s of Secret %s both write remote key %q%s in %s: refused, nothing is pushed",
						prev.Field, prev.Source, e.Field, e.Source, e.RemoteKey, propertyNote(e.Property), key)
				}
				seen[id] = e
				out = append(out, e)
			}
		}
	}
	return out, nil
}

func propertyNote(p string) string {
	if p == "" {
		return ""
	}
	return " property " + strconv.Quote(p)
}

// pushEntriesOf is one source's writes to one store.
func pushEntriesOf(ps *render.PushSecret, key StoreKey, stores map[StoreKey]*render.SecretStore, src PushSource, b *mergeBudget) ([]PushEntry, error) {
	explicit := map[string]bool{}
	for _, d := range ps.Spec.Data {
		explicit[d.Match.SecretKey] = true
	}
	var out []PushEntry
	for i, dt := range ps.Spec.DataTo {
		if !DataToSelects(ps, dt, key, stores) {
			continue
		}
		entries, err := expandDataTo(fmt.Sprintf("spec.dataTo[%d]", i), dt, src, explicit, b)
		if err != nil {
			return nil, err
		}
		out = append(out, entries...)
	}
	for i, d := range ps.Spec.Data {
		field := fmt.Sprintf("spec.data[%d]", i)
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
// in remoteKey. Renamed keys and bundles spend the budget: a rewrite
// that multiplies a key stops there.
func expandDataTo(field string, dt render.PushSecretDataTo, src PushSource, explicit map[string]bool, b *mergeBudget) ([]PushEntry, error) {
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
	bundle := map[string]string{}
	var out []PushEntry
	for _, k := range slices.Sorted(maps.Keys(data)) {
		if explicit[k] || match != nil && !match.MatchString(k) {
			continue
		}
		name := k
		for j, rw := range dt.Rewrite {
			if name, err = rewriteKey(name, rw); err != nil {
				return nil, fmt.Errorf("%s.rewrite[%d] of key %q: %w", field, j, k, err)
			}
			if err := b.spend(len(name)); err != nil {
				return nil, fmt.Errorf("%s.rewrite[%d]: %w", field, j, err)
			}
			if len(name) > render.MaxRemoteKeyBytes {
				return nil, fmt.Errorf("%s.rewrite[%d] makes key %q longer than %d bytes", field, j, k, render.MaxRemoteKeyBytes)
			}
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
		err = b.spend(len(v))
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", field, err)
	}
	return []PushEntry{{Field: field, Source: src.Name, RemoteKey: dt.RemoteKey, Value: providers.NewValue(v), Metadata: dt.Metadata}}, nil
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
