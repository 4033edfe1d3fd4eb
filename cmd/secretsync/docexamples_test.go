package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// invalidExample, on the line before a YAML block, marks an example that
// shows what secretsync refuses: validate must refuse it.
const invalidExample = "<!-- invalid example -->"

// docExample is one YAML block of a doc.
type docExample struct {
	where   string
	yaml    string
	invalid bool
}

// yamlExamples are the ```yaml blocks of a markdown doc.
func yamlExamples(name, doc string) []docExample {
	var out []docExample
	lines := strings.Split(doc, "\n")
	for i := 0; i < len(lines); i++ {
		if m := fence.FindStringSubmatch(lines[i]); m == nil || (m[1] != "yaml" && m[1] != "yml") {
			if m != nil { // another block: skip to its end
				for i++; i < len(lines) && fence.FindStringSubmatch(lines[i]) == nil; i++ {
				}
			}
			continue
		}
		ex := docExample{where: name + ":" + strconv.Itoa(i+1), invalid: i > 0 && strings.TrimSpace(lines[i-1]) == invalidExample}
		var body []string
		for i++; i < len(lines) && fence.FindStringSubmatch(lines[i]) == nil; i++ {
			body = append(body, lines[i])
		}
		ex.yaml = strings.Join(body, "\n") + "\n"
		out = append(out, ex)
	}
	return out
}

// specSkeleton holds a fragment of an ExternalSecret's spec (a YAML block
// indented by two spaces): the stores the fragments name, and data when
// the fragment has neither data nor dataFrom.
const specSkeleton = `apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {name: aws, namespace: docs}
spec: {provider: {aws: {service: SecretsManager, region: eu-west-1}}}
---
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {name: other, namespace: docs}
spec: {provider: {aws: {service: SecretsManager, region: eu-west-1}}}
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: example, namespace: docs}
spec:
  secretStoreRef: {name: aws, kind: SecretStore}
`

// manifestOf is the YAML validate is given for an example: a manifest as
// it is, a spec fragment inside specSkeleton; "" for YAML that is neither.
func manifestOf(y string) string {
	if strings.Contains(y, "apiVersion:") && strings.Contains(y, "kind:") {
		return y
	}
	first := ""
	for _, l := range strings.Split(y, "\n") {
		if strings.TrimSpace(l) != "" {
			first = l
			break
		}
	}
	if !strings.HasPrefix(first, "  ") || strings.HasPrefix(first, "   ") {
		return ""
	}
	m := specSkeleton + y
	if !strings.Contains(y, "\n  data:") && !strings.HasPrefix(y, "  data:") && !strings.Contains(y, "\n  dataFrom:") && !strings.HasPrefix(y, "  dataFrom:") {
		m += "  data:\n    - {secretKey: user, remoteRef: {key: app/db, property: user}}\n" +
			"    - {secretKey: password, remoteRef: {key: app/db, property: password}}\n" +
			"    - {secretKey: registry, remoteRef: {key: app/db, property: registry}}\n"
	}
	return m
}

// TestEveryYAMLExampleInTheDocsIsValid: each YAML block of README.md and
// docs/*.md is a manifest (or a fragment of an ExternalSecret's spec,
// checked inside a skeleton) that secretsync validate accepts, unless it is
// marked as an invalid example, which validate must then refuse.
func TestEveryYAMLExampleInTheDocsIsValid(t *testing.T) {
	n := 0
	for _, path := range userDocs(t) {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, ex := range yamlExamples(strings.TrimPrefix(path, "../../"), string(b)) {
			n++
			m := manifestOf(ex.yaml)
			if m == "" {
				t.Errorf("%s: a YAML block that is neither a manifest nor a fragment of an ExternalSecret's spec (indented by two spaces)", ex.where)
				continue
			}
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "example.yaml"), []byte(m), 0o644); err != nil {
				t.Fatal(err)
			}
			var out, errOut bytes.Buffer
			code := cli("validate", []string{dir}, &out, &errOut)
			switch {
			case ex.invalid && code != exitFindings:
				t.Errorf("%s: marked %s, but validate exits %d:\n%s%s", ex.where, invalidExample, code, out.String(), errOut.String())
			case !ex.invalid && code != exitClean:
				t.Errorf("%s: validate exits %d:\n%s%s", ex.where, code, out.String(), errOut.String())
			}
		}
	}
	if n < 5 {
		t.Fatalf("found only %d YAML examples in the docs: the scanner lost them", n)
	}
}
