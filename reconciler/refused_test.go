package reconciler_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/secretsync/secretsync/render"
)

// TestRunRefusesAnObjectWithEveryReason: run refuses an ExternalSecret with
// many independent problems, writes nothing for it, applies the others, and
// its pass errors carry every reason render finds (one per template key,
// per data and dataFrom entry, per other part), as validate reports them.
// A missing store or a namespace it may not write to is validate's alone:
// run never builds an object render refused.
func TestRunRefusesAnObjectWithEveryReason(t *testing.T) {
	f := newFixture(t)
	f.seed("refused/value", "value-refused-seeded")
	f.commit(map[string]string{"store.yaml": f.store(), "fine.yaml": f.es("fine", "v=refused/value"), "many.yaml": fmt.Sprintf(`apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: many, namespace: %s}
spec:
  secretStoreRef: {name: aws}
  refreshPolicy: Sometimes
  target:
    template:
      mergePolicy: Merge
      data:
        "bad key": "x"
        "bad/two": "x"
        three: "{{ .a"
        four: "{{ nosuchfunc }}"
        "five!": "x"
      metadata:
        labels: {l: "{{ .b"}
  data:
    - {secretKey: "not a key", remoteRef: {key: refused/value}}
    - {secretKey: b, remoteRef: {key: ""}}
  dataFrom:
    - {}
`, f.ns)})
	res := f.pass()
	if f.secret("many") != nil {
		t.Fatal("a Secret was written for the refused ExternalSecret")
	}
	if f.secret("fine") == nil {
		t.Fatal("the good ExternalSecret beside it was not applied")
	}
	got := map[string]string{}
	for _, e := range res.Errors {
		var oe *render.ObjectError
		if errors.As(e, &oe) && oe.Name == "many" {
			got[oe.Field] = oe.Err.Error()
		}
	}
	for field, reason := range map[string]string{
		"spec.refreshPolicy":                     `not "Sometimes"`,
		"spec.target.template.data.bad key":      `"bad key" is not a valid Secret key`,
		"spec.target.template.data.bad/two":      `"bad/two" is not a valid Secret key`,
		"spec.target.template.data.three":        "three:1: unclosed action",
		"spec.target.template.data.four":         "function nosuchfunc is not supported",
		"spec.target.template.data.five!":        `"five!" is not a valid Secret key`,
		"spec.target.template.metadata.labels.l": "l:1: unclosed action",
		"spec.data[0].secretKey":                 `"not a key" is not a valid Secret key`,
		"spec.data[1].remoteRef.key":             "required",
		"spec.dataFrom[0]":                       "one of extract or find is required",
	} {
		if !strings.Contains(got[field], reason) {
			t.Errorf("run's errors: %s says %q, want %q", field, got[field], reason)
		}
	}
	if len(got) != 10 {
		t.Errorf("run's errors for the object: %d, want 10: %v", len(got), got)
	}
	for _, st := range f.inventory().Status {
		if st.ExternalSecret == f.ns+"/many" && st.Ready {
			t.Error("the refused ExternalSecret's status is ready")
		}
	}
}
