package reconciler_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/secretsync/secretsync/internal/hostile"
	"github.com/secretsync/secretsync/internal/smserver"
	"github.com/secretsync/secretsync/reconciler"
)

// canary is the shape of value a fault case seeds: it must never appear
// outside the Secret that holds it.
const canary = "LEAKCANARY-7f3e(unclosed"

// TestFaultsAndBadInput is the fault suite: each case breaks one thing, in
// Git or in AWS, after a good pass, and the pass must report it, change no
// Secret outside the failing object, prune nothing, and show no value in
// the logs (debug level), errors, Events, the inventory's status (what
// `status` and `explain` print) or a diff.
func TestFaultsAndBadInput(t *testing.T) {
	// Each case names the reason and stage it must report, and pieces of
	// one error that name the object and the cause ({ns} is the test's
	// namespace).
	cases := []struct {
		name    string
		inflict func(f *fixture)
		reason  reconciler.Reason
		stage   reconciler.Stage
		errHas  []string
	}{
		{"an apiVersion typo", func(f *fixture) {
			f.commit(map[string]string{"other.yaml": strings.Replace(f.es("other", "v=fault/other"), "external-secrets.io/v1", "external-secret.io/v1", 1)})
		}, reconciler.RenderFailed, reconciler.StageDone, []string{"other.yaml: ExternalSecret {ns}/other", "group external-secret.io is not known"}},
		{"a kind typo", func(f *fixture) {
			f.commit(map[string]string{"other.yaml": strings.Replace(f.es("other", "v=fault/other"), "kind: ExternalSecret", "kind: ExternalSecrets", 1)})
		}, reconciler.RenderFailed, reconciler.StageDone, []string{"other.yaml: ExternalSecrets {ns}/other", "kind ExternalSecrets is not an External Secrets Operator kind"}},
		{"an ESO kind secretsync does not handle", func(f *fixture) {
			f.commit(map[string]string{"push.yaml": "apiVersion: external-secrets.io/v1alpha1\nkind: ClusterPushSecret\nmetadata: {name: p}\nspec: {}\n",
				"other.yaml": ""})
		}, reconciler.RenderFailed, reconciler.StageDone, []string{"push.yaml: ClusterPushSecret p", "ClusterPushSecret is refused"}},
		{"a file over the read limit", func(f *fixture) {
			f.commit(map[string]string{"other.yaml": f.es("other", "v=fault/other") + "# " + strings.Repeat("x", 9<<20) + "\n"})
		}, reconciler.RenderFailed, reconciler.StageDone, []string{"other.yaml is 9.0 MiB, over the 8 MiB limit on one file"}},
		{"a YAML alias bomb", func(f *fixture) {
			f.commit(map[string]string{"bomb.yaml": hostile.AliasBomb(), "other.yaml": ""})
		}, reconciler.RenderFailed, reconciler.StageDone, []string{"bomb.yaml: file not read", "refused as an alias bomb"}},
		{"broken YAML", func(f *fixture) {
			f.commit(map[string]string{"other.yaml": "apiVersion: external-secrets.io/v1\nkind: [unclosed\n"})
		}, reconciler.RenderFailed, reconciler.StageDone, []string{"other.yaml: document 1: yaml: line 2"}},
		{"a plaintext Secret in Git", func(f *fixture) {
			f.commit(map[string]string{"plain.yaml": "apiVersion: v1\nkind: Secret\nmetadata: {name: plain, namespace: " + f.ns + "}\nstringData: {p: " + canary + "}\n"})
			f.remember(canary)
		}, reconciler.RenderFailed, reconciler.StageDone, []string{"plain.yaml: Secret {ns}/plain", "a Secret with values is refused"}},
		{"a template error over a value", func(f *fixture) {
			f.rotate("fault/other", canary)
			f.commit(map[string]string{"other.yaml": strings.Replace(f.es("other", "v=fault/other"), "  data:\n",
				"  target: {template: {data: {v: '{{ mustRegexMatch .v \"a\" }}{{ fromJson .v }}'}}}\n  data:\n", 1)})
		}, reconciler.ResolveFailed, reconciler.StageDone, []string{"externalsecret {ns}/other (other.yaml): template spec.target.template.data.v", "function mustRegexMatch failed on its input"}},
		{"a template that tries the network", func(f *fixture) {
			f.commit(map[string]string{"other.yaml": strings.Replace(f.es("other", "v=fault/other"), "  data:\n",
				"  target: {template: {data: {v: '{{ getHostByName (printf \"%s.exfil.invalid\" .v) }}'}}}\n  data:\n", 1)})
		}, reconciler.RenderFailed, reconciler.StageDone, []string{"other.yaml: ExternalSecret {ns}/other: spec.target.template.data.v", "function getHostByName is not allowed"}},
		{"an invalid key name", func(f *fixture) {
			f.commit(map[string]string{"other.yaml": f.es("other", "bad key=fault/other")})
		}, reconciler.RenderFailed, reconciler.StageDone, []string{"ExternalSecret {ns}/other: spec.data[0].secretKey", "\"bad key\" is not a valid Secret key"}},
		{"a value over the Secret size limit", func(f *fixture) {
			f.rotate("fault/other", strings.Repeat("v", 1100<<10))
		}, reconciler.ApplyFailed, reconciler.StageDone, []string{"apply secret {ns}/other", "Too long"}},
		{"a remote secret that is gone", func(f *fixture) {
			f.sm.Delete(f.t, "fault/other")
		}, reconciler.ResolveFailed, reconciler.StageDone, []string{"externalsecret {ns}/other (other.yaml)", "NotFound secretsmanager:fault/other"}},
		{"a repo emptied", func(f *fixture) {
			f.commit(map[string]string{"store.yaml": "", "keep.yaml": "", "other.yaml": "", "README.md": "moved"})
		}, reconciler.PruneFailed, reconciler.StageDone, []string{"prune refused: the revision renders no ExternalSecret", "would delete {ns}/keep, {ns}/other"}},
		{"a repo that cannot be reached", func(f *fixture) {
			if err := os.Rename(f.repo.Dir, f.repo.Dir+".gone"); err != nil {
				f.t.Fatal(err)
			}
		}, reconciler.FetchFailed, reconciler.StageFetch, []string{"git file://", "repository not found"}},
		{"a symlink out of the repo", func(f *fixture) {
			outside := filepath.Join(f.t.TempDir(), "other.yaml")
			if err := os.WriteFile(outside, []byte(f.es("other", "v=fault/other")), 0o644); err != nil {
				f.t.Fatal(err)
			}
			f.commit(map[string]string{"other.yaml": ""})
			if err := os.Symlink(outside, filepath.Join(f.repo.Dir, "other.yaml")); err != nil {
				f.t.Fatal(err)
			}
			f.commit(map[string]string{})
		}, reconciler.RenderFailed, reconciler.StageDone, []string{"other.yaml is a symlink that points outside the repo"}},
		{"AWS throttling on every call", func(f *fixture) {
			f.sm.SM.SetFault(func(string, string) error { return smserver.ErrThrottled })
		}, reconciler.ResolveFailed, reconciler.StageDone, []string{"externalsecret {ns}/other (other.yaml)", "Throttled secretsmanager:fault/other"}},
		{"AWS 5xx on every call", func(f *fixture) {
			f.sm.SM.SetFault(func(string, string) error { return smserver.ErrInternal })
		}, reconciler.ResolveFailed, reconciler.StageDone, []string{"externalsecret {ns}/other (other.yaml)", "Unavailable secretsmanager:fault/other"}},
		{"AWS access denied", func(f *fixture) {
			f.sm.SM.SetFault(func(string, string) error { return smserver.ErrDenied })
		}, reconciler.ResolveFailed, reconciler.StageDone, []string{"externalsecret {ns}/other (other.yaml)", "AccessDenied secretsmanager:fault/other"}},
		{"AWS slower than the pass timeout", func(f *fixture) {
			f.rec = f.newReconciler(func(c *reconciler.Config) { c.PassTimeout = 300 * time.Millisecond })
			f.sm.SM.SetLatency(time.Second)
		}, reconciler.ResolveFailed, reconciler.StageDone, []string{"externalsecret {ns}/other (other.yaml)", "Unavailable secretsmanager:fault/other", "context deadline exceeded"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t)
			f.seed("fault/keep", "value-keep-seeded")
			f.seed("fault/other", "value-other-seeded")
			f.commit(map[string]string{"store.yaml": f.store(), "keep.yaml": f.es("keep", "v=fault/keep"), "other.yaml": f.es("other", "v=fault/other")})
			mustOK(t, f.pass())
			before := map[string]map[string]string{"keep": data(f.secret("keep")), "other": data(f.secret("other"))}

			c.inflict(f)
			res := f.pass()
			if res.Reason != c.reason || res.Stage != c.stage {
				t.Fatalf("reason %q at stage %q, want %q at %q", res.Reason, res.Stage, c.reason, c.stage)
			}
			if !anErrorHolds(res.Errors, c.errHas, f.ns) {
				t.Fatalf("no error names the object and the cause %q; got %d errors: %v", c.errHas, len(res.Errors), res.Errors)
			}
			if res.Pruned != 0 {
				t.Fatalf("pruned %d", res.Pruned)
			}
			// "other" is the failing object in every case: its last good
			// Secret stays too.
			sameData(t, "secret keep", data(f.secret("keep")), before["keep"])
			sameData(t, "secret other", data(f.secret("other")), before["other"])
			f.sm.SM.SetFault(nil)
			f.sm.SM.SetLatency(0)
			f.rec = f.newReconciler() // the same state a restart would have

			var seen []string
			diffs, diffRes := f.rec.Diff(context.Background())
			d, err := json.Marshal(diffs)
			if err != nil {
				t.Fatalf("marshal the diff: %v", err)
			}
			seen = append(seen, string(d))
			for _, e := range diffRes.Errors {
				seen = append(seen, e.Error())
			}
			seen = append(seen, f.events()...)
			inv, err := json.Marshal(f.inventory())
			if err != nil {
				t.Fatalf("marshal the inventory: %v", err)
			}
			seen = append(seen, string(inv))
			for _, e := range res.Errors {
				seen = append(seen, e.Error())
			}
			out := strings.Join(seen, "\n") + f.logs.String()
			for _, s := range append(f.seeds, "EAKCANARY") {
				if len(s) >= 8 && strings.Contains(out, s) {
					t.Fatalf("a seeded value (%d bytes) appears in the events, inventory, errors or logs", len(s))
				}
			}
		})
	}
}

// anErrorHolds says whether one of errs holds every piece, with {ns} read
// as ns.
func anErrorHolds(errs []error, pieces []string, ns string) bool {
	for _, e := range errs {
		all := true
		for _, p := range pieces {
			all = all && strings.Contains(e.Error(), strings.ReplaceAll(p, "{ns}", ns))
		}
		if all {
			return true
		}
	}
	return false
}
