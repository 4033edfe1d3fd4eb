package generators_test

import (
	"encoding/base64"
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
	got, err := generators.Generate(g)
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
	if _, err := generators.Generate(g); err == nil {
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
