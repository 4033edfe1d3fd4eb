package main

import (
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// foreignFlags are flags the docs name that belong to another program,
// with it: they are not secretsync's.
var foreignFlags = map[string]string{
	"--unsafe-allow-generic-targets": "External Secrets Operator",
}

// docCommand is one secretsync command line quoted in a doc.
type docCommand struct {
	where string
	args  []string // after "secretsync"
}

// TestEveryCommandAndFlagInTheDocsExists: every secretsync command line a
// doc quotes (README.md, docs/*.md: code blocks and inline code) parses
// as the command tree parses it (the command exists, each flag is one of
// its own or a global one, each -o value is one it prints), and every flag
// named alone in inline code is a flag of some command, or is listed in
// foreignFlags with the program it belongs to.
func TestEveryCommandAndFlagInTheDocsExists(t *testing.T) {
	known := map[string]bool{"--help": true, "-h": true, "--version": true}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, fs := range []*pflag.FlagSet{c.Flags(), c.PersistentFlags()} {
			fs.VisitAll(func(f *pflag.Flag) {
				known["--"+f.Name] = true
				if f.Shorthand != "" {
					known["-"+f.Shorthand] = true
				}
			})
		}
		for _, s := range c.Commands() {
			walk(s)
		}
	}
	root := docRoot()
	walk(root)
	subcommands := map[string]bool{}
	for _, c := range root.Commands() {
		subcommands[c.Name()] = true
	}
	commands, flags, foreignUsed := 0, 0, map[string]bool{}
	for _, path := range userDocs(t) {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		name := strings.TrimPrefix(path, "../../")
		cmds, alone := docCommandLines(name, string(b), subcommands)
		for _, c := range cmds {
			commands++
			if err := parseDocCommand(c.args); err != nil {
				t.Errorf("%s: secretsync %s: %v", c.where, strings.Join(c.args, " "), err)
			}
		}
		for _, f := range alone {
			flags++
			flag, _, _ := strings.Cut(f.args[0], "=")
			foreignUsed[flag] = true
			if !known[flag] && foreignFlags[flag] == "" {
				t.Errorf("%s: %s is no flag of secretsync (if it is another program's, list it in foreignFlags)", f.where, flag)
			}
		}
	}
	for f := range foreignFlags {
		if !foreignUsed[f] || known[f] {
			t.Errorf("foreignFlags lists %s, which no doc names or which is secretsync's own", f)
		}
	}
	if commands < 50 || flags < 50 {
		t.Fatalf("found only %d command lines and %d flags in the docs: the scanner lost them", commands, flags)
	}
}

// docRoot is the command tree as Execute completes it: help and
// completion commands, help and version flags.
func docRoot() *cobra.Command {
	root := newRootCmd(streams{strings.NewReader(""), io.Discard, io.Discard})
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	root.InitDefaultVersionFlag()
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		c.InitDefaultHelpFlag()
		for _, s := range c.Commands() {
			walk(s)
		}
	}
	walk(root)
	return root
}

// parseDocCommand parses args as `secretsync args...` would be, without
// running anything.
func parseDocCommand(args []string) error {
	root := docRoot()
	c, rest, err := root.Find(args)
	if err != nil {
		return err
	}
	return c.ParseFlags(rest)
}

var (
	fence      = regexp.MustCompile("(?m)^\\s*```(\\w*)\\s*$")
	inlineCode = regexp.MustCompile("`([^`]+)`")
	flagLike   = regexp.MustCompile(`^--?[A-Za-z]`)
)

// docCommandLines finds the secretsync command lines of a markdown doc (in
// shell code blocks and inline code; inline code may leave out
// "secretsync" before a command and a flag), and the flags it names alone
// in inline code.
func docCommandLines(name, doc string, subcommand map[string]bool) (cmds, alone []docCommand) {
	lines := strings.Split(doc, "\n")
	var prose strings.Builder
	lang, inBlock := "", false
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		if m := fence.FindStringSubmatch(line); m != nil {
			inBlock, lang = !inBlock, m[1]
			prose.WriteString("\n")
			continue
		}
		if !inBlock {
			prose.WriteString(line + "\n")
			continue
		}
		prose.WriteString("\n")
		if lang != "sh" && lang != "bash" && lang != "console" && lang != "shell" && lang != "" {
			// text, yaml, json...: output and manifests, not command lines
			continue
		}
		where := name + ":" + strconv.Itoa(i+1)
		for strings.HasSuffix(line, "\\") && i+1 < len(lines) {
			i++
			prose.WriteString("\n")
			line = strings.TrimSuffix(line, "\\") + " " + lines[i]
		}
		line = strings.TrimPrefix(strings.TrimSpace(line), "$ ")
		for _, seg := range shellSegments(line) {
			if len(seg) > 0 && isSecretsync(seg[0]) {
				cmds = append(cmds, docCommand{where, seg[1:]})
			}
		}
	}
	// Inline code, line numbers counted in the prose (code blocks blanked).
	text := prose.String()
	for _, m := range inlineCode.FindAllStringSubmatchIndex(text, -1) {
		where := name + ":" + strconv.Itoa(strings.Count(text[:m[0]], "\n")+1)
		code := strings.Join(strings.Fields(text[m[2]:m[3]]), " ")
		for _, seg := range shellSegments(code) {
			switch {
			case len(seg) == 0:
			case isSecretsync(seg[0]):
				cmds = append(cmds, docCommand{where, seg[1:]})
			case flagLike.MatchString(seg[0]):
				alone = append(alone, docCommand{where, seg[:1]})
			case subcommand[seg[0]] && len(seg) > 1 && flagLike.MatchString(seg[1]):
				cmds = append(cmds, docCommand{where, seg})
			}
		}
	}
	return cmds, alone
}

func isSecretsync(word string) bool {
	return word == "secretsync" || word == "bin/secretsync" || word == "./bin/secretsync"
}

// shellSegments splits a shell line into the words of each simple command:
// quotes group words, a comment ends the line, and pipes, lists and
// redirections (with their targets) end a command.
func shellSegments(line string) [][]string {
	var segs [][]string
	var cur []string
	var word strings.Builder
	inWord, skipNext := false, false
	flush := func() {
		if inWord {
			if !skipNext {
				cur = append(cur, word.String())
			}
			skipNext = false
		}
		word.Reset()
		inWord = false
	}
	end := func() {
		flush()
		segs = append(segs, cur)
		cur = nil
	}
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == '\'' || c == '"':
			j := strings.IndexByte(line[i+1:], c)
			if j < 0 {
				j = len(line) - i - 1
			}
			word.WriteString(line[i+1 : i+1+j])
			inWord = true
			i += j + 1
		case c == ' ' || c == '\t':
			flush()
		case c == '#' && !inWord:
			end()
			return segs
		case c == '|' || c == ';' || c == '&':
			end()
		case c == '>' || c == '<':
			if word.String() == "2" || word.String() == "1" {
				word.Reset()
				inWord = false
			}
			flush()
			skipNext = true
		default:
			word.WriteByte(c)
			inWord = true
		}
	}
	end()
	return segs
}

// TestTheDocsCommandCheckRefusesWhatTheTreeRefuses: the scanner finds
// command lines in shell blocks (prompts, continuations, pipes) and inline
// code (with or without "secretsync"), and parseDocCommand refuses an
// unknown command, an unknown or misplaced flag and a format the command
// does not print, so TestEveryCommandAndFlagInTheDocsExists checks them.
func TestTheDocsCommandCheckRefusesWhatTheTreeRefuses(t *testing.T) {
	doc := "```sh\n$ secretsync render -o table   # not a format of render\n" +
		"bin/secretsync status -A \\\n  --no-such-flag | jq .\n" +
		"kubectl get pods; secretsync frobnicate\n```\n\n" +
		"Run `validate --watch` or `secretsync plan --base main -o wide`, not `--nope`.\n" +
		"```yaml\nrun: secretsync validate --not-checked-in-yaml\n```\n"
	root := docRoot()
	subs := map[string]bool{}
	for _, c := range root.Commands() {
		subs[c.Name()] = true
	}
	cmds, alone := docCommandLines("doc.md", doc, subs)
	var got []string
	for _, c := range cmds {
		err := parseDocCommand(c.args)
		if err == nil {
			t.Errorf("%s: secretsync %s parsed", c.where, strings.Join(c.args, " "))
			continue
		}
		got = append(got, c.where+" "+strings.Join(c.args, " "))
	}
	want := []string{
		"doc.md:2 render -o table",
		"doc.md:3 status -A --no-such-flag",
		"doc.md:5 frobnicate",
		"doc.md:8 validate --watch",
		"doc.md:8 plan --base main -o wide",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("refused command lines:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(alone) != 1 || alone[0].args[0] != "--nope" || alone[0].where != "doc.md:8" {
		t.Errorf("flags named alone: %+v, want --nope at doc.md:8", alone)
	}
	if err := parseDocCommand([]string{"plan", "--base", "main", "-o", "markdown"}); err != nil {
		t.Errorf("a good command line is refused: %v", err)
	}
}
