package review_test

import (
	"bytes"
	"regexp"
	"strings"
	"testing"

	"github.com/secretsync/secretsync/review"
)

// A pull request's plan is posted as a Markdown comment that a reviewer
// trusts to show every change. A remote key or property is written by the
// PR author; one holding a line break (a carriage return ends a Markdown
// line as a newline does) would end the plan's table row, and what
// follows it would render as Markdown of the author's choosing: a
// <details> that folds away the rest of the plan (the deletes), or a
// forged "no changes" line. Such a name is refused by render (no AWS name
// holds a control character); any other stays in one row of the table,
// and no HTML the author wrote leaves a code span.
func TestAPushSecretsNamesCannotBreakOutOfThePlanComment(t *testing.T) {
	for name, remote := range map[string]string{
		"a carriage return in the remote key":        `remoteKey: "shop/x\r<details><summary>ok</summary>\rx"`,
		"a CRLF in the remote key":                   `remoteKey: "shop/x\r\n<details><summary>ok</summary>\r\nx"`,
		"a carriage return in the property":          `remoteKey: shop/y, property: "p\r<details><summary>ok</summary>\rx"`,
		"a line separator and a backtick in the key": "remoteKey: \"shop/z\\u2028`<details>`\"",
	} {
		t.Run(name, func(t *testing.T) {
			base, head := t.TempDir(), t.TempDir()
			store := "apiVersion: external-secrets.io/v1\nkind: SecretStore\nmetadata: {name: aws, namespace: shop}\nspec: {provider: {aws: {service: SecretsManager, region: us-east-1}}}\n"
			for _, d := range []string{base, head} {
				write(t, d, "store.yaml", store)
			}
			write(t, head, "p.yaml", "apiVersion: external-secrets.io/v1alpha1\nkind: PushSecret\nmetadata: {name: p, namespace: shop}\nspec:\n  secretStoreRefs: [{name: aws}]\n  selector: {secret: {name: src}}\n  data:\n  - match: {secretKey: k, remoteRef: {"+remote+"}}\n")
			h := renderAt(t, head)
			if len(h.Errors) == 1 && strings.Contains(h.Errors[0].Error(), "control character") {
				return // refused by name: it never reaches the comment
			}
			if len(h.Errors) > 0 || len(h.PushSecrets) != 1 {
				t.Fatalf("the head neither renders its PushSecret nor refuses the name for its control character: %v", h.Errors)
			}
			p := review.MakePlan("base", "head", renderAt(t, base), h)
			var md bytes.Buffer
			if err := review.WriteMarkdown(&md, p); err != nil {
				t.Fatal(err)
			}
			// CommonMark ends a line at \n, \r\n or \r.
			lines := regexp.MustCompile(`\r\n|\r|\n`).Split(md.String(), -1)
			rows := 0
			for _, l := range lines {
				if strings.Contains(l, "<details>") && !strings.HasPrefix(l, "<details><summary><b>") {
					if !insideCodeSpans(l, "<details>") {
						t.Errorf("the author's HTML is outside a code span on line %q", l)
					}
				}
				if strings.HasPrefix(l, "| `shop/") {
					rows++
				}
			}
			if rows != 1 {
				t.Errorf("%d table rows for the remote secret, want 1; the comment:\n%q", rows, md.String())
			}
		})
	}
}

// insideCodeSpans reports whether every occurrence of s in line is between
// an odd and an even backtick.
func insideCodeSpans(line, s string) bool {
	for i := 0; ; {
		j := strings.Index(line[i:], s)
		if j < 0 {
			return true
		}
		if strings.Count(line[:i+j], "`")%2 == 0 {
			return false
		}
		i += j + len(s)
	}
}
