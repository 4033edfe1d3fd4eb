package desired

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/secretsync/secretsync/providers"
	"github.com/secretsync/secretsync/render"
)

// Found returns what a find entry matched; Fetched returns one fetched
// value of an entry's store (for the namespace it serves); Generated returns a generator entry's values (its
// output keys). Assemble reads the pass's results through them.
type (
	Found     func(e Entry) ([]providers.Found, error)
	Fetched   func(e Entry, ref providers.Ref) providers.Fetched
	Generated func(e Entry) (map[string]providers.Value, error)
)

// ErrAllGone marks an ExternalSecret with deletionPolicy Delete whose
// every remote source is gone: its Secret is deleted.
var ErrAllGone = errors.New("every remote source is gone")

// ErrRetained marks an ExternalSecret with deletionPolicy Retain (the
// default) whose sources gave no data at all, such as a find that matches
// nothing: as in ESO, its Secret is kept as it is, and none is created.
var ErrRetained = errors.New("the remote sources gave no data; the Secret is kept as it is (deletionPolicy Retain)")

// Assemble turns one ExternalSecret's fetched values into its Secret's
// keys, as ESO does: dataFrom first, then data (later keys win), with
// properties, decoding, rewrites, key conversion and the deletion policy
// for sources that are gone. Errors name the entry, never a value.
func Assemble(es *render.ExternalSecret, refs []Entry, found Found, fetched Fetched, generated Generated) (map[string]providers.Value, error) {
	data := map[string]providers.Value{}
	for _, e := range refs {
		if e.Generator != nil {
			kv, err := generated(e)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", e.Field, err)
			}
			if kv, err = renameKeys(kv, e.Rewrite, ""); err != nil {
				return nil, fmt.Errorf("%s: %w", e.Field, err)
			}
			for k, v := range kv {
				data[k] = v
			}
			continue
		}
		if e.Find != nil {
			list, err := found(e)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", e.Field, err)
			}
			kv := map[string]providers.Value{}
			for _, it := range list {
				f := fetched(e, it.Ref)
				if f.Err != nil && sourceGone(es, f.Err) {
					continue
				}
				if f.Err != nil {
					return nil, fmt.Errorf("%s: %w", e.Field, f.Err)
				}
				v, err := convert(f.Value, render.RemoteRef{DecodingStrategy: e.Find.DecodingStrategy})
				if err != nil {
					return nil, fmt.Errorf("%s: %s: %w", e.Field, it.Name, err)
				}
				kv[it.Name] = v
			}
			kv, err = renameKeys(kv, e.Rewrite, e.Find.ConversionStrategy)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", e.Field, err)
			}
			for k, v := range kv {
				data[k] = v
			}
			continue
		}
		f := fetched(e, e.Ref)
		if f.Err != nil && sourceGone(es, f.Err) {
			continue
		}
		if f.Err != nil {
			return nil, fmt.Errorf("%s: %w", e.Field, f.Err)
		}
		var v providers.Value
		var err error
		if e.Ref.Metadata && e.Remote.Property != "" {
			v, err = tag(f.Value, e.Remote.Property)
		} else {
			v, err = providers.Property(f.Value, e.Remote.Property)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", e.Field, e.Ref, err)
		}
		if e.SecretKey != "" {
			if v, err = convert(v, *e.Remote); err != nil {
				return nil, fmt.Errorf("%s: %s: %w", e.Field, e.Ref, err)
			}
			data[e.SecretKey] = v
			continue
		}
		kv, err := providers.Extract(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", e.Field, e.Ref, err)
		}
		if kv, err = renameKeys(kv, e.Rewrite, e.Remote.ConversionStrategy); err != nil {
			return nil, fmt.Errorf("%s: %s: %w", e.Field, e.Ref, err)
		}
		for k, v := range kv {
			if v, err = convert(v, *e.Remote); err != nil {
				return nil, fmt.Errorf("%s: %s key %q: %w", e.Field, e.Ref, k, err)
			}
			data[k] = v
		}
	}
	if len(data) == 0 {
		switch es.Spec.Target.DeletionPolicy {
		case "Delete":
			return nil, ErrAllGone
		case "Merge": // written with no keys, as ESO does
		default:
			return nil, ErrRetained
		}
	}
	return data, nil
}

// sourceGone reports a reference whose remote secret no longer exists under
// deletionPolicy Delete or Merge: its keys are dropped rather than the
// ExternalSecret failing. Retain (the default) keeps the last value instead.
func sourceGone(es *render.ExternalSecret, err error) bool {
	p := es.Spec.Target.DeletionPolicy
	return (p == "Delete" || p == "Merge") && providers.ClassOf(err) == providers.NotFound
}

// convert applies decodingStrategy and nullBytePolicy. Errors never quote
// the value.
func convert(v providers.Value, rr render.RemoteRef) (providers.Value, error) {
	b := v.Bytes()
	switch rr.DecodingStrategy {
	case "Base64":
		d, err := base64.StdEncoding.DecodeString(string(b))
		if err != nil {
			return providers.Value{}, errors.New("decodingStrategy Base64: value is not base64")
		}
		b = d
	case "Base64URL":
		d, err := base64.URLEncoding.DecodeString(string(b))
		if err != nil {
			return providers.Value{}, errors.New("decodingStrategy Base64URL: value is not base64url")
		}
		b = d
	case "Auto":
		if d, err := base64.StdEncoding.DecodeString(string(b)); err == nil {
			b = d
		} else if d, err := base64.URLEncoding.DecodeString(string(b)); err == nil {
			b = d
		}
	}
	if rr.NullBytePolicy == "Fail" && bytes.IndexByte(b, 0) >= 0 {
		return providers.Value{}, errors.New("nullBytePolicy Fail: value contains a null byte")
	}
	return providers.NewValue(b), nil
}

// renameKeys applies dataFrom rewrites in order; without rewrites, keys are
// made valid Secret keys by the conversion strategy, as ESO does.
func renameKeys(in map[string]providers.Value, rewrites []render.Rewrite, conversion string) (map[string]providers.Value, error) {
	out := make(map[string]providers.Value, len(in))
	for k, v := range in {
		name, err := renameKey(k, rewrites, conversion)
		if err != nil {
			return nil, err
		}
		if _, dup := out[name]; dup {
			return nil, fmt.Errorf("two remote keys become the Secret key %q", name)
		}
		out[name] = v
	}
	return out, nil
}

// renameKey is the Secret key renameKeys makes of key.
func renameKey(key string, rewrites []render.Rewrite, conversion string) (string, error) {
	name := key
	if len(rewrites) == 0 {
		name = convertKey(key, conversion)
	}
	for i, rw := range rewrites {
		var err error
		if name, err = rewriteKey(name, rw); err != nil {
			return "", fmt.Errorf("rewrite[%d] of key %q: %w", i, key, err)
		}
	}
	return name, nil
}

func rewriteKey(key string, rw render.Rewrite) (string, error) {
	if rw.Regexp != nil {
		re, err := regexp.Compile(rw.Regexp.Source)
		if err != nil {
			return "", err
		}
		return re.ReplaceAllString(key, rw.Regexp.Target), nil
	}
	// Under the template budget; a key name is small, and Assemble has no
	// context of its own: the budget's own time bound holds.
	return render.Execute(context.Background(), "rewrite", rw.Transform.Template, map[string]string{"value": key})
}

// convertKey replaces characters a Secret key cannot hold: with "_" for
// the Default strategy, with "_U<hex code point>_" for Unicode.
func convertKey(key, strategy string) string {
	var b strings.Builder
	for _, r := range key {
		switch {
		case r == '-' || r == '.' || r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9':
			b.WriteRune(r)
		case strategy == "Unicode":
			fmt.Fprintf(&b, "_U%04x_", r)
		default:
			b.WriteByte('_')
		}
	}
	return b.String()
}

// tag returns one tag of a metadataPolicy: Fetch value: property names the
// tag exactly, dots included.
func tag(tags providers.Value, name string) (providers.Value, error) {
	var m map[string]string
	if err := json.Unmarshal(tags.Bytes(), &m); err != nil {
		return providers.Value{}, err
	}
	v, ok := m[name]
	if !ok {
		return providers.Value{}, fmt.Errorf("tag %q not found", name)
	}
	return providers.NewValue([]byte(v)), nil
}
