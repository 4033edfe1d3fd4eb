package render

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"hash"
	"math/big"
	"strings"

	gopkcs12 "software.sslmate.com/src/go-pkcs12"
)

// The certificate, key and JWK functions of ESO's template engine v2,
// written to give the same output as ESO 2.9.0's (the tests hold the cases).
// Their errors never quote their input; the guard in template.go withholds
// them from users anyway.

// pkiFuncs are added to TemplateFuncs.
func pkiFuncs() map[string]any {
	return map[string]any{
		"filterPEM":                 filterPEM,
		"filterCertChain":           filterCertChain,
		"certSANs":                  certSANs,
		"pkcs12key":                 func(p12 string) (string, error) { return pkcs12Key(p12, "") },
		"pkcs12keyPass":             func(pass, p12 string) (string, error) { return pkcs12Key(p12, pass) },
		"pkcs12cert":                func(p12 string) (string, error) { return pkcs12Cert(p12, "") },
		"pkcs12certPass":            func(pass, p12 string) (string, error) { return pkcs12Cert(p12, pass) },
		"pemToPkcs12":               func(cert, key string) (string, error) { return pemToPKCS12(cert, key, "", false) },
		"pemToPkcs12Pass":           func(cert, key, pass string) (string, error) { return pemToPKCS12(cert, key, pass, false) },
		"fullPemToPkcs12":           func(cert, key string) (string, error) { return pemToPKCS12(cert, key, "", true) },
		"fullPemToPkcs12Pass":       func(cert, key, pass string) (string, error) { return pemToPKCS12(cert, key, pass, true) },
		"pemTruststoreToPKCS12":     func(certs string) (string, error) { return truststoreToPKCS12(certs, "") },
		"pemTruststoreToPKCS12Pass": truststoreToPKCS12,
		"jwkPublicKeyPem":           jwkPublicKeyPem,
		"jwkPrivateKeyPem":          jwkPrivateKeyPem,
		"rsaDecrypt":                rsaDecrypt,
	}
}

// trimJunk drops what comes before the first PEM block.
func trimJunk(s string) string {
	if i := strings.Index(s, "-----BEGIN"); i >= 0 {
		return s[i:]
	}
	return s
}

// filterPEM keeps the PEM blocks of one type (any case), as ESO does:
// nothing found is "" unless the input had text that is not PEM.
func filterPEM(blockType, input string) (string, error) {
	data := []byte(trimJunk(input))
	var out bytes.Buffer
	var rest []byte
	for {
		var block *pem.Block
		block, rest = pem.Decode(data)
		data = rest
		if block == nil {
			break
		}
		if strings.EqualFold(block.Type, blockType) {
			if err := pem.Encode(&out, block); err != nil {
				return "", err
			}
		}
	}
	if out.Len() == 0 && len(rest) != 0 {
		return "", errors.New("filterPEM: the input has text that is not PEM")
	}
	return out.String(), nil
}

func pemCertificates(data []byte) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for {
		block, rest := pem.Decode(data)
		data = rest
		if block == nil {
			return out, nil
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, errors.New("a PEM block is not a certificate")
		}
		out = append(out, c)
	}
}

// certChain orders certificates leaf first, each followed by its issuer,
// linking a certificate to the first other one whose subject key id is its
// authority key id, as ESO does; more than one leaf, or none, is an error.
func certChain(certs []*x509.Certificate) ([]*x509.Certificate, error) {
	parent := make([]int, len(certs))
	isParent := make([]bool, len(certs))
	for i := range certs {
		parent[i] = -1
		for j := range certs {
			if i != j && bytes.Equal(certs[i].AuthorityKeyId, certs[j].SubjectKeyId) {
				isParent[j], parent[i] = true, j
				break
			}
		}
	}
	leaf := -1
	for i := range certs {
		if !isParent[i] {
			if leaf >= 0 {
				return nil, errors.New("more than one leaf, or certificates that are not one chain")
			}
			leaf = i
		}
	}
	if leaf < 0 {
		return nil, errors.New("no leaf certificate")
	}
	var out []*x509.Certificate
	for i := leaf; i >= 0; i = parent[i] {
		if len(out) == len(certs) {
			return nil, errors.New("the chain has a cycle")
		}
		out = append(out, certs[i])
	}
	return out, nil
}

func encodeCerts(certs []*x509.Certificate) string {
	var b strings.Builder
	for _, c := range certs {
		_ = pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
	}
	return b.String()
}

func isRoot(c *x509.Certificate) bool {
	return c.AuthorityKeyId == nil || bytes.Equal(c.AuthorityKeyId, c.SubjectKeyId)
}

// filterCertChain picks the leaf, the intermediates or the root of a
// chain, as ESO does ("" when the chain has none).
func filterCertChain(certType, input string) (string, error) {
	certs, err := pemCertificates([]byte(input))
	if err != nil {
		return "", err
	}
	chain, err := certChain(certs)
	if err != nil {
		return "", err
	}
	switch certType {
	case "leaf":
		if c := chain[0]; c.AuthorityKeyId != nil && !bytes.Equal(c.AuthorityKeyId, c.SubjectKeyId) {
			return encodeCerts(chain[:1]), nil
		}
	case "intermediate":
		var mid []*x509.Certificate
		for _, c := range chain[min(1, len(chain)):] {
			if isRoot(c) {
				break
			}
			mid = append(mid, c)
		}
		return encodeCerts(mid), nil
	case "root":
		if c := chain[len(chain)-1]; isRoot(c) {
			return encodeCerts([]*x509.Certificate{c}), nil
		}
	}
	return "", nil
}

// certSANs lists the first certificate's DNS names, IP addresses, email
// addresses and URIs, in that order.
func certSANs(input string) ([]string, error) {
	block, _ := pem.Decode([]byte(trimJunk(input)))
	if block == nil {
		return nil, errors.New("certSANs: no PEM block")
	}
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, errors.New("certSANs: not a certificate")
	}
	out := append([]string{}, c.DNSNames...)
	for _, ip := range c.IPAddresses {
		out = append(out, ip.String())
	}
	out = append(out, c.EmailAddresses...)
	for _, u := range c.URIs {
		out = append(out, u.String())
	}
	return out, nil
}

// pkcs12Key is the archive's private key as PKCS#8 PEM ("PRIVATE KEY"),
// as ESO's pkcs12key does. go-pkcs12 reads archives made with OpenSSL 3's
// defaults (AES-256, PBKDF2) as well as the legacy ones.
func pkcs12Key(p12, pass string) (string, error) {
	key, _, _, err := gopkcs12.DecodeChain([]byte(p12), pass)
	if err != nil {
		return "", errPKCS12
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", errors.New("pkcs12: the private key cannot be written as PKCS#8")
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})), nil
}

// errPKCS12 never wraps the decoder's error, which could quote the input.
var errPKCS12 = errors.New("pkcs12: cannot decode the archive (wrong password or not PKCS#12)")

// pkcs12Cert is the archive's certificate and CAs, ordered as a chain
// (certChain) when they form one, else as the archive holds them, as ESO.
func pkcs12Cert(p12, pass string) (string, error) {
	_, leaf, cas, err := gopkcs12.DecodeChain([]byte(p12), pass)
	if err != nil {
		return "", errPKCS12
	}
	all := append([]*x509.Certificate{leaf}, cas...)
	if chain, err := certChain(all); err == nil {
		return encodeCerts(chain), nil
	}
	return encodeCerts(all), nil
}

// pemPrivateKey is the private key in the first PEM block of s.
func pemPrivateKey(s string) (any, error) {
	block, _ := pem.Decode([]byte(s))
	if block == nil {
		return nil, errors.New("the private key is not PEM")
	}
	return parsePrivateKey(block.Bytes)
}

func parsePrivateKey(der []byte) (any, error) {
	if k, err := x509.ParsePKCS1PrivateKey(der); err == nil {
		return k, nil
	}
	if k, err := x509.ParsePKCS8PrivateKey(der); err == nil {
		return k, nil
	}
	if k, err := x509.ParseECPrivateKey(der); err == nil {
		return k, nil
	}
	return nil, errors.New("unable to parse private key type")
}

// pemToPKCS12 is a base64 PKCS#12 archive (go-pkcs12's Modern encoder, as
// ESO uses) of the first certificate of cert and key; with full, the other
// certificates of cert are its CA certificates.
func pemToPKCS12(cert, key, pass string, full bool) (string, error) {
	certs, err := pemCertificates([]byte(cert))
	if err != nil || len(certs) == 0 {
		return "", errors.New("pkcs12: the certificate is not PEM")
	}
	k, err := pemPrivateKey(key)
	if err != nil {
		return "", fmt.Errorf("pkcs12: %w", err)
	}
	var cas []*x509.Certificate
	if full {
		cas = certs[1:]
	}
	pfx, err := gopkcs12.Modern.Encode(k, certs[0], cas, pass)
	if err != nil {
		return "", errors.New("pkcs12: cannot encode the archive")
	}
	return base64.StdEncoding.EncodeToString(pfx), nil
}

func truststoreToPKCS12(certs, pass string) (string, error) {
	cas, err := pemCertificates([]byte(certs))
	if err != nil {
		return "", err
	}
	pfx, err := gopkcs12.Modern.EncodeTrustStore(cas, pass)
	if err != nil {
		return "", errors.New("pkcs12: cannot encode the trust store")
	}
	return base64.StdEncoding.EncodeToString(pfx), nil
}

func parseJWK(s string) (map[string]string, error) {
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return nil, errors.New("jwk: not a JSON object")
	}
	out := map[string]string{}
	for k, v := range m {
		if str, ok := v.(string); ok {
			out[k] = str
		}
	}
	return out, nil
}

func b64url(s string) ([]byte, error) {
	return base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
}

func jwkInt(m map[string]string, k string) (*big.Int, error) {
	b, err := b64url(m[k])
	if err != nil || m[k] == "" {
		return nil, fmt.Errorf("jwk: %s is missing or not base64url", k)
	}
	return new(big.Int).SetBytes(b), nil
}

func jwkCurve(crv string) (elliptic.Curve, error) {
	switch crv {
	case "P-256":
		return elliptic.P256(), nil
	case "P-384":
		return elliptic.P384(), nil
	case "P-521":
		return elliptic.P521(), nil
	}
	return nil, fmt.Errorf("jwk: curve %q is not supported", crv)
}

// jwkKey is the key a JWK holds: its private key when it has "d", else
// its public key.
func jwkKey(s string) (pub, priv any, err error) {
	m, err := parseJWK(s)
	if err != nil {
		return nil, nil, err
	}
	switch m["kty"] {
	case "RSA":
		n, err := jwkInt(m, "n")
		if err != nil {
			return nil, nil, err
		}
		e, err := jwkInt(m, "e")
		if err != nil {
			return nil, nil, err
		}
		pk := &rsa.PublicKey{N: n, E: int(e.Int64())}
		if m["d"] == "" {
			return pk, nil, nil
		}
		k := &rsa.PrivateKey{PublicKey: *pk}
		if k.D, err = jwkInt(m, "d"); err != nil {
			return nil, nil, err
		}
		p, errP := jwkInt(m, "p")
		q, errQ := jwkInt(m, "q")
		if errP != nil || errQ != nil {
			return nil, nil, errors.New("jwk: an RSA private key needs p and q")
		}
		k.Primes = []*big.Int{p, q}
		if err := k.Validate(); err != nil {
			return nil, nil, errors.New("jwk: the RSA private key is not valid")
		}
		k.Precompute()
		return pk, k, nil
	case "EC":
		c, err := jwkCurve(m["crv"])
		if err != nil {
			return nil, nil, err
		}
		x, err := jwkInt(m, "x")
		if err != nil {
			return nil, nil, err
		}
		y, err := jwkInt(m, "y")
		if err != nil {
			return nil, nil, err
		}
		pk := &ecdsa.PublicKey{Curve: c, X: x, Y: y}
		if m["d"] == "" {
			return pk, nil, nil
		}
		d, err := jwkInt(m, "d")
		if err != nil {
			return nil, nil, err
		}
		return pk, &ecdsa.PrivateKey{PublicKey: *pk, D: d}, nil
	case "OKP":
		if m["crv"] != "Ed25519" {
			return nil, nil, fmt.Errorf("jwk: curve %q is not supported", m["crv"])
		}
		x, err := b64url(m["x"])
		if err != nil || len(x) != ed25519.PublicKeySize {
			return nil, nil, errors.New("jwk: x is not an Ed25519 public key")
		}
		if m["d"] == "" {
			return ed25519.PublicKey(x), nil, nil
		}
		d, err := b64url(m["d"])
		if err != nil || len(d) != ed25519.SeedSize {
			return nil, nil, errors.New("jwk: d is not an Ed25519 seed")
		}
		return ed25519.PublicKey(x), ed25519.NewKeyFromSeed(d), nil
	}
	return nil, nil, fmt.Errorf("jwk: key type %q is not supported", m["kty"])
}

// jwkPublicKeyPem is the JWK's key as PKIX "PUBLIC KEY" PEM; for a private
// JWK, as ESO, the private key is what it marshals, which only works for
// public keys, so that is an error there too.
func jwkPublicKeyPem(s string) (string, error) {
	pub, priv, err := jwkKey(s)
	if err != nil {
		return "", err
	}
	if priv != nil {
		return "", errors.New("jwkPublicKeyPem: the JWK holds a private key")
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", errors.New("jwkPublicKeyPem: the key cannot be written as PKIX")
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})), nil
}

// jwkPrivateKeyPem is the JWK's private key as PKCS#8 "PRIVATE KEY" PEM.
func jwkPrivateKeyPem(s string) (string, error) {
	_, priv, err := jwkKey(s)
	if err != nil {
		return "", err
	}
	if priv == nil {
		return "", errors.New("jwkPrivateKeyPem: the JWK holds no private key")
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return "", errors.New("jwkPrivateKeyPem: the key cannot be written as PKCS#8")
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})), nil
}

// rsaDecrypt decrypts in with RSA-OAEP and the PEM private key (scheme
// "None" returns in as it is), as ESO does; hash is SHA1, SHA256 (also the
// default) or SHA512.
func rsaDecrypt(scheme, hashName, in, privateKey string) (string, error) {
	switch scheme {
	case "None":
		return in, nil
	case "RSA-OAEP":
	default:
		return "", fmt.Errorf("rsaDecrypt: scheme %q is not supported", scheme)
	}
	k, err := pemPrivateKey(privateKey)
	if err != nil {
		return "", fmt.Errorf("rsaDecrypt: %w", err)
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return "", errors.New("rsaDecrypt: the private key is not RSA")
	}
	var h hash.Hash
	switch hashName {
	case "SHA1":
		h = sha1.New()
	case "SHA512":
		h = sha512.New()
	default:
		h = sha256.New()
	}
	out, err := rsa.DecryptOAEP(h, nil, rk, []byte(in), nil)
	if err != nil {
		return "", errors.New("rsaDecrypt: decryption failed")
	}
	return string(out), nil
}
