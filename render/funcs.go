package render

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"text/template"

	"github.com/Masterminds/sprig/v3"
	"sigs.k8s.io/yaml"
)

// refusedFuncs are sprig functions a template may not call, and why: a
// template runs on secret values, so nothing it calls may reach outside the
// process or put a value into a message.
var refusedFuncs = map[string]string{
	"env":           "it reads secretsync's environment",
	"expandenv":     "it reads secretsync's environment",
	"getHostByName": "it sends a DNS query, which can carry a value out of the cluster",
}

// TemplateFuncs are the functions a target.template may use: sprig without
// refusedFuncs, plus ESO's own: fromJson, toYaml/fromYaml, and the
// certificate, key and JWK functions of funcs_pki.go.
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
	// fail stops the template, as in ESO; its message is told only when
	// it is text of the template (redact, staticFailMessage).
	f["fail"] = func(string) (string, error) { return "", errFail }
	f["fromYaml"] = func(s string) (any, error) {
		var v any
		err := yaml.Unmarshal([]byte(s), &v)
		return v, err
	}
	// text/template's own print and escaping functions, as functions of
	// ours, so that the budget measures them as any other (nested js
	// doubles every backslash: a builtin left unmeasured grows without
	// bound).
	f["print"], f["printf"], f["println"] = fmt.Sprint, fmt.Sprintf, fmt.Sprintln
	f["html"], f["js"], f["urlquery"] = template.HTMLEscaper, template.JSEscaper, template.URLQueryEscaper
	for name, fn := range pkiFuncs() {
		f[name] = fn
	}
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
