package reconciler_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/secretsync/secretsync/internal/leaktest"
	"github.com/secretsync/secretsync/reconciler"
)

// refusedCanary is a random value the API server refuses as a label
// value, an annotation name or a key name: the "!" is valid in none.
func refusedCanary() string { return leaktest.Canary()[:16] + "!" + leaktest.Canary()[:16] }

// TestAValueTheAPIServerRefusesNeverLeavesTheProcess seeds canaries in
// Secrets Manager that templates put where the API server refuses them (a
// label value, an annotation name, a key name), and beside a type change
// it refuses (a type is written in Git, never made from a value: the
// refusal quotes the type, with the canary in the Secret's data). The API
// server quotes what it refuses; each ExternalSecret must fail with that
// cause named, and no 8-byte piece of a canary may reach the logs at debug
// level, the pass errors, the Events, the inventory (summary, status rows,
// every shard, the record cut small) or a diff (the fixture's leak
// check, when the test ends).
func TestAValueTheAPIServerRefusesNeverLeavesTheProcess(t *testing.T) {
	f := newFixture(t)
	reconciler.SetPartSize(t, 1)     // each ExternalSecret's values in a part of their own
	reconciler.SetShardBytes(t, 200) // the leak check reads every shard
	var seeded leaktest.Canaries     // to mask them in this test's own messages
	cases := []struct{ name, target string }{
		{"label", "target: {template: {metadata: {labels: {x: '{{ .v }}'}}}}"},
		{"annotation", "target: {template: {templateFrom: [{target: Annotations, literal: '{{ .v }}: x'}]}}"},
		{"key", "target: {template: {templateFrom: [{literal: '{{ .v }}: x'}]}}"},
		{"type", "target: {template: {type: kubernetes.io/basic-auth, data: {username: '{{ .v }}', password: '{{ .v }}'}}}"},
	}
	files := map[string]string{"store.yaml": f.store()}
	for _, c := range cases {
		v := refusedCanary()
		seeded.Add(v)
		f.seed("scrub/"+c.name, v)
	}
	// The type case first exists as an Opaque Secret: its type cannot change.
	files["type.yaml"] = f.es("type", "v=scrub/type")
	f.commit(files)
	mustOK(t, f.pass())
	for _, c := range cases {
		files[c.name+".yaml"] = strings.Replace(f.es(c.name, "v=scrub/"+c.name), "  data:\n", "  "+c.target+"\n  data:\n", 1)
	}
	f.commit(files)
	for range 2 { // the second pass meets the same refusals
		res := f.pass()
		for _, c := range cases {
			if !res.ExternalSecretFailed(f.ns + "/" + c.name) {
				t.Fatalf("externalsecret %s did not fail: %s", c.name, seeded.Mask(fmt.Sprint(res.Errors)))
			}
		}
	}
	cms, err := env.Client.CoreV1().ConfigMaps(f.ns).List(context.Background(), metav1.ListOptions{})
	if err != nil || len(cms.Items) < 3 {
		t.Fatalf("the inventory is not sharded: %d ConfigMaps, %v", len(cms.Items), err)
	}
	rows := map[string]string{}
	for _, st := range f.inventory().Status {
		rows[st.ExternalSecret] = st.Reason + ": " + st.Message
	}
	for _, c := range cases {
		msg := rows[f.ns+"/"+c.name]
		if !strings.Contains(msg, "ApplyFailed") || !strings.Contains(msg, "Invalid value") {
			t.Errorf("the status of %s does not name the refusal: %q", c.name, seeded.Mask(msg))
		}
		if c.name != "type" && !strings.Contains(msg, "[REDACTED]") {
			t.Errorf("the refusal of the %s does not show where the value was taken out: %q", c.name, seeded.Mask(msg))
		}
	}
	diffs, res := f.rec.Diff(context.Background())
	d, _ := json.Marshal(diffs)
	f.errs = append(f.errs, string(d))
	for _, e := range res.Errors {
		f.errs = append(f.errs, e.Error())
	}
}
