package render_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"hash"
	"math/big"
	"testing"
	"time"

	gopkcs12 "software.sslmate.com/src/go-pkcs12"

	"github.com/secretsync/secretsync/render"
)

func cert(t *testing.T, cn string, pub, signer any, parent *x509.Certificate, ca bool) *x509.Certificate {
	t.Helper()
	// Subject key ids on every certificate, as CAs issue them: ESO (and so
	// secretsync) links a chain by them.
	skid := make([]byte, 20)
	_, _ = rand.Read(skid)
	tpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn}, SubjectKeyId: skid,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: ca, BasicConstraintsValid: true,
		DNSNames: []string{cn + ".example"}}
	if parent == nil {
		parent = tpl
	}
	der, err := x509.CreateCertificate(rand.Reader, tpl, parent, pub, signer)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestPKCS12FunctionsReadModernArchives: archives made with OpenSSL 3's
// defaults (AES-256-CBC, PBKDF2; go-pkcs12's Modern2023) and legacy ones
// both give ESO's output: the key as PKCS#8 PEM, the certificate then its
// issuers, leaf to root, whatever order the archive holds them in.
func TestPKCS12FunctionsReadModernArchives(t *testing.T) {
	newKey := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	rootKey, midKey, leafKey := newKey(), newKey(), newKey()
	root := cert(t, "root", &rootKey.PublicKey, rootKey, nil, true)
	mid := cert(t, "intermediate", &midKey.PublicKey, rootKey, root, true)
	leaf := cert(t, "leaf", &leafKey.PublicKey, midKey, mid, false)
	pemOf := func(cs ...*x509.Certificate) string {
		var s string
		for _, c := range cs {
			s += string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}))
		}
		return s
	}
	der, _ := x509.MarshalPKCS8PrivateKey(leafKey)
	wantKey := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	wantChain := pemOf(leaf, mid, root)

	for name, enc := range map[string]*gopkcs12.Encoder{"modern (OpenSSL 3 defaults)": gopkcs12.Modern2023, "legacy (RC2)": gopkcs12.LegacyRC2} {
		t.Run(name, func(t *testing.T) {
			// The root first: the output is ordered by issuer, not by the archive.
			p12, err := enc.Encode(leafKey, leaf, []*x509.Certificate{root, mid}, "pkcs12-seeded-pass")
			if err != nil {
				t.Fatal(err)
			}
			values := map[string]string{"p12": string(p12), "pass": "pkcs12-seeded-pass"}
			key, err := render.Execute(context.Background(), "data.key", `{{ .p12 | pkcs12keyPass .pass }}`, values)
			if err != nil || key != wantKey {
				t.Fatalf("pkcs12keyPass: err %v, same key: %v", err, key == wantKey)
			}
			chain, err := render.Execute(context.Background(), "data.crt", `{{ .p12 | pkcs12certPass .pass }}`, values)
			if err != nil || chain != wantChain {
				t.Fatalf("pkcs12certPass: err %v, same chain in order: %v", err, chain == wantChain)
			}
			if _, err := render.Execute(context.Background(), "data.key", `{{ .p12 | pkcs12keyPass "wrong" }}`, values); err == nil {
				t.Fatal("a wrong password was accepted")
			}
		})
	}
}

// TestPKIFunctions: ESO's certificate, key and JWK functions, with the
// outputs ESO 2.9.0's code gives for these inputs.
func TestPKIFunctions(t *testing.T) {
	rootKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	midKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leafKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	root := cert(t, "root", &rootKey.PublicKey, rootKey, nil, true)
	mid := cert(t, "intermediate", &midKey.PublicKey, rootKey, root, true)
	leaf := cert(t, "leaf", &leafKey.PublicKey, midKey, mid, false)
	p := func(cs ...*x509.Certificate) string {
		var s string
		for _, c := range cs {
			s += string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}))
		}
		return s
	}
	keyPEM := func(k any) string {
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	}
	pubPEM := func(k any) string {
		der, err := x509.MarshalPKIXPublicKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	}
	b64 := func(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	rsaJWK := fmt.Sprintf(`{"kty":"RSA","n":%q,"e":"AQAB","d":%q,"p":%q,"q":%q}`, b64(rsaKey.N.Bytes()), b64(rsaKey.D.Bytes()), b64(rsaKey.Primes[0].Bytes()), b64(rsaKey.Primes[1].Bytes()))
	rsaPubJWK := fmt.Sprintf(`{"kty":"RSA","n":%q,"e":"AQAB"}`, b64(rsaKey.N.Bytes()))
	ecJWK := fmt.Sprintf(`{"kty":"EC","crv":"P-256","x":%q,"y":%q,"d":%q}`, b64(leafKey.X.FillBytes(make([]byte, 32))), b64(leafKey.Y.FillBytes(make([]byte, 32))), b64(leafKey.D.FillBytes(make([]byte, 32))))
	edPub, edPriv, _ := ed25519.GenerateKey(rand.Reader)
	edPubJWK := fmt.Sprintf(`{"kty":"OKP","crv":"Ed25519","x":%q}`, b64(edPub))
	edJWK := fmt.Sprintf(`{"kty":"OKP","crv":"Ed25519","x":%q,"d":%q}`, b64(edPub), b64(edPriv.Seed()))
	oaep := func(h hash.Hash, msg string) string {
		ct, err := rsa.EncryptOAEP(h, rand.Reader, &rsaKey.PublicKey, []byte(msg), nil)
		if err != nil {
			t.Fatal(err)
		}
		return string(ct)
	}
	values := map[string]string{
		"chain": "junk before\n" + p(leaf, mid, root), "shuffled": p(root, leaf, mid), "leaf": p(leaf),
		"key": keyPEM(leafKey), "rsaJWK": rsaJWK, "rsaPubJWK": rsaPubJWK, "ecJWK": ecJWK, "edJWK": edJWK, "edPubJWK": edPubJWK,
		"rsaKey": keyPEM(rsaKey), "ct1": oaep(sha1.New(), "oaep-sha1-seeded"), "ct256": oaep(sha256.New(), "oaep-sha256-seeded"),
		"mixed": p(leaf) + string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1}})),
	}
	for _, c := range []struct{ name, tpl, want string }{
		{"filterPEM is case-blind and trims junk", `{{ .mixed | filterPEM "private key" }}`, string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1}}))},
		{"filterPEM with no match is empty", `{{ .leaf | filterPEM "PRIVATE KEY" }}`, ""},
		{"filterCertChain leaf", `{{ .shuffled | filterCertChain "leaf" }}`, p(leaf)},
		{"filterCertChain intermediate", `{{ .shuffled | filterCertChain "intermediate" }}`, p(mid)},
		{"filterCertChain root", `{{ .shuffled | filterCertChain "root" }}`, p(root)},
		{"certSANs of the first certificate, after junk", `{{ .chain | certSANs | join "," }}`, "leaf.example"},
		{"jwkPublicKeyPem, RSA", `{{ .rsaPubJWK | jwkPublicKeyPem }}`, pubPEM(&rsaKey.PublicKey)},
		{"jwkPublicKeyPem, Ed25519", `{{ .edPubJWK | jwkPublicKeyPem }}`, pubPEM(edPub)},
		{"jwkPrivateKeyPem, RSA", `{{ .rsaJWK | jwkPrivateKeyPem }}`, keyPEM(rsaKey)},
		{"jwkPrivateKeyPem, EC", `{{ .ecJWK | jwkPrivateKeyPem }}`, keyPEM(leafKey)},
		{"jwkPrivateKeyPem, Ed25519", `{{ .edJWK | jwkPrivateKeyPem }}`, keyPEM(edPriv)},
		{"rsaDecrypt OAEP SHA1", `{{ rsaDecrypt "RSA-OAEP" "SHA1" .ct1 .rsaKey }}`, "oaep-sha1-seeded"},
		{"rsaDecrypt OAEP, SHA256 by default", `{{ rsaDecrypt "RSA-OAEP" "None" .ct256 .rsaKey }}`, "oaep-sha256-seeded"},
		{"rsaDecrypt None is the input", `{{ rsaDecrypt "None" "SHA1" "as-is" .rsaKey }}`, "as-is"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := render.Execute(context.Background(), "data.k", c.tpl, values)
			if err != nil || got != c.want {
				t.Fatalf("err %v, output matches: %v (%d bytes, want %d)", err, got == c.want, len(got), len(c.want))
			}
		})
	}

	t.Run("pemToPkcs12, fullPemToPkcs12 and pemTruststoreToPKCS12 give archives of what they were given", func(t *testing.T) {
		for tpl, wantCAs := range map[string][]*x509.Certificate{
			`{{ pemToPkcs12Pass (filterCertChain "leaf" .chain) .key "p" }}`:                                   nil,
			`{{ fullPemToPkcs12Pass (printf "%s%s" .leaf (filterCertChain "intermediate" .chain)) .key "p" }}`: {mid},
		} {
			out, err := render.Execute(context.Background(), "data.p12", tpl, values)
			if err != nil {
				t.Fatal(err)
			}
			der, _ := base64.StdEncoding.DecodeString(out)
			k, c, cas, err := gopkcs12.DecodeChain(der, "p")
			if err != nil || !c.Equal(leaf) || !k.(*ecdsa.PrivateKey).Equal(leafKey) || len(cas) != len(wantCAs) || len(cas) == 1 && !cas[0].Equal(mid) {
				t.Fatalf("%s: %v, %d CAs", tpl, err, len(cas))
			}
		}
		out, err := render.Execute(context.Background(), "data.ts", `{{ pemTruststoreToPKCS12Pass .shuffled "p" }}`, values)
		if err != nil {
			t.Fatal(err)
		}
		der, _ := base64.StdEncoding.DecodeString(out)
		certs, err := gopkcs12.DecodeTrustStore(der, "p")
		if err != nil || len(certs) != 3 {
			t.Fatalf("trust store: %v, %d certificates", err, len(certs))
		}
	})
}
