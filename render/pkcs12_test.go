package render_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"testing"
	"time"

	gopkcs12 "software.sslmate.com/src/go-pkcs12"

	"github.com/secretsync/secretsync/render"
)

func cert(t *testing.T, cn string, pub, signer any, parent *x509.Certificate, ca bool) *x509.Certificate {
	t.Helper()
	tpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: ca, BasicConstraintsValid: true}
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
			key, err := render.Execute("data.key", `{{ .p12 | pkcs12keyPass .pass }}`, values)
			if err != nil || key != wantKey {
				t.Fatalf("pkcs12keyPass: err %v, same key: %v", err, key == wantKey)
			}
			chain, err := render.Execute("data.crt", `{{ .p12 | pkcs12certPass .pass }}`, values)
			if err != nil || chain != wantChain {
				t.Fatalf("pkcs12certPass: err %v, same chain in order: %v", err, chain == wantChain)
			}
			if _, err := render.Execute("data.key", `{{ .p12 | pkcs12keyPass "wrong" }}`, values); err == nil {
				t.Fatal("a wrong password was accepted")
			}
		})
	}
}
