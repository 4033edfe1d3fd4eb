package reconciler_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/secretsync/secretsync/internal/leaktest"
)

// refusedCanary is a random value the API server refuses as a label
// value, an annotation name or a key name: the "!" is valid in none.
func refusedCanary() string { return leaktest.Canary()[:16] + "!" + leaktest.Canary()[:16] }

// TestAValueTheAPIServerRefusesNeverLeavesTheProcess seeds canaries in
// Secrets Manager that templates put where the API server refuses them (a
// label value, an annotation name, a key name) and beside a type it
// refuses. The API server quotes what it refuses; each ExternalSecret must
// fail with that cause named, and no 8-byte piece of a canary may reach
// the logs at debug level, the pass errors, the Events, the inventory
// (summary, status rows, every shard) or a diff (the fixture's leak check).
func TestAValueTheAPIServerRefusesNeverLeavesTheProcess(t *testing.T) {
	f := newFixture(t)
	cases := []struct{ name, target string }{
		{"label", "target: {template: {metadata: {labels: {x: '{{ .v }}'}}}}"},
		{"annotation", "target: {template: {templateFrom: [{target: Annotations, literal: '{{ .v }}: x'}]}}"},
		{"key", "target: {template: {templateFrom: [{literal: '{{ .v }}: x'}]}}"},
		{"type", "target: {template: {type: 'not a type!', metadata: {labels: {x: '{{ .v }}'}}, data: {k: '{{ .v }}'}}}"},
	}
	files := map[string]string{"store.yaml": f.store()}
	for _, c := range cases {
		f.seed("scrub/"+c.name, refusedCanary())
		files[c.name+".yaml"] = strings.Replace(f.es(c.name, "v=scrub/"+c.name), "  data:\n", "  "+c.target+"\n  data:\n", 1)
	}
	f.commit(files)
	for range 2 { // the second pass meets the same refusals
		res := f.pass()
		for _, c := range cases {
			if !res.ExternalSecretFailed(f.ns + "/" + c.name) {
				t.Fatalf("externalsecret %s did not fail: %v", c.name, res.Errors)
			}
		}
	}
	rows := map[string]string{}
	for _, st := range f.inventory().Status {
		rows[st.ExternalSecret] = st.Reason + ": " + st.Message
	}
	for _, c := range cases {
		msg := rows[f.ns+"/"+c.name]
		if !strings.Contains(msg, "ApplyFailed") || !strings.Contains(msg, "Invalid value") {
			t.Errorf("the status of %s does not name the refusal: %q", c.name, msg)
		}
	}
	if msg := rows[f.ns+"/label"]; !strings.Contains(msg, "[REDACTED]") {
		t.Errorf("the label's refusal does not show where the value was taken out: %q", msg)
	}
	diffs, res := f.rec.Diff(context.Background())
	d, _ := json.Marshal(diffs)
	f.errs = append(f.errs, string(d))
	for _, e := range res.Errors {
		f.errs = append(f.errs, e.Error())
	}
}
