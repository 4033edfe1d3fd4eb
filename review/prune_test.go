package review_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/secretsync/secretsync/review"
)

// TestThePlanSaysWhenRunRefusesADelete: a Secret the change deletes is
// marked with the prune guard's refusal, as run refuses it (the plan of
// actions, package plan), never shown as a plain delete.
func TestThePlanSaysWhenRunRefusesADelete(t *testing.T) {
	store := "apiVersion: external-secrets.io/v1\nkind: SecretStore\nmetadata: {name: aws, namespace: shop}\nspec: {provider: {aws: {service: SecretsManager, region: us-east-1}}}\n"
	es := func(name string) string {
		return fmt.Sprintf("apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: {name: %s, namespace: shop}\nspec:\n  secretStoreRef: {name: aws}\n  data: [{secretKey: k, remoteRef: {key: r}}]\n", name)
	}
	for _, c := range []struct {
		name   string
		keep   int // of 60 ExternalSecrets, how many the head keeps
		broken bool
		reason string
	}{
		{"a head that renders no ExternalSecret", 0, false, "the revision renders no ExternalSecret while the inventory holds 60"},
		{"more deletions than the default budget", 5, false, "55 deletions exceed the budget of 50 per pass"},
		{"a head with a render error", 59, true, "render reported 1 errors"},
		{"a delete within every guard", 59, false, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			base, head := t.TempDir(), t.TempDir()
			write(t, base, "store.yaml", store)
			write(t, head, "store.yaml", store)
			for i := range 60 {
				write(t, base, fmt.Sprintf("es%02d.yaml", i), es(fmt.Sprintf("s%02d", i)))
				if i < c.keep {
					write(t, head, fmt.Sprintf("es%02d.yaml", i), es(fmt.Sprintf("s%02d", i)))
				}
			}
			if c.broken {
				write(t, head, "broken.yaml", "apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: {name: broken, namespace: shop}\nspec: {data: 7}\n")
			}
			p := review.MakePlan("base", "head", renderAt(t, base), renderAt(t, head))
			deletes := 0
			for _, s := range p.Secrets {
				if s.Action != "delete" {
					continue
				}
				deletes++
				if !strings.HasPrefix(s.PruneRefused, c.reason) || (c.reason == "") != (s.PruneRefused == "") {
					t.Errorf("%s: pruneRefused %q, want %q", s.Name, s.PruneRefused, c.reason)
				}
			}
			if deletes != 60-c.keep {
				t.Fatalf("%d deletes, want %d", deletes, 60-c.keep)
			}
		})
	}
}

// TestThePlanLeavesWhatRunNeverDeletes: an ExternalSecret that leaves Git
// under creationPolicy Orphan, Merge, CreateOrMerge or None is no delete:
// run never prunes its Secret. The plan says what run does instead
// (action leave, with the reason), counts none of them to delete, and
// they count toward no prune guard (60 of them leaving is within budget).
func TestThePlanLeavesWhatRunNeverDeletes(t *testing.T) {
	store := "apiVersion: external-secrets.io/v1\nkind: SecretStore\nmetadata: {name: aws, namespace: shop}\nspec: {provider: {aws: {service: SecretsManager, region: us-east-1}}}\n"
	es := func(name, policy string) string {
		return fmt.Sprintf("apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: {name: %s, namespace: shop}\nspec:\n  secretStoreRef: {name: aws}\n  target: {creationPolicy: %s}\n  data: [{secretKey: k, remoteRef: {key: r}}]\n", name, policy)
	}
	base, head := t.TempDir(), t.TempDir()
	write(t, base, "store.yaml", store)
	write(t, head, "store.yaml", store)
	write(t, base, "kept.yaml", es("kept", "Owner"))
	write(t, head, "kept.yaml", es("kept", "Owner"))
	write(t, base, "owned.yaml", es("owned", "Owner"))
	want := map[string]string{"owned": "delete"}
	for _, policy := range []string{"Orphan", "Merge", "CreateOrMerge", "None"} {
		for i := range 15 {
			name := fmt.Sprintf("%s%02d", strings.ToLower(policy), i)
			write(t, base, name+".yaml", es(name, policy))
			want[name] = "leave"
		}
	}
	p := review.MakePlan("base", "head", renderAt(t, base), renderAt(t, head))
	if p.Summary.Delete != 1 || p.Summary.Leave != 60 {
		t.Errorf("summary %+v, want 1 to delete and 60 left", p.Summary)
	}
	for _, s := range p.Secrets {
		if s.Action != want[s.Name] {
			t.Errorf("%s: action %q, want %q", s.Name, s.Action, want[s.Name])
		}
		if s.PruneRefused != "" {
			t.Errorf("%s: run's prune guard is said to refuse it: %s", s.Name, s.PruneRefused)
		}
		if s.Action == "leave" && (!strings.HasPrefix(s.Left, "creationPolicy ") || !strings.Contains(s.Left, "run ") || len(s.Keys) != 0) {
			t.Errorf("%s: left %q with keys %v: want what run does, and no key removed", s.Name, s.Left, s.Keys)
		}
	}
	var table bytes.Buffer
	if err := review.WriteTable(&table, p, false); err != nil || !strings.Contains(table.String(), "1 to delete, 60 left in place") {
		t.Errorf("the table's summary does not count them apart (%v):\n%s", err, table.String())
	}
}
