package codeshape

import (
	"go/scanner"
	"go/token"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
)

// rule is one known rule of the project (issue 25, item 3: each rule
// once): the file that is its one home, and the expressions that give away
// a copy of it, matched against code with comments dropped and one space
// between tokens.
type rule struct {
	name  string
	home  string
	tells []string
}

var knownRules = []rule{
	{
		name: "ownership: the labels that make a Secret this instance's",
		home: "plan/owns.go",
		tells: []string{
			`(?:==|!=) (?:reconciler \. )?ManagedByValue\b`,
			`\bLabels \[ (?:reconciler \. )?Label(?:ManagedBy|Instance) \] (?:==|!=)`,
		},
	},
	{
		name: "refresh due: when values (and generators) are fetched again",
		home: "plan/refresh.go",
		tells: []string{
			`(?:==|!=) "(?:CreatedOnce|OnChange)"`,
			`\bcase "(?:CreatedOnce|OnChange)" :`,
			`\binterval (?:<=|<|>|==|!=) 0\b`, // a refreshInterval of 0: once
		},
	},
	{
		name: "prune guard: the budget and the empty-revision refusal",
		home: "inventory/guard.go",
		tells: []string{
			`\+ 3 \) / 4\b`, // a quarter of the inventory, rounded up
			`renders no (?:ExternalSecret|%s) while the inventory holds`,
		},
	},
	{
		name: "namespace scope: what a manifest's reads may reach (render.Asker.Scope)",
		home: "render/scope.go",
		tells: []string{
			`Errorf \( "[^"]*" , (?:render \. )?ErrOutOfScope\b`, // wrapping it is a scope decision
			`may only read its own namespace`,
			`names no namespace, so it reads that of the ExternalSecret it serves`,
		},
	},
}

// knownRestatements are copies of a rule that exist today and that their
// owners are removing. TEMPORARY: the integrator removes each entry when
// its owner's branch lands; the test fails on an entry that is no longer a
// copy.
var knownRestatements = map[string]string{}

// codeTokens is a file's code as its tokens separated by one space, without
// comments, so that a pattern does not depend on layout.
func codeTokens(src []byte) string {
	fset := token.NewFileSet()
	file := fset.AddFile("", fset.Base(), len(src))
	var s scanner.Scanner
	s.Init(file, src, nil, 0)
	var b strings.Builder
	for {
		_, tok, lit := s.Scan()
		if tok == token.EOF {
			break
		}
		text := tok.String()
		switch {
		case tok == token.SEMICOLON:
			text = ";"
		case lit != "":
			text = lit
		}
		b.WriteString(text)
		b.WriteByte(' ')
	}
	return b.String()
}

// ruleSites maps each rule to the files where one of its tells appears.
func ruleSites(files []sourceFile, rules []rule) map[string][]string {
	sites := map[string][]string{}
	for _, f := range files {
		code := codeTokens(f.text)
		for _, r := range rules {
			for _, tell := range r.tells {
				if regexp.MustCompile(tell).MatchString(code) {
					sites[r.name] = append(sites[r.name], f.rel)
					break
				}
			}
		}
	}
	for _, files := range sites {
		sort.Strings(files)
	}
	return sites
}

func TestEachKnownRuleLivesInOneFile(t *testing.T) {
	sites := ruleSites(productionFiles(t), knownRules)
	for _, r := range knownRules {
		if !slices.Contains(sites[r.name], r.home) {
			t.Errorf("rule %q: none of its tells is in its home %s any more; if the rule moved, set its home to the new file", r.name, r.home)
		}
		for _, file := range sites[r.name] {
			key := r.name + " @ " + file
			if _, known := knownRestatements[key]; file == r.home || known {
				continue
			}
			t.Errorf("rule %q is restated in %s: call its home (%s) instead of deciding it again", r.name, file, r.home)
		}
	}
	for key, owner := range knownRestatements {
		name, file, _ := strings.Cut(key, " @ ")
		if !slices.Contains(sites[name], file) {
			t.Errorf("%s no longer restates rule %q (owner %s): remove the exemption", file, name, owner)
		}
	}
}

// TestRuleTellsFindTheirCopies holds the tells themselves: each rule's
// patterns match a copy of it written as it is written today, and not the
// unrelated code beside them.
func TestRuleTellsFindTheirCopies(t *testing.T) {
	copies := []sourceFile{
		{rel: "cmd/x/owner.go", text: []byte("package x\nfunc f() bool { return e.ManagedBy != reconciler.ManagedByValue }\n")},
		{rel: "cmd/x/labels.go", text: []byte("package x\nfunc f() bool {\n\treturn m.Labels[LabelInstance] == name\n}\n")},
		{rel: "cmd/x/refresh.go", text: []byte("package x\nfunc f() bool {\n\tswitch p {\n\tcase \"CreatedOnce\":\n\t\treturn false\n\t}\n\treturn true\n}\n")},
		{rel: "cmd/x/zero.go", text: []byte("package x\nfunc f() bool { return st.interval > 0 }\n")},
		{rel: "cmd/x/budget.go", text: []byte("package x\nfunc f(n int) int { return max((n+3)/4, 50) }\n")},
		{rel: "cmd/x/scope.go", text: []byte("package x\nfunc f() error { return fmt.Errorf(\"%w: no\", render.ErrOutOfScope) }\n")},
		{rel: "cmd/x/unrelated.go", text: []byte("package x\n// owns: Labels[LabelManagedBy] != ManagedByValue, (inv+3)/4\n" +
			"func f() bool { return t == providers.ManagedByValue && c.Interval > 0 && errors.Is(err, render.ErrOutOfScope) && p == \"Periodic\" }\n")},
	}
	sites := ruleSites(copies, knownRules)
	want := map[string][]string{
		knownRules[0].name: {"cmd/x/labels.go", "cmd/x/owner.go"},
		knownRules[1].name: {"cmd/x/refresh.go", "cmd/x/zero.go"},
		knownRules[2].name: {"cmd/x/budget.go"},
		knownRules[3].name: {"cmd/x/scope.go"},
	}
	for _, r := range knownRules {
		if got := sites[r.name]; !slices.Equal(got, want[r.name]) {
			t.Errorf("rule %q found in %v, want %v", r.name, got, want[r.name])
		}
	}
}
