package reconciler_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"strings"
	"testing"
	"time"
)

func pemCert(t *testing.T, cn string, key *ecdsa.PrivateKey, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) (*x509.Certificate, string) {
	t.Helper()
	tpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: parent == nil, BasicConstraintsValid: true, DNSNames: []string{cn}}
	if parent == nil {
		parent, parentKey = tpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return c, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

// TestACertificateFromCertificateManager exports a certificate as ESO's
// CertificateManager provider does: one PEM bundle (certificate, chain,
// private key decrypted from ACM's passphrase-protected PKCS#8), split into
// a kubernetes.io/tls Secret by a template; ExportCertificate is not called
// again until the certificate changes; one that is not exportable fails.
func TestACertificateFromCertificateManager(t *testing.T) {
	f := newFixture(t)
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ca, caPEM := pemCert(t, "ca.example", caKey, nil, nil)
	_, leafPEM := pemCert(t, "app.example", key, ca, caKey)
	ecDER, _ := x509.MarshalECPrivateKey(key)
	keyPEM := string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: ecDER}))
	p8, _ := x509.MarshalPKCS8PrivateKey(key)
	wantKey := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p8}))
	f.remember(wantKey)
	arn, err := f.acm.Add(leafPEM, caPEM, keyPEM, true)
	if err != nil {
		t.Fatal(err)
	}
	closed, err := f.acm.Add(caPEM, "", keyPEM, false)
	if err != nil {
		t.Fatal(err)
	}
	es := func(name, arn string) string {
		return fmt.Sprintf(`---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: %[2]s, namespace: %[1]s}
spec:
  secretStoreRef: {name: acm}
  target:
    template:
      type: kubernetes.io/tls
      mergePolicy: Merge
      data:
        tls.crt: '{{ .bundle | filterPEM "CERTIFICATE" }}'
        tls.key: '{{ .bundle | filterPEM "PRIVATE KEY" }}'
  data: [{secretKey: bundle, remoteRef: {key: %[3]q}}]
`, f.ns, name, arn)
	}
	f.commit(map[string]string{"tls.yaml": fmt.Sprintf("apiVersion: external-secrets.io/v1\nkind: SecretStore\nmetadata: {name: acm, namespace: %s}\nspec: {provider: {aws: {service: CertificateManager, region: us-east-1}}}\n", f.ns) +
		es("app-tls", arn) + es("closed-tls", closed)})
	res := f.pass()
	got := data(f.secret("app-tls"))
	want := strings.TrimRight(leafPEM, "\n") + "\n" + strings.TrimRight(caPEM, "\n") + "\n" + wantKey
	if got["bundle"] != want || got["tls.crt"] != leafPEM+caPEM || got["tls.key"] != wantKey || f.secret("app-tls").Type != "kubernetes.io/tls" {
		t.Fatalf("bundle as ESO's %v, tls.crt %v, tls.key %v", got["bundle"] == want, got["tls.crt"] == leafPEM+caPEM, got["tls.key"] == wantKey)
	}
	if res.OK() || len(res.Errors) != 1 || !strings.Contains(res.Errors[0].Error(), "acm:"+closed) || !strings.Contains(res.Errors[0].Error(), "not exportable") {
		t.Fatalf("errors: %v", res.Errors)
	}
	if n := f.acm.Calls()["ExportCertificate"]; n != 1 {
		t.Fatalf("%d exports, want 1", n)
	}
	f.pass() // a forced refresh: the certificate is unchanged
	if n := f.acm.Calls()["ExportCertificate"]; n != 1 {
		t.Fatalf("an unchanged certificate was exported again (%d exports)", n)
	}
	_, renewed := pemCert(t, "app.example", key, ca, caKey)
	f.acm.Replace(arn, renewed, caPEM)
	f.pass()
	if n := f.acm.Calls()["ExportCertificate"]; n != 2 || !strings.HasPrefix(data(f.secret("app-tls"))["tls.crt"], renewed) {
		t.Fatalf("the renewal was not exported (%d exports)", n)
	}
}
