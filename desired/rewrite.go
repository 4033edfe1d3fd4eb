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
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"unicode"

	"github.com/secretsync/secretsync/providers"
	"github.com/secretsync/secretsync/render"
)

// rewrite applies a dataFrom entry's rewrites in order, as ESO's RewriteMap
// does; without rewrites, keys are made valid Secret keys by the conversion
// strategy. Keys are taken in order, so the first error is the same on
// every run.
func rewrite(in map[string]providers.Value, rewrites []render.Rewrite, conversion string, b *WorkBudget) (map[string]providers.Value, error) {
	if len(rewrites) == 0 {
		return renameAll(in, func(k string) (string, error) { return convertKey(k, conversion), nil })
	}
	out := in
	fromValues := false // an Extract merge made the keys from inside the values
	for i, rw := range rewrites {
		var err error
		if rw.Merge != nil {
			if out, err = merge(out, *rw.Merge, b); err != nil {
				return nil, fmt.Errorf("rewrite[%d]: merge: %w", i, err)
			}
			fromValues = fromValues || rw.Merge.Strategy != "JSON"
			continue
		}
		kr, err := compileRewrite(rw)
		if err != nil {
			return nil, fmt.Errorf("rewrite[%d]: %w", i, err)
		}
		out, err = renameAll(out, func(k string) (string, error) {
			// Under the template budget; a key name is small, and Assemble
			// has no context of its own: the budget's own time bound holds.
			name, _, err := kr.apply(context.Background(), k)
			switch {
			case err == nil:
				return name, nil
			case !fromValues:
				return "", fmt.Errorf("rewrite[%d] of key %q: %w", i, k, err)
			case errors.Is(err, render.ErrBudget):
				return "", fmt.Errorf("rewrite[%d] of a key a merge made: %w", i, render.ErrBudget)
			}
			// The key, and a cause that may quote it, are a value's.
			return "", fmt.Errorf("rewrite[%d] failed on a key a merge made of a value (the key and the cause are withheld)", i)
		})
		if err != nil {
			if fromValues && errors.Is(err, errDuplicateKey) {
				return nil, fmt.Errorf("rewrite[%d]: two keys a merge made of values become one Secret key (withheld)", i)
			}
			return nil, err
		}
	}
	return out, nil
}

// errDuplicateKey is renameAll's error when two keys become one.
var errDuplicateKey = errors.New("two remote keys become one Secret key")

// renameAll renames every key of in; two keys that become one are an
// error (ESO keeps either, by map order).
func renameAll(in map[string]providers.Value, name func(string) (string, error)) (map[string]providers.Value, error) {
	out := make(map[string]providers.Value, len(in))
	for _, k := range slices.Sorted(maps.Keys(in)) {
		n, err := name(k)
		if err != nil {
			return nil, err
		}
		if _, dup := out[n]; dup {
			return nil, fmt.Errorf("%w: %q", errDuplicateKey, n)
		}
		out[n] = in[k]
	}
	return out, nil
}

// renameKey is the Secret key the rewrites (or, without any, the
// conversion) make of one key. A merge has no such answer: its keys come
// from the values.
func renameKey(key string, rewrites []render.Rewrite, conversion string) (string, error) {
	name := key
	if len(rewrites) == 0 {
		name = convertKey(key, conversion)
	}
	for i, rw := range rewrites {
		if rw.Merge != nil {
			return "", fmt.Errorf("rewrite[%d]: a merge's keys come from the values", i)
		}
		kr, err := compileRewrite(rw)
		if err == nil {
			name, _, err = kr.apply(context.Background(), name)
		}
		if err != nil {
			return "", fmt.Errorf("rewrite[%d] of key %q: %w", i, key, err)
		}
	}
	return name, nil
}

// keyRewrite is one regexp or transform rewrite of key names, its regexp
// compiled once for all the keys it renames.
type keyRewrite struct {
	re *regexp.Regexp
	rw render.Rewrite
}

func compileRewrite(rw render.Rewrite) (keyRewrite, error) {
	switch {
	case rw.Regexp != nil:
		re, err := regexp.Compile(rw.Regexp.Source)
		return keyRewrite{re: re, rw: rw}, err
	case rw.Transform == nil:
		return keyRewrite{}, errors.New("neither a regexp nor a transform")
	}
	return keyRewrite{rw: rw}, nil
}

// apply renames key, and says what a transform's run cost (nothing for a
// regexp); a transform runs under the template budget and ctx.
func (k keyRewrite) apply(ctx context.Context, key string) (string, render.ExecCost, error) {
	if k.re != nil {
		return k.re.ReplaceAllString(key, k.rw.Regexp.Target), render.ExecCost{}, nil
	}
	return render.ExecuteCounted(ctx, "rewrite", k.rw.Transform.Template, map[string]string{"value": key})
}

// convertKey is ESO's key conversion: a rune that is neither a letter nor
// a number (in any script, as unicode.IsLetter and unicode.IsNumber say)
// nor '-', '.' or '_' becomes "_" (Default) or "_U<hex code point>_"
// (Unicode). A letter the API server refuses in a key (é) stays, as in
// ESO, and that ExternalSecret's write fails.
func convertKey(key, strategy string) string {
	var b strings.Builder
	for _, r := range key {
		switch {
		case r == '-' || r == '.' || r == '_' || unicode.IsLetter(r) || unicode.IsNumber(r):
			b.WriteRune(r)
		case strategy == "Unicode":
			fmt.Fprintf(&b, "_U%04x_", r)
		default:
			b.WriteByte('_')
		}
	}
	return b.String()
}

// WorkBudget is an account of work, counted as bytes read and written, that
// a repo writer's rewrites and merges spend: a writer chooses what a merge
// reads and how often, and how many keys each rewrite renames. One
// ExternalSecret's merges share one (render.MaxMergeBytes, made in
// Assemble; its renames spend none: a transform runs under the template
// budget); so do one PushSecret's renamed keys and JSON
// bundles (PushEntries); and the dataTo rewrite steps of one namespace's
// PushSecrets in a pass share one of MaxPushRewriteBytes (PushBudget, an
// account a namespace), the only ones that also stop when the pass's
// context ends. Only this package makes one. Safe for concurrent use: a
// pass plans its PushSecrets concurrently.
type WorkBudget struct {
	ctx  context.Context
	left atomic.Int64
	over string // what ran over, for the error
}

func newWorkBudget(ctx context.Context, max int, over string) *WorkBudget {
	b := &WorkBudget{ctx: ctx, over: over}
	b.left.Store(int64(max))
	return b
}

// newMergeBudget is one ExternalSecret's (or one PushSecret's) budget of
// JSON read and written; Assemble has no context of its own.
func newMergeBudget() *WorkBudget {
	return newWorkBudget(context.Background(), render.MaxMergeBytes, mergeBudgetOver)
}

// mergeBudgetOver is what ran over a merge budget, built once: Assemble
// makes a budget for every ExternalSecret of every pass.
var mergeBudgetOver = fmt.Sprintf("the merges read and write more than %d MiB of JSON", render.MaxMergeBytes>>20)

func (b *WorkBudget) spend(n int) error {
	if b.left.Add(-int64(n)) < 0 {
		return fmt.Errorf("%s: %w", b.over, render.ErrBudget)
	}
	if err := b.ctx.Err(); err != nil {
		return fmt.Errorf("stopped at the pass's end: %w", err)
	}
	return nil
}

// merge is ESO's RewriteMerge: every value is read as a JSON object, in
// key order with the priority keys last, in their order, so the last of
// them wins; a key that two values set is a conflict, an error unless
// conflictPolicy is Ignore. Extract (the default) makes every merged key a
// Secret key and drops the keys read; JSON keeps them and writes the merged
// object into Into. Errors name the keys read, never a value nor the keys
// inside one.
func merge(in map[string]providers.Value, m render.RewriteMerge, b *WorkBudget) (map[string]providers.Value, error) {
	priority := make(map[string]bool, len(m.Priority))
	for _, k := range m.Priority {
		priority[k] = true
	}
	order := make([]string, 0, len(in)+len(m.Priority))
	for k := range in {
		if !priority[k] {
			order = append(order, k)
		}
	}
	sort.Strings(order)
	order = append(order, m.Priority...)
	merged := map[string]any{}
	conflicts, firstConflict := 0, ""
	for _, k := range order {
		v, ok := in[k]
		if !ok {
			if m.PriorityPolicy == "IgnoreNotFound" {
				continue
			}
			return nil, fmt.Errorf("priority key %q not found (priorityPolicy Strict)", k)
		}
		if err := b.spend(len(v.Bytes())); err != nil {
			return nil, err
		}
		var obj map[string]any
		if err := json.Unmarshal(v.Bytes(), &obj); err != nil {
			return nil, fmt.Errorf("the value of key %q is not a JSON object", k)
		}
		for ik, iv := range obj {
			if _, dup := merged[ik]; dup {
				if conflicts == 0 {
					firstConflict = k
				}
				conflicts++
			}
			merged[ik] = iv
		}
	}
	if conflicts > 0 && m.ConflictPolicy != "Ignore" {
		return nil, fmt.Errorf("%d conflicts, the first in the value of key %q: it sets a key an earlier value set (conflictPolicy Error)", conflicts, firstConflict)
	}
	if m.Strategy == "JSON" {
		if m.Into == "" {
			return nil, errors.New("strategy JSON needs into")
		}
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false) // ESO's JSONMarshal
		if err := enc.Encode(merged); err != nil {
			return nil, fmt.Errorf("write the merged JSON: %w", err)
		}
		body := bytes.TrimRight(buf.Bytes(), "\n")
		if err := b.spend(len(body)); err != nil {
			return nil, err
		}
		out := maps.Clone(in)
		out[m.Into] = providers.NewValue(body)
		return out, nil
	}
	out := make(map[string]providers.Value, len(merged))
	for _, k := range slices.Sorted(maps.Keys(merged)) {
		v, err := jsonText(merged[k])
		if err != nil {
			return nil, fmt.Errorf("merged key %d of %d: %w", len(out)+1, len(merged), err)
		}
		if err := b.spend(len(v)); err != nil {
			return nil, err
		}
		out[k] = providers.NewValue(v)
	}
	return out, nil
}

// jsonText is how ESO's GetByteValue prints a decoded JSON value: a
// string as it is, a number as strconv's shortest 'f' form (never an
// exponent), objects and lists as json.Marshal writes them (HTML escaped),
// null as an empty value.
func jsonText(v any) ([]byte, error) {
	switch t := v.(type) {
	case string:
		return []byte(t), nil
	case float64:
		return []byte(strconv.FormatFloat(t, 'f', -1, 64)), nil
	case bool:
		return []byte(strconv.FormatBool(t)), nil
	case nil:
		return nil, nil
	default: // map[string]any, []any
		return json.Marshal(t)
	}
}
