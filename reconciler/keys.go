package reconciler

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"github.com/secretsync/secretsync/providers"
	"github.com/secretsync/secretsync/render"
)

// renameKeys applies dataFrom rewrites in order; without rewrites, keys are
// made valid Secret keys by the conversion strategy, as ESO does.
func renameKeys(in map[string]providers.Value, rewrites []render.Rewrite, conversion string) (map[string]providers.Value, error) {
	out := make(map[string]providers.Value, len(in))
	for k, v := range in {
		name := k
		var err error
		if len(rewrites) == 0 {
			name = convertKey(k, conversion)
		}
		for i, rw := range rewrites {
			if name, err = rewriteKey(name, rw); err != nil {
				return nil, fmt.Errorf("rewrite[%d] of key %q: %w", i, k, err)
			}
		}
		if _, dup := out[name]; dup {
			return nil, fmt.Errorf("two remote keys become the Secret key %q", name)
		}
		out[name] = v
	}
	return out, nil
}

func rewriteKey(key string, rw render.Rewrite) (string, error) {
	if rw.Regexp != nil {
		re, err := regexp.Compile(rw.Regexp.Source)
		if err != nil {
			return "", err
		}
		return re.ReplaceAllString(key, rw.Regexp.Target), nil
	}
	t, err := render.ParseRewrite(rw.Transform.Template)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	if err := t.Execute(&b, map[string]string{"value": key}); err != nil {
		return "", err
	}
	return b.String(), nil
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
