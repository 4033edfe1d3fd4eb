package desired_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/secretsync/secretsync/desired"
	"github.com/secretsync/secretsync/internal/leaktest"
	"github.com/secretsync/secretsync/render"
)

// TestARewriteTemplateBombStopsAtTheBudget: a rewrite transform is a
// template too, run under the same budget: a `repeat` bomb on a key name is
// an error, and a transform within it still renames.
func TestARewriteTemplateBombStopsAtTheBudget(t *testing.T) {
	g := &render.Generator{}
	g.Kind, g.Name = render.KindUUID, "id"
	bomb := []render.Rewrite{{Transform: &render.RewriteTransform{Template: `{{ repeat 100000000 .value }}`}}}
	if _, err := desired.GeneratedKeys(g, bomb); !errors.Is(err, render.ErrBudget) {
		t.Fatalf("want a budget error, got %v", err)
	}
	upper := []render.Rewrite{{Transform: &render.RewriteTransform{Template: `{{ .value | upper }}`}}}
	if keys, err := desired.GeneratedKeys(g, upper); err != nil || keys["uuid"] != "UUID" {
		t.Fatalf("a transform within the budget: %v, %v", keys, err)
	}
}

// TestARewriteMergeIsBoundedByTheBudget: a repo writer chooses what a merge
// reads and how often (a priority key listed again and again, merges that
// read each other's output), and the values can be deep JSON. Each ends as
// an error of that ExternalSecret, within render.MaxMergeBytes of work.
func TestARewriteMergeIsBoundedByTheBudget(t *testing.T) {
	big := `{"k":"` + strings.Repeat("v", 64<<10) + `"}`
	r := remote{"big/one": big, "deep/one": strings.Repeat(`{"a":`, 20_000) + "1" + strings.Repeat("}", 20_000)}
	repeated := make([]string, 10_000) // 640 MiB of reading, unbounded
	for i := range repeated {
		repeated[i] = "one"
	}
	chain := []render.Rewrite{strip("big/")}
	for i := range 1000 { // each merge reads every earlier one's output
		chain = append(chain, render.Rewrite{Merge: &render.RewriteMerge{Strategy: "JSON", Into: fmt.Sprintf("m%d", i), ConflictPolicy: "Ignore"}})
	}
	cases := []struct {
		name string
		es   *render.ExternalSecret
		want error
		text string
	}{
		{"a priority key listed 10,000 times", withDataFrom(render.DataFrom{Find: findPath("big/"),
			Rewrite: []render.Rewrite{strip("big/"), {Merge: &render.RewriteMerge{ConflictPolicy: "Ignore", Priority: repeated}}}}), render.ErrBudget, "rewrite[1]: merge"},
		{"1,000 JSON merges, each reading the last one's output", withDataFrom(render.DataFrom{Find: findPath("big/"), Rewrite: chain}), render.ErrBudget, "merge"},
		{"a value nested 20,000 deep", withDataFrom(render.DataFrom{Find: findPath("deep/"),
			Rewrite: []render.Rewrite{strip("deep/"), {Merge: &render.RewriteMerge{}}}}), nil, `the value of key "one" is not a JSON object`},
	}
	stores := map[desired.StoreKey]*render.SecretStore{}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := desired.Assemble(c.es, desired.Entries(c.es, stores), r.found, r.fetched, nil)
			if err == nil || (c.want != nil && !errors.Is(err, c.want)) || !strings.Contains(err.Error(), c.text) {
				t.Fatalf("err = %.300v, want %v containing %q", err, c.want, c.text)
			}
			if strings.Contains(err.Error(), "vvvvvvvv") {
				t.Fatal("the error quotes the value")
			}
		})
	}
}

// TestMergeNullByteAndDecodingErrorsCarryNoValue: every error a merge,
// nullBytePolicy or valuesDecodingStrategy makes names the entry, the
// rewrite and the keys read, never a piece of a value, nor a key inside a
// value (which JSON strategy writes into one), nor a key a template made of
// a value.
func TestMergeNullByteAndDecodingErrorsCarryNoValue(t *testing.T) {
	var c leaktest.Canaries
	v, inner, made := leaktest.Canary(), leaktest.Canary(), leaktest.Canary()
	c.Add(v, inner, made)
	r := remote{
		"c/a":    `{"` + inner + `":"` + v + `"}`,
		"c/b":    `{"` + inner + `":"x"}`,
		"j/a":    v + " not json",
		"n/a":    v + "\x00",
		"d/a":    v + "!",
		"j/list": `["` + v + `"]`,
	}
	merge := func(path string, m render.RewriteMerge) *render.ExternalSecret {
		return withDataFrom(render.DataFrom{Find: findPath(path), Rewrite: []render.Rewrite{strip(path), {Merge: &m}}})
	}
	nul := findPath("n/")
	nul.NullBytePolicy = "Fail"
	dec := findPath("d/")
	dec.DecodingStrategy = "Base64"
	cases := []struct {
		name string
		es   *render.ExternalSecret
	}{
		{"a conflict", merge("c/", render.RewriteMerge{})},
		{"a conflict in JSON strategy", merge("c/", render.RewriteMerge{Strategy: "JSON", Into: "all"})},
		{"a value that is not JSON", merge("j/a", render.RewriteMerge{})},
		{"a JSON list", merge("j/l", render.RewriteMerge{})},
		{"a missing priority key", merge("c/", render.RewriteMerge{ConflictPolicy: "Ignore", Priority: []string{"zz"}})},
		{"a null byte under Fail", withDataFrom(render.DataFrom{Find: nul})},
		{"a value that is not base64", withDataFrom(render.DataFrom{Find: dec})},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := desired.Assemble(tc.es, desired.Entries(tc.es, nil), r.found, r.fetched, nil)
			if err == nil {
				t.Fatal("no error")
			}
			c.Check(t, "the error", err.Error())
		})
	}
	t.Run("a valuesDecodingStrategy error on a key a template made of a value", func(t *testing.T) {
		body := "'{{ .made }}': '{{ .v }}!'"
		es := withTemplate(&render.Template{TemplateFrom: []render.TemplateFrom{{Literal: &body, ValuesDecodingStrategy: "Base64"}}})
		_, err := desired.ApplyTemplate(t.Context(), es, values("made", made, "v", v), sources{})
		if err == nil {
			t.Fatal("no error")
		}
		c.Check(t, "the error", err.Error())
	})
}

// TestARewriteAfterAMergeNamesNoKeyOfAValue: after an Extract merge the
// keys come from inside the values, so a later rewrite's errors (a template
// that fails on a key, two keys that become one) must not name them.
func TestARewriteAfterAMergeNamesNoKeyOfAValue(t *testing.T) {
	var c leaktest.Canaries
	inner := leaktest.Canary()
	other := inner[:8] + leaktest.Canary() // the same first 8 bytes
	c.Add(inner, other)
	r := remote{"m/a": `{"` + inner + `":"1","` + other + `":"2"}`}
	cases := map[string]render.Rewrite{
		"a transform that fails":   {Transform: &render.RewriteTransform{Template: `{{ fail .value }}`}},
		"a transform that panics":  {Transform: &render.RewriteTransform{Template: `{{ index .value 999 }}`}},
		"two keys that become one": {Regexp: &render.RewriteRegexp{Source: "^(.{8}).*$", Target: "$1"}},
	}
	for name, rw := range cases {
		t.Run(name, func(t *testing.T) {
			es := withDataFrom(render.DataFrom{Find: findPath("m/"), Rewrite: []render.Rewrite{strip("m/"), {Merge: &render.RewriteMerge{}}, rw}})
			_, err := desired.Assemble(es, desired.Entries(es, nil), r.found, r.fetched, nil)
			if err == nil || !strings.Contains(err.Error(), "rewrite[2]") {
				t.Fatalf("err = %v, want rewrite[2]'s", err)
			}
			c.Check(t, "the error", err.Error())
		})
	}
}
