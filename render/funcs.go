package render

import (
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"text/template"

	"github.com/Masterminds/sprig/v3"
	"golang.org/x/crypto/pkcs12"
	"sigs.k8s.io/yaml"
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
	f["toYaml"] = func(v any) (string, error) {
		b, err := yaml.Marshal(v)
		return string(b), err
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

func pkcs12Blocks(p12, pass string) ([]*pem.Block, error) {
	blocks, err := pkcs12.ToPEM([]byte(p12), pass)
	if err != nil {
		return nil, errors.New("pkcs12: cannot decode the archive (wrong password or not PKCS#12)")
	}
	return blocks, nil
}

func pkcs12Key(p12, pass string) (string, error) {
	blocks, err := pkcs12Blocks(p12, pass)
	if err != nil {
		return "", err
	}
	for _, b := range blocks {
		if strings.Contains(b.Type, "PRIVATE KEY") {
			return string(pem.EncodeToMemory(&pem.Block{Type: b.Type, Bytes: b.Bytes})), nil
		}
	}
	return "", errors.New("pkcs12: no private key")
}

func pkcs12Cert(p12, pass string) (string, error) {
	blocks, err := pkcs12Blocks(p12, pass)
	if err != nil {
		return "", err
	}
	var out strings.Builder
	for _, b := range blocks {
		if b.Type == "CERTIFICATE" {
			_ = pem.Encode(&out, &pem.Block{Type: b.Type, Bytes: b.Bytes})
		}
	}
	if out.Len() == 0 {
		return "", errors.New("pkcs12: no certificate")
	}
	return out.String(), nil
}
