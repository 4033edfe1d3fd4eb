package desired

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"

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
// properties, rewrites (merges included) and key conversion, then decoding
// and the null-byte policy, and the deletion policy for sources that are
// gone. Errors name the entry, never a value.
func Assemble(es *render.ExternalSecret, refs []Entry, found Found, fetched Fetched, generated Generated) (map[string]providers.Value, error) {
	data := map[string]providers.Value{}
	budget := newMergeBudget()
	for _, e := range refs {
		var kv map[string]providers.Value
		var err error
		switch {
		case e.Generator != nil:
			kv, err = assembleGenerated(e, generated, budget)
		case e.Find != nil:
			kv, err = assembleFound(es, e, found, fetched, budget)
		default:
			kv, err = assembleRef(es, e, fetched, budget)
		}
		if err != nil {
			return nil, err
		}
		maps.Copy(data, kv)
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

// assembleGenerated is a generator entry's keys, rewritten.
func assembleGenerated(e Entry, generated Generated, budget *WorkBudget) (map[string]providers.Value, error) {
	kv, err := generated(e)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", e.Field, err)
	}
	if kv, err = rewrite(kv, e.Rewrite, "", budget); err != nil {
		return nil, fmt.Errorf("%s: %w", e.Field, err)
	}
	return kv, nil
}

// assembleFound is a find entry's keys: each remote found, by its name,
// rewritten and decoded; a source that is gone is left out.
func assembleFound(es *render.ExternalSecret, e Entry, found Found, fetched Fetched, budget *WorkBudget) (map[string]providers.Value, error) {
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
		kv[it.Name] = f.Value
	}
	// ESO's order: rewrite (or convert), then decode, then the
	// null-byte check, so a merge reads the values as fetched.
	if kv, err = rewrite(kv, e.Rewrite, e.Find.ConversionStrategy, budget); err != nil {
		return nil, fmt.Errorf("%s: %w", e.Field, err)
	}
	if err := decodeAll(kv, e.Find.DecodingStrategy, e.Find.NullBytePolicy); err != nil {
		return nil, fmt.Errorf("%s: %w", e.Field, err)
	}
	return kv, nil
}

// assembleRef is one reference's keys: its property under secretKey (data),
// or its keys extracted, rewritten and decoded (dataFrom); none if its
// source is gone.
func assembleRef(es *render.ExternalSecret, e Entry, fetched Fetched, budget *WorkBudget) (map[string]providers.Value, error) {
	f := fetched(e, e.Ref)
	if f.Err != nil && sourceGone(es, f.Err) {
		return nil, nil
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
		if v, err = convert(v, e.Remote.DecodingStrategy, e.Remote.NullBytePolicy); err != nil {
			return nil, fmt.Errorf("%s: %s: key %q: %w", e.Field, e.Ref, e.SecretKey, err)
		}
		return map[string]providers.Value{e.SecretKey: v}, nil
	}
	kv, err := providers.Extract(v)
	if err != nil {
		return nil, fmt.Errorf("%s: %s: %w", e.Field, e.Ref, err)
	}
	if kv, err = rewrite(kv, e.Rewrite, e.Remote.ConversionStrategy, budget); err != nil {
		return nil, fmt.Errorf("%s: %s: %w", e.Field, e.Ref, err)
	}
	if err := decodeAll(kv, e.Remote.DecodingStrategy, e.Remote.NullBytePolicy); err != nil {
		return nil, fmt.Errorf("%s: %s: %w", e.Field, e.Ref, err)
	}
	return kv, nil
}

// sourceGone reports a reference whose remote secret no longer exists under
// deletionPolicy Delete or Merge: its keys are dropped rather than the
// ExternalSecret failing. Retain (the default) keeps the last value instead.
func sourceGone(es *render.ExternalSecret, err error) bool {
	p := es.Spec.Target.DeletionPolicy
	return (p == "Delete" || p == "Merge") && providers.ClassOf(err) == providers.NotFound
}

// decodeAll applies a dataFrom entry's decodingStrategy to every value,
// then its nullBytePolicy, each in key order: the error is ESO's first,
// naming the key, never the value.
func decodeAll(kv map[string]providers.Value, decoding, nullBytes string) error {
	keys := slices.Sorted(maps.Keys(kv))
	for _, k := range keys {
		b, err := decode(kv[k].Bytes(), decoding)
		if err != nil {
			return fmt.Errorf("key %q: decodingStrategy %s: %w", k, decoding, err)
		}
		kv[k] = providers.NewValue(b)
	}
	for _, k := range keys {
		if err := nullByte(kv[k].Bytes(), nullBytes); err != nil {
			return fmt.Errorf("key %q: %w", k, err)
		}
	}
	return nil
}

// convert applies decodingStrategy and nullBytePolicy to one value.
// Errors never quote the value.
func convert(v providers.Value, decoding, nullBytes string) (providers.Value, error) {
	b, err := decode(v.Bytes(), decoding)
	if err != nil {
		return providers.Value{}, fmt.Errorf("decodingStrategy %s: %w", decoding, err)
	}
	if err := nullByte(b, nullBytes); err != nil {
		return providers.Value{}, err
	}
	return providers.NewValue(b), nil
}

// decode is ESO's decoding of a value (decodingStrategy, and a templateFrom
// entry's valuesDecodingStrategy): Auto tries base64, then base64url, and
// keeps a value that is neither.
func decode(b []byte, strategy string) ([]byte, error) {
	switch strategy {
	case "Base64":
		d, err := base64.StdEncoding.DecodeString(string(b))
		if err != nil {
			return nil, errors.New("the value is not base64")
		}
		return d, nil
	case "Base64URL":
		d, err := base64.URLEncoding.DecodeString(string(b))
		if err != nil {
			return nil, errors.New("the value is not base64url")
		}
		return d, nil
	case "Auto":
		if d, err := base64.StdEncoding.DecodeString(string(b)); err == nil {
			return d, nil
		}
		if d, err := base64.URLEncoding.DecodeString(string(b)); err == nil {
			return d, nil
		}
	}
	return b, nil
}

// nullByte is nullBytePolicy: Fail refuses a value holding a NUL byte,
// Ignore (the default) keeps it.
func nullByte(b []byte, policy string) error {
	if policy == "Fail" && bytes.IndexByte(b, 0) >= 0 {
		return errors.New("nullBytePolicy Fail: the value contains a null byte")
	}
	return nil
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
