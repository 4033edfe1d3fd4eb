package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

var updateDocs = flag.Bool("update", false, "rewrite docs/cli.md's command reference from the command tree")

const (
	refBegin = "<!-- command reference: generated from the command tree by `go test ./cmd/secretsync -run TestTheCommandReference -update` -->\n"
	refEnd   = "<!-- end of command reference -->\n"
)

// TestTheCommandReference: docs/cli.md's command reference is what
// the command tree says (every command, argument and flag, with its
// environment variable and default), so the two cannot drift apart.
func TestTheCommandReference(t *testing.T) {
	// Defaults come from the environment: document those of a clean one.
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "SECRETSYNC_") || k == "AWS_REGION" || k == "POD_NAMESPACE" || k == "KUBECONFIG" {
			t.Setenv(k, "")
			os.Unsetenv(k)
		}
	}
	t.Setenv("TMPDIR", "/tmp")
	want := refBegin + commandReference(newRootCmd(streams{nil, io.Discard, io.Discard})) + refEnd
	b, err := os.ReadFile("../../docs/cli.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	i, j := strings.Index(doc, refBegin), strings.Index(doc, refEnd)
	if i < 0 || j < i {
		t.Fatal("docs/cli.md has no command reference markers")
	}
	got := doc[i : j+len(refEnd)]
	if got == want {
		return
	}
	if *updateDocs {
		if err := os.WriteFile("../../docs/cli.md", []byte(doc[:i]+want+doc[j+len(refEnd):]), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Fatal("docs/cli.md's command reference is out of date: run go test ./cmd/secretsync -run TestTheCommandReference -update")
}

var envInUsage = regexp.MustCompile(`\s*\[([A-Z_]+(?:, else [A-Z_]+)?(?:, else [^\]]+)?)\]$`)

// commandReference is the markdown reference of every command under root.
func commandReference(root *cobra.Command) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Global flags, for every command:\n\n")
	flagTable(&b, root.PersistentFlags())
	for _, c := range root.Commands() {
		if c.Hidden || c.Name() == "help" || c.Name() == "completion" {
			continue
		}
		fmt.Fprintf(&b, "\n## `secretsync %s`\n\n%s.", c.Use, c.Short)
		if c.Example != "" {
			first, _, _ := strings.Cut(strings.TrimSpace(c.Example), "\n")
			fmt.Fprintf(&b, " Example: `%s`", first)
		}
		fmt.Fprintf(&b, "\n\n")
		flagTable(&b, c.LocalNonPersistentFlags())
	}
	fmt.Fprintf(&b, "\n## `secretsync completion bash|zsh|fish|powershell`\n\nPrints a shell completion script, e.g. `source <(secretsync completion bash)`.\n")
	return b.String()
}

func flagTable(b *strings.Builder, fs *pflag.FlagSet) {
	fmt.Fprintln(b, "| flag | env | default | meaning |")
	fmt.Fprintln(b, "|---|---|---|---|")
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Hidden || f.Name == "help" {
			return
		}
		name := "`--" + f.Name + "`"
		if f.Shorthand != "" {
			name = "`-" + f.Shorthand + "`, " + name
		}
		usage, env := f.Usage, ""
		if m := envInUsage.FindStringSubmatch(usage); m != nil {
			env, usage = m[1], strings.TrimSuffix(usage, m[0])
		}
		def := f.DefValue
		if def == "false" || def == "0" || def == "[]" {
			def = ""
		}
		if def != "" {
			def = "`" + def + "`"
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s |\n", name, env, def, strings.ReplaceAll(usage, "|", `\|`))
	})
}

// TestTheRootHelpNamesEveryValueSource: `secretsync --help` names every
// place a value can come from: each AWS service a store can name
// (render's `service` values) and generators.
func TestTheRootHelpNamesEveryValueSource(t *testing.T) {
	long := strings.Join(strings.Fields(newRootCmd(streams{nil, io.Discard, io.Discard}).Long), " ")
	for service, words := range map[string]string{
		"SecretsManager": "Secrets Manager", "ParameterStore": "Parameter Store",
		"CertificateManager": "Certificate Manager", "KMS": "KMS",
	} {
		if !strings.Contains(long, words) {
			t.Errorf("secretsync --help does not name %s (service: %s)", words, service)
		}
	}
	if !strings.Contains(long, "generators") {
		t.Error("secretsync --help does not name generators")
	}
}

// TestTheREADMEStaysShort: README.md is what secretsync is, the two
// commands, install and a minimal repo, and links; the rest is in docs/.
func TestTheREADMEStaysShort(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(b), "\n"); n >= 250 {
		t.Errorf("README.md has %d lines; keep it under 250 and move the detail to a page of docs/", n)
	}
}

var mdLink = regexp.MustCompile(`\]\(([^)#\s]*)(#[^)\s]*)?\)`)

// TestTheDocsLinksResolve: every relative link of README.md, docs/*.md,
// DEVELOPERS.md and CHANGELOG.md names a file that exists, and an anchor
// into a markdown file names one of its headings.
func TestTheDocsLinksResolve(t *testing.T) {
	docs := append(userDocs(t), "../../DEVELOPERS.md", "../../CHANGELOG.md")
	for _, path := range docs {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range mdLink.FindAllStringSubmatch(string(b), -1) {
			target, anchor := m[1], strings.TrimPrefix(m[2], "#")
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			file := path
			if target != "" {
				file = filepath.Join(filepath.Dir(path), target)
			}
			doc, err := os.ReadFile(file)
			if err != nil {
				t.Errorf("%s: link %s: %v", strings.TrimPrefix(path, "../../"), m[0], err)
				continue
			}
			if anchor != "" && strings.HasSuffix(file, ".md") && !slices.Contains(headingAnchors(string(doc)), anchor) {
				t.Errorf("%s: link %s: no heading of %s has the anchor #%s", strings.TrimPrefix(path, "../../"), m[0], strings.TrimPrefix(file, "../../"), anchor)
			}
		}
	}
}

// headingAnchors are the anchors GitHub gives a markdown file's headings:
// lower case, punctuation dropped, spaces as hyphens.
func headingAnchors(doc string) []string {
	var out []string
	for _, l := range proseLines(doc) {
		h, ok := strings.CutPrefix(l, "#")
		if !ok {
			continue
		}
		h = strings.ToLower(strings.TrimSpace(strings.TrimLeft(h, "#")))
		var b strings.Builder
		for _, r := range h {
			switch {
			case r == ' ':
				b.WriteRune('-')
			case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
				b.WriteRune(r)
			}
		}
		out = append(out, b.String())
	}
	return out
}

// TestTheInstallPageExplainsEveryIAMStatement: docs/install.md's table of
// the IAM policy names each statement of docs/iam-policy.json with exactly
// its actions, so the page cannot say the policy "needs only" part of it.
func TestTheInstallPageExplainsEveryIAMStatement(t *testing.T) {
	b, err := os.ReadFile("../../docs/iam-policy.json")
	if err != nil {
		t.Fatal(err)
	}
	var policy struct {
		Statement []struct {
			Sid    string
			Action json.RawMessage
		}
	}
	if err := json.Unmarshal(b, &policy); err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{}
	for _, s := range policy.Statement {
		var actions []string
		if err := json.Unmarshal(s.Action, &actions); err != nil {
			var one string
			if err := json.Unmarshal(s.Action, &one); err != nil {
				t.Fatalf("statement %s: Action: %v", s.Sid, err)
			}
			actions = []string{one}
		}
		slices.Sort(actions)
		want[s.Sid] = actions
	}
	page, err := os.ReadFile("../../docs/install.md")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	row := regexp.MustCompile("^\\| `(\\w+)` \\| ([^|]+) \\|")
	for _, l := range strings.Split(string(page), "\n") {
		m := row.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		var actions []string
		for _, a := range codeSpan.FindAllString(m[2], -1) {
			actions = append(actions, strings.Trim(a, "`"))
		}
		slices.Sort(actions)
		got[m[1]] = actions
	}
	for sid, actions := range want {
		if !slices.Equal(got[sid], actions) {
			t.Errorf("docs/install.md gives statement %s the actions %v; docs/iam-policy.json gives %v", sid, got[sid], actions)
		}
	}
	for sid := range got {
		if want[sid] == nil {
			t.Errorf("docs/install.md names statement %s, which docs/iam-policy.json does not have", sid)
		}
	}
}

// TestTheLayoutNamesEveryPackage: DEVELOPERS.md's Layout table names each
// folder of Go code (or a folder above it), so no package goes undescribed.
func TestTheLayoutNamesEveryPackage(t *testing.T) {
	b, err := os.ReadFile("../../DEVELOPERS.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	start := strings.Index(doc, "## Layout\n")
	if start < 0 {
		t.Fatal("DEVELOPERS.md has no Layout section")
	}
	named := map[string]bool{}
	for _, l := range strings.Split(doc[start:], "\n")[1:] {
		if strings.HasPrefix(l, "## ") {
			break
		}
		if first, _, ok := strings.Cut(strings.TrimPrefix(l, "| "), " |"); ok {
			for _, s := range codeSpan.FindAllString(first, -1) {
				named[strings.TrimSuffix(strings.Trim(s, "`"), "/")] = true
			}
		}
	}
	err = filepath.WalkDir("../..", func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") && path != "../.." || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		dir, _ := filepath.Rel("../..", filepath.Dir(path))
		for p := dir; p != "."; p = filepath.Dir(p) {
			if named[filepath.ToSlash(p)] {
				return nil
			}
		}
		t.Errorf("DEVELOPERS.md's Layout table names neither %s nor a folder above it", dir)
		return filepath.SkipDir
	})
	if err != nil {
		t.Fatal(err)
	}
}

var envName = regexp.MustCompile(`SECRETSYNC_[A-Z0-9_]*[A-Z0-9]`)

// TestEveryEnvironmentVariableInTheDocsExists: each SECRETSYNC_ variable
// README.md and docs/*.md name is read by the code (a flag's variable, a
// secret read only from the environment) or set by the chart, a script or
// a CI example: named in a file that is not documentation or a test.
func TestEveryEnvironmentVariableInTheDocsExists(t *testing.T) {
	inSource := map[string]bool{}
	err := filepath.WalkDir("../..", func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if strings.HasPrefix(d.Name(), ".") && path != "../.." || d.Name() == "testdata" || d.Name() == "docs" || path == "../../bin" || path == "../../dist" {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(path, ".md") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, n := range envName.FindAllString(string(b), -1) {
			inSource[n] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range userDocs(t) {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range envName.FindAllString(string(b), -1) {
			if !inSource[n] {
				t.Errorf("%s names %s, which nothing reads or sets", strings.TrimPrefix(path, "../../"), n)
				inSource[n] = true // once
			}
		}
	}
}
