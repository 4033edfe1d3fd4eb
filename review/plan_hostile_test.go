package review_test

import (
	"bytes"
	"regexp"
	"strings"
	"testing"

	"github.com/secretsync/secretsync/review"
)

// A pull request names its files, and any file name is fine in a repo. A
// name that holds a backtick or a carriage return must not end the code
// span, or the table row, that the plan's Markdown comment shows it in:
// else the author's HTML (a <details> folding away the rest of the plan)
// renders in the comment a reviewer trusts.
func TestAFileNameCannotBreakOutOfThePlanComment(t *testing.T) {
	for name, file := range map[string]string{
		"a backtick":        "x`<details open>`.yaml",
		"a carriage return": "x\r<details open>\rx.yaml",
	} {
		t.Run(name, func(t *testing.T) {
			base, head := t.TempDir(), t.TempDir()
			store := "apiVersion: external-secrets.io/v1\nkind: SecretStore\nmetadata: {name: aws, namespace: shop}\nspec: {provider: {aws: {service: SecretsManager, region: us-east-1}}}\n"
			for _, d := range []string{base, head} {
				write(t, d, "store.yaml", store)
			}
			write(t, head, file, "apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: {name: es, namespace: shop}\nspec:\n  secretStoreRef: {name: aws}\n  data: [{secretKey: k, remoteRef: {key: shop/k}}]\n")
			h := renderAt(t, head)
			if len(h.ExternalSecrets) != 1 {
				t.Fatalf("the head renders %d ExternalSecrets: %v", len(h.ExternalSecrets), h.Errors)
			}
			var md bytes.Buffer
			if err := review.WriteMarkdown(&md, review.MakePlan("base", "head", renderAt(t, base), h)); err != nil {
				t.Fatal(err)
			}
			for _, l := range regexp.MustCompile(`\r\n|\r|\n`).Split(md.String(), -1) {
				if strings.Contains(l, "<details open>") && !insideCodeSpans(l, "<details open>") {
					t.Errorf("the author's HTML is outside a code span on line %q", l)
				}
			}
		})
	}
}
