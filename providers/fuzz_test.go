package providers_test

import (
	"bytes"
	"strconv"
	"strings"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/secretsync/secretsync/providers"
)

// FuzzProperty: any value and any property path either resolve or fail
// with an error that holds neither the value nor a piece of it; an empty
// property is the value itself; and Extract gives each top-level key what
// Property gives for it.
func FuzzProperty(f *testing.F) {
	f.Add(`{"user":"admin","password":"pw-seeded"}`, "password")
	f.Add(`{"a":{"b":[1,2,{"c":"LEAKCANARY-deep"}]}}`, "a.b.2.c")
	f.Add(`not json LEAKCANARY`, "x")
	f.Add(`{"a":"b"}`, `a|@reverse`)
	f.Add(`[{"k":"v"},{"k":"w"}]`, "#.k")
	f.Add(`{"n":1.50,"i":7,"t":true,"z":null,"o":{"x":[1]},"s":"q\"uote\u00e9"}`, "n")
	f.Fuzz(func(t *testing.T, value, property string) {
		in := providers.NewValue([]byte(value))
		if same, err := providers.Property(in, ""); err != nil || !same.Equal(in) {
			t.Fatalf("Property(v, \"\") is not v (err %v)", err)
		}
		v, err := providers.Property(in, property)
		if err != nil {
			if len(value) >= 8 && !strings.Contains(property, value) && strings.Contains(err.Error(), value) {
				t.Fatalf("the error holds the %d-byte value", len(value))
			}
		} else {
			_ = v.Bytes()
		}
		m, err := providers.Extract(in)
		if err != nil {
			if len(value) >= 8 && strings.Contains(err.Error(), value) {
				t.Fatalf("the extract error holds the %d-byte value", len(value))
			}
			return
		}
		seen := map[string]int{}
		gjson.Parse(value).ForEach(func(k, _ gjson.Result) bool { seen[k.String()]++; return true })
		for k, got := range m {
			if seen[k] != 1 || !plainKey(k) {
				continue // a repeated key, or one a gjson path cannot name plainly
			}
			want, err := providers.Property(in, k)
			if err != nil {
				t.Fatalf("Extract has key %q, and Property of it fails: %v", k, err)
			}
			if !sameText(got.Bytes(), want.Bytes()) {
				t.Fatalf("key %q: Extract and Property disagree (%d and %d bytes)", k, got.Len(), want.Len())
			}
		}
	})
}

// plainKey is a key that a gjson path names as itself.
func plainKey(k string) bool {
	if k == "" {
		return false
	}
	for _, r := range k {
		if !(r == '_' || r == '-' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// sameText: equal bytes, or the same number (Property prints a number as
// ESO does, 1.50 as 1.5; Extract keeps its JSON text).
func sameText(a, b []byte) bool {
	if bytes.Equal(a, b) {
		return true
	}
	x, errA := strconv.ParseFloat(string(a), 64)
	y, errB := strconv.ParseFloat(string(b), 64)
	return errA == nil && errB == nil && x == y
}
