package generators_test

import (
	"context"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/secretsync/secretsync/generators"
	"github.com/secretsync/secretsync/render"
)

func gen(t *testing.T, kind, spec string) map[string]string {
	t.Helper()
	g := &render.Generator{Spec: []byte(spec)}
	g.Kind, g.Name = kind, "g"
	got, err := generators.Generate(context.Background(), g)
	if err != nil {
		t.Fatalf("%s %s: %v", kind, spec, err)
	}
	out := map[string]string{}
	for k, v := range got {
		out[k] = string(v.Bytes())
	}
	return out
}

func count(s, set string) int {
	n := 0
	for _, c := range s {
		if strings.ContainsRune(set, c) {
			n++
		}
	}
	return n
}

// TestPasswordAsESO: ESO's defaults (24 characters, 25% digits and 25%
// symbols from its symbol set, upper and lower letters, no repeats) and
// each option.
func TestPasswordAsESO(t *testing.T) {
	const symbols = "~!@#$%^&*()_+`-={}|[]\\:\"<>?,./"
	for range 20 {
		p := gen(t, "Password", `{}`)["password"]
		if len(p) != 24 || count(p, "0123456789") != 6 || count(p, symbols) != 6 {
			t.Fatalf("default password: %d long, %d digits, %d symbols", len(p), count(p, "0123456789"), count(p, symbols))
		}
		seen := map[rune]bool{}
		for _, c := range p {
			if seen[c] {
				t.Fatal("a character repeats without allowRepeat")
			}
			seen[c] = true
		}
	}
	p := gen(t, "Password", `{"length": 40, "digits": 0, "symbols": 2, "symbolCharacters": "-_", "noUpper": true, "allowRepeat": true}`)["password"]
	if len(p) != 40 || count(p, "0123456789") != 0 || count(p, "-_") != 2 || strings.ToLower(p) != p {
		t.Fatalf("options: %d long, %d digits, %d symbols, lower only %v", len(p), count(p, "0123456789"), count(p, "-_"), strings.ToLower(p) == p)
	}
	two := gen(t, "Password", `{"secretKeys": ["a", "b"], "encoding": "base64"}`)
	a, err := base64.StdEncoding.DecodeString(two["a"])
	if len(two) != 2 || err != nil || len(a) != 24 || two["a"] == two["b"] {
		t.Fatalf("secretKeys and encoding: %d keys, %v, %d bytes", len(two), err, len(a))
	}
	g := &render.Generator{Spec: []byte(`{"length": 4, "digits": 3, "symbols": 3}`)}
	g.Kind = "Password"
	if _, err := generators.Generate(context.Background(), g); err == nil {
		t.Fatal("more digits and symbols than the length was accepted")
	}
}

func TestUUIDAndSSHKey(t *testing.T) {
	u := gen(t, "UUID", ``)["uuid"]
	if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(u) {
		t.Fatalf("uuid %q", u)
	}
	for spec, typ := range map[string]string{`{}`: "ssh-rsa", `{"keyType": "ed25519", "comment": "ci@example"}`: "ssh-ed25519", `{"keyType": "ecdsa", "keySize": 384}`: "ecdsa-sha2-nistp384"} {
		kp := gen(t, "SSHKey", spec)
		key, err := ssh.ParsePrivateKey([]byte(kp["privateKey"]))
		if err != nil {
			t.Fatalf("%s: private key: %v", spec, err)
		}
		pub, comment, _, _, err := ssh.ParseAuthorizedKey([]byte(kp["publicKey"]))
		if err != nil || pub.Type() != typ || string(pub.Marshal()) != string(key.PublicKey().Marshal()) {
			t.Fatalf("%s: public key %v, type %s", spec, err, pub.Type())
		}
		if strings.Contains(spec, "comment") && comment != "ci@example" {
			t.Fatalf("comment %q", comment)
		}
	}
}

// TestGeneratorLimits: specs that would loop forever or take unbounded
// time or memory end at once with an error naming the field; the same
// check is what validate reports offline (render's Plan and Check).
func TestGeneratorLimits(t *testing.T) {
	for _, c := range []struct{ kind, spec, field string }{
		{"Password", `{"symbols": 2, "symbolCharacters": "!!"}`, "spec.symbolCharacters"},
		{"Password", `{"length": 30, "digits": 0, "symbols": 4, "symbolCharacters": "abcd", "noUpper": true}`, "spec.symbolCharacters"},
		{"Password", `{"length": 40, "digits": 11}`, "spec.symbolCharacters"},
		{"Password", `{"length": 100000000, "allowRepeat": true}`, "spec.length"},
		{"Password", `{"symbols": -1}`, "spec.symbols"},
		{"SSHKey", `{"keySize": 65536}`, "spec.keySize"},
		{"SSHKey", `{"keySize": 512}`, "spec.keySize"},
		{"SSHKey", `{"keyType": "ecdsa", "keySize": 1024}`, "spec.keySize"},
	} {
		g := &render.Generator{Spec: []byte(c.spec)}
		g.Kind, g.Name = c.kind, "g"
		if _, err := generators.Generate(context.Background(), g); err == nil {
			t.Errorf("%s %s: generated", c.kind, c.spec)
		}
		set, err := render.Render(context.Background(), generatorRepo(t, c.kind, c.spec), "", render.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if len(set.Errors) != 1 || !strings.Contains(set.Errors[0].Error(), c.field) {
			t.Errorf("%s %s: validate should name %s, got %v", c.kind, c.spec, c.field, set.Errors)
		}
	}
	// What is allowed with repeats: two symbols from a one-character set.
	p := gen(t, "Password", `{"length": 6, "symbols": 2, "symbolCharacters": "!", "allowRepeat": true}`)["password"]
	if len(p) != 6 || count(p, "!") != 2 {
		t.Fatalf("allowRepeat password %d long, %d symbols", len(p), count(p, "!"))
	}
	// Symbols that are letters too: the letters leave them to the symbols.
	for range 50 {
		p = gen(t, "Password", `{"length": 26, "digits": 0, "symbols": 4, "symbolCharacters": "abcd", "noUpper": true}`)["password"]
		distinct := map[rune]bool{}
		for _, c := range p {
			distinct[c] = true
		}
		if len(p) != 26 || len(distinct) != 26 {
			t.Fatalf("overlapping sets: %d long", len(p))
		}
	}
	// Without repeats, exactly as many distinct characters as asked for.
	p = gen(t, "Password", `{"length": 10, "digits": 10, "symbols": 0}`)["password"]
	if count(p, "0123456789") != 10 {
		t.Fatalf("all ten digits: %d", count(p, "0123456789"))
	}
}

// TestGeneratorStopsWithItsContext: a generator runs under the pass's
// context.
func TestGeneratorStopsWithItsContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	g := &render.Generator{Spec: []byte(`{"keySize": 8192}`)}
	g.Kind, g.Name = "SSHKey", "g"
	if _, err := generators.Generate(ctx, g); !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "SSHKey/g") {
		t.Fatalf("want the generator stopped by its context, got %v", err)
	}
}

func generatorRepo(t *testing.T, kind, spec string) string {
	dir := t.TempDir()
	doc := "apiVersion: generators.external-secrets.io/v1alpha1\nkind: " + kind + "\nmetadata: {name: g, namespace: app}\nspec: " + spec + "\n"
	if err := os.WriteFile(filepath.Join(dir, "g.yaml"), []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestPasswordCountsThatOverflowAreRefused: digits and symbols so large
// that length - digits - symbols wraps round to a small positive number
// (both 2^63-1 leave 26 letters) are refused by validate and by a run,
// naming spec.length, instead of a run that inserts 2^63 characters.
func TestPasswordCountsThatOverflowAreRefused(t *testing.T) {
	const spec = `{"digits": 9223372036854775807, "symbols": 9223372036854775807, "allowRepeat": true}`
	set, err := render.Render(context.Background(), generatorRepo(t, "Password", spec), "", render.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(set.Errors) != 1 || !strings.Contains(set.Errors[0].Error(), "spec.length") {
		t.Fatalf("validate should name spec.length, got %v", set.Errors)
	}
	g := &render.Generator{Spec: []byte(spec)}
	g.Kind, g.Name = "Password", "g"
	if _, err := generators.Generate(context.Background(), g); err == nil || !strings.Contains(err.Error(), "exceed the length") {
		t.Fatalf("a run should refuse it, got %v", err)
	}
}
