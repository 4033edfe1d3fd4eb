package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"testing"

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
