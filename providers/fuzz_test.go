package providers_test

import (
	"strings"
	"testing"

	"github.com/secretsync/secretsync/providers"
)

// FuzzProperty: any value and any property path either resolve or fail
// with an error that holds neither the value nor a piece of it.
func FuzzProperty(f *testing.F) {
	f.Add(`{"user":"admin","password":"pw-seeded"}`, "password")
	f.Add(`{"a":{"b":[1,2,{"c":"LEAKCANARY-deep"}]}}`, "a.b.2.c")
	f.Add(`not json LEAKCANARY`, "x")
	f.Add(`{"a":"b"}`, `a|@reverse`)
	f.Add(`[{"k":"v"},{"k":"w"}]`, "#.k")
	f.Fuzz(func(t *testing.T, value, property string) {
		v, err := providers.Property(providers.NewValue([]byte(value)), property)
		if err != nil {
			if len(value) >= 8 && !strings.Contains(property, value) && strings.Contains(err.Error(), value) {
				t.Fatalf("the error holds the %d-byte value", len(value))
			}
			return
		}
		_ = v.Bytes()
		if m, err := providers.Extract(providers.NewValue([]byte(value))); err == nil {
			for range m {
			}
		} else if len(value) >= 8 && strings.Contains(err.Error(), value) {
			t.Fatalf("the extract error holds the %d-byte value", len(value))
		}
	})
}
