package render

import (
	"bytes"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"text/template"

	"github.com/Masterminds/sprig/v3"
	"sigs.k8s.io/yaml"
	gopkcs12 "software.sslmate.com/src/go-pkcs12"
)

// refusedFuncs are sprig functions a template may not call, and why: a
// template runs on secret values, so nothing it calls may reach outside the
// process or put a value into a message.
var refusedFuncs = map[string]string{
	"env":           "it reads secretsync's environment",
	"expandenv":     "it reads secretsync's environment",
	"getHostByName": "it sends a DNS query, which can carry a value out of the cluster",
	"fail":          "its message could carry a value",
}

// TemplateFuncs are the functions a target.template may use: sprig without
// refusedFuncs, plus ESO's helpers that secretsync implements:
// toJson/fromJson, toYaml/fromYaml, filterPEM, pkcs12key, pkcs12keyPass,
// pkcs12cert and pkcs12certPass.
func TemplateFuncs() template.FuncMap {
	f := sprig.TxtFuncMap()
	for name := range refusedFuncs {
		delete(f, name)
	}
	f["fromJson"] = func(s string) (any, error) {
		var v any
		err := json.Unmarshal([]byte(s), &v)
		return v, err
	}
	// As ESO's toYaml: no trailing newline.
	f["toYaml"] = func(v any) (string, error) {
		b, err := yaml.Marshal(v)
		return strings.TrimSuffix(string(b), "\n"), err
	}
	f["fromYaml"] = func(s string) (any, error) {
		var v any
		err := yaml.Unmarshal([]byte(s), &v)
		return v, err
	}
	f["filterPEM"] = filterPEM
	f["pkcs12key"] = func(p12 string) (string, error) { return pkcs12Key(p12, "") }
	f["pkcs12keyPass"] = func(pass, p12 string) (string, error) { return pkcs12Key(p12, pass) }
	f["pkcs12cert"] = func(p12 string) (string, error) { return pkcs12Cert(p12, "") }
	f["pkcs12certPass"] = func(pass, p12 string) (string, error) { return pkcs12Cert(p12, pass) }
	return f
}

// undefinedFunc finds the name in text/template's error for a function
// the FuncMap lacks.
var undefinedFunc = regexp.MustCompile(`function "([^"]+)" not defined`)

// ParseTemplate parses one template with TemplateFuncs. A template that
// calls a refused function is told which and why.
func ParseTemplate(name, body string) (*template.Template, error) {
	tpl, err := template.New(name).Option("missingkey=error").Funcs(guardedFuncs).Parse(body)
	if err != nil {
		if m := undefinedFunc.FindStringSubmatch(err.Error()); m != nil {
			if why, refused := refusedFuncs[m[1]]; refused {
				return nil, fmt.Errorf("template %s: function %s is not allowed: %s", name, m[1], why)
			}
			return nil, fmt.Errorf("template %s: function %s is not supported by secretsync", name, m[1])
		}
	}
	return tpl, err
}

// filterPEM keeps the PEM blocks of one type, as ESO's filterPEM does.
func filterPEM(blockType, input string) (string, error) {
	var out strings.Builder
	rest := []byte(input)
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type == blockType {
			if err := pem.Encode(&out, block); err != nil {
				return "", err
			}
		}
	}
	if out.Len() == 0 {
		return "", errors.New("filterPEM: no block of type " + blockType)
	}
	return out.String(), nil
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

// pkcs12Cert is the archive's certificate followed by its chain, each CA
// after the certificate it issued, as ESO's pkcs12cert orders them; CAs
// that issued none of them follow in the archive's order.
func pkcs12Cert(p12, pass string) (string, error) {
	_, leaf, cas, err := gopkcs12.DecodeChain([]byte(p12), pass)
	if err != nil {
		return "", errPKCS12
	}
	var out strings.Builder
	_ = pem.Encode(&out, &pem.Block{Type: "CERTIFICATE", Bytes: leaf.Raw})
	used := make([]bool, len(cas))
	for cur := leaf; ; {
		next := -1
		for i, ca := range cas {
			if !used[i] && !bytes.Equal(cur.RawIssuer, cur.RawSubject) && bytes.Equal(ca.RawSubject, cur.RawIssuer) {
				next = i
				break
			}
		}
		if next < 0 {
			break
		}
		used[next] = true
		cur = cas[next]
		_ = pem.Encode(&out, &pem.Block{Type: "CERTIFICATE", Bytes: cur.Raw})
	}
	for i, ca := range cas {
		if !used[i] {
			_ = pem.Encode(&out, &pem.Block{Type: "CERTIFICATE", Bytes: ca.Raw})
		}
	}
	return out.String(), nil
}
