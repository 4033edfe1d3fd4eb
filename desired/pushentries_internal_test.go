package desired

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/secretsync/secretsync/render"
)

// A transform rewrite is a template run for every key: its steps are
// bounded per run (render's budget), not across keys, and a template
// near that bound runs for tens of milliseconds on a short key name. Its
// run time is spent from the pass's budget too: 200 keys through a
// template of 100,000 range steps (about 10 s of work) stop within a few
// keys of a 1 MiB budget, which their names alone (about 50 KiB) would not
// exhaust.
func TestATransformRewriteSpendsItsRunTime(t *testing.T) {
	ps := &render.PushSecret{}
	ps.Namespace, ps.Name = "a", "p"
	spec := "{secretStoreRefs: [{name: aws}], dataTo: [{storeRef: {name: aws}, remoteKey: app/bundle, rewrite: [{transform: {template: '{{ range $i := until 99999 }}{{ end }}{{ .value }}'}}]}]}"
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
	start := time.Now()
	_, err := PushEntries(ps, stores, []PushSource{src}, &PushBudget{ns: map[string]*WorkBudget{ps.Namespace: newWorkBudget(context.Background(), 1<<20, "the test's 1 MiB")}})
	if !errors.Is(err, render.ErrBudget) {
		t.Fatalf("error = %v after %s, want the budget spent by the template's run time", err, time.Since(start))
	}
}
