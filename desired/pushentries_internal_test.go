package desired

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/secretsync/secretsync/render"
)

// A transform rewrite is a template run for every key: its steps are
// bounded per run (render's budget), not across keys. They are spent from
// the pass's budget too, counted, not timed: 200 keys through a template of
// 100,000 range steps stop at the first key against a 1 MiB budget, which
// their names alone (about 50 KiB) would not exhaust, and two runs of one
// input stop at the same place however loaded the machine (diff and the
// pass decide alike); a plain transform of the same keys is not refused.
func TestATransformRewriteSpendsItsTemplateSteps(t *testing.T) {
	entries := func(template string) ([]PushEntry, error) {
		ps := &render.PushSecret{}
		ps.Namespace, ps.Name = "a", "p"
		spec := "{secretStoreRefs: [{name: aws}], dataTo: [{storeRef: {name: aws}, remoteKey: app/bundle, rewrite: [{transform: {template: '" + template + "'}}]}]}"
		if err := yaml.Unmarshal([]byte(spec), &ps.Spec); err != nil {
			t.Fatal(err)
		}
		st := &render.SecretStore{}
		st.Kind, st.Namespace, st.Name = render.KindSecretStore, "a", "aws"
		st.Spec.Provider.AWS = &render.AWSProvider{Service: "SecretsManager"}
		stores := map[StoreKey]*render.SecretStore{StoreKeyOf(st.Kind, st.Namespace, st.Name): st}
		src := PushSource{Name: "s", Data: map[string][]byte{}}
		for i := range 200 {
			src.Data[fmt.Sprintf("k%03d", i)] = []byte("v")
		}
		return PushEntries(ps, stores, []PushSource{src}, &PushBudget{ns: map[string]*WorkBudget{ps.Namespace: newWorkBudget(context.Background(), 1<<20, "the test's 1 MiB")}})
	}
	heavy := "{{ range $i := until 99999 }}{{ end }}{{ .value }}"
	_, first := entries(heavy)
	_, second := entries(heavy)
	if !errors.Is(first, render.ErrBudget) || !strings.Contains(first.Error(), "rewrite[0]") {
		t.Fatalf("error = %v, want the budget spent by the template's steps", first)
	}
	if second == nil || second.Error() != first.Error() {
		t.Fatalf("a second run of the same input ended with %v, the first with %v", second, first)
	}
	if out, err := entries("{{ .value | upper }}"); err != nil || len(out) != 1 {
		t.Fatalf("a plain transform: %d entries, %v", len(out), err)
	}
}
