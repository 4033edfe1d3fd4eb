package providers_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/secretsync/secretsync/providers"
)

const seeded = "tr0ub4dor&3-seeded"

func TestValueNeverPrints(t *testing.T) {
	v := providers.NewValue([]byte(seeded))
	j, _ := json.Marshal(map[string]any{"v": v})
	outputs := []string{
		fmt.Sprint(v), fmt.Sprintf("%v %+v %#v %s %q %x", v, v, v, v, v, v),
		fmt.Sprintf("%v", struct{ V providers.Value }{v}), string(j),
		fmt.Errorf("wrapped %v", v).Error(),
	}
	for _, out := range outputs {
		if out == "" || containsSeed(out) {
			t.Fatalf("a Value printed as %q", out)
		}
	}
	if string(v.Bytes()) != seeded {
		t.Fatal("Bytes does not return the value")
	}
}

func containsSeed(s string) bool { return strings.Contains(s, seeded) }

func TestProperty(t *testing.T) {
	const text = `{"a":{"b":"x","n":5,"obj":{"k":1},"f":1.50,"e":1e3,"neg":-7,"t":true,"nil":null},"dotted.key":"d","list":["p","q"],"x.y":"literal","x":{"y":"nested"}}`
	doc := providers.NewValue([]byte(text))
	cases := []struct{ name, property, want string }{
		{"a nested path", "a.b", "x"},
		{"an integer keeps its JSON text", "a.n", "5"},
		{"a negative integer too", "a.neg", "-7"},
		// As ESO (gjson's String): a number that is not a plain integer is
		// printed as the shortest decimal.
		{"a decimal is normalised", "a.f", "1.5"},
		{"an exponent is written out", "a.e", "1000"},
		{"a boolean", "a.t", "true"},
		{"null is empty", "a.nil", ""},
		{"a dotted key that exists literally wins over the path", "x.y", "literal"},
		{"no property is the whole value", "", text},
		{"an object stays JSON", "a.obj", `{"k":1}`},
		{"an escaped dotted key", `dotted\.key`, "d"},
		{"an array element", "list.1", "q"},
		{"the literal dotted key", "dotted.key", "d"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := providers.Property(doc, c.property)
			if err != nil {
				t.Fatal(err)
			}
			if string(got.Bytes()) != c.want {
				t.Fatalf("property %q: got %d bytes, want %q", c.property, got.Len(), c.want)
			}
		})
	}
	t.Run("a missing property is an error", func(t *testing.T) {
		if _, err := providers.Property(doc, "a.zz"); err == nil {
			t.Fatal("no error")
		}
	})
	t.Run("a property of a non-JSON value is a clear error without the value", func(t *testing.T) {
		_, err := providers.Property(providers.NewValue([]byte(seeded)), "x")
		if err == nil || containsSeed(err.Error()) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestExtract(t *testing.T) {
	got, err := providers.Extract(providers.NewValue([]byte(`{"user":"u","port":5432,"tls":{"on":true}}`)))
	if err != nil {
		t.Fatal(err)
	}
	plain := map[string]string{}
	for k, v := range got {
		plain[k] = string(v.Bytes())
	}
	if diff := cmp.Diff(map[string]string{"user": "u", "port": "5432", "tls": `{"on":true}`}, plain); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
	if _, err := providers.Extract(providers.NewValue([]byte(`["a"]`))); err == nil {
		t.Fatal("an array was extracted")
	}
}

func TestClassOf(t *testing.T) {
	err := fmt.Errorf("outer: %w", &providers.Error{Class: providers.NotFound, Ref: "r", Err: errors.New("gone")})
	if providers.ClassOf(err) != providers.NotFound || providers.ClassOf(errors.New("x")) != providers.Unavailable {
		t.Fatal("wrong class")
	}
	if !providers.Throttled.Transient() || providers.AccessDenied.Transient() {
		t.Fatal("wrong transience")
	}
}
