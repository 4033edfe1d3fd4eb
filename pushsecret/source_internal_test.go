package pushsecret

import (
	"encoding/base64"
	"encoding/json"
	"testing"
)

// A stand-in value differs from the value at every letter and digit (so
// any piece of the value a key could hold changes), and keeps what a
// template parses: a JSON object's structure and keys, base64 of text as
// base64 of text (every character of the encoding changed), punctuation.
func TestAStandInChangesEveryPieceOfAValueAndKeepsItsShape(t *testing.T) {
	differs := func(name string, v, s []byte) {
		t.Helper()
		if len(s) != len(v) {
			t.Fatalf("%s: stand-in of %d bytes for %d", name, len(s), len(v))
		}
		for i := range v {
			alnum := v[i] >= 'a' && v[i] <= 'z' || v[i] >= 'A' && v[i] <= 'Z' || v[i] >= '0' && v[i] <= '9'
			if alnum && s[i] == v[i] {
				t.Fatalf("%s: byte %d unchanged", name, i)
			}
		}
	}
	for name, v := range map[string]string{"hex": "0123456789abcdef", "mixed": "Zz9-aA0_Ba/r+=", "base64 of text": base64.StdEncoding.EncodeToString([]byte("user:s3cr3t-pass"))} {
		differs(name, []byte(v), standIn([]byte(v)))
	}
	if got := string(standIn([]byte("--!!--"))); got != "xxxxxx" {
		t.Errorf("a value of punctuation alone: %q, want x's", got)
	}
	enc := base64.StdEncoding.EncodeToString([]byte("correct horse battery"))
	dec, err := base64.StdEncoding.DecodeString(string(standIn([]byte(enc))))
	if err != nil || string(dec) == "correct horse battery" {
		t.Errorf("base64 of text: decodes %v, changed %v", err, string(dec) != "correct horse battery")
	}
	var obj map[string]any
	if err := json.Unmarshal(standIn([]byte(`{"user":"alice","n":12,"nested":{"pin":"4821"}}`)), &obj); err != nil {
		t.Fatalf("JSON stand-in: %v", err)
	}
	nested, _ := obj["nested"].(map[string]any)
	if obj["user"] == "alice" || obj["user"] == nil || nested["pin"] == "4821" || nested["pin"] == nil || obj["n"] == float64(12) {
		t.Errorf("JSON stand-in kept a value or lost a key: %v", obj)
	}
}
