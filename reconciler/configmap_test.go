package reconciler_test

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/secretsync/secretsync/inventory"
	"github.com/secretsync/secretsync/reconciler"
)

func (f *fixture) configMap(name string) *corev1.ConfigMap {
	f.t.Helper()
	cm, err := env.Client.CoreV1().ConfigMaps(f.ns).Get(context.Background(), name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		f.t.Fatal(err)
	}
	return cm
}

// toConfigMap makes an ExternalSecret of f.es write a ConfigMap.
func toConfigMap(es, target string) string {
	return es + "  target:\n    name: " + target + "\n    manifest: {apiVersion: v1, kind: ConfigMap}\n"
}

func TestAConfigMapTargetIsWrittenAndPrunedLikeASecret(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	binary := string([]byte{0xff, 0xfe, 0x00, 0x9c})
	f.seed("app/cfg", `{"host":"db-seeded.internal","token":"tok-cm-4411-seeded","blob":"`+base64.StdEncoding.EncodeToString([]byte(binary))+`"}`)
	cfgES := toConfigMap(f.es("cfg", "host=app/cfg#host", "token=app/cfg#token"), "app-config")
	cfgES = strings.Replace(cfgES, "  data:\n", "  data:\n    - secretKey: blob\n      remoteRef: {key: app/cfg, property: blob, decodingStrategy: Base64}\n", 1)
	f.commit(map[string]string{
		"store.yaml":  f.store(),
		"cfg.yaml":    cfgES,
		"secret.yaml": f.es("app-config", "token=app/cfg#token"), // a Secret of the same name
	})

	t.Run("the ConfigMap holds text values in data and the rest in binaryData, beside a Secret of its name", func(t *testing.T) {
		res := f.pass()
		mustOK(t, res)
		if res.Applied != 2 {
			t.Fatalf("applied %d, want 2", res.Applied)
		}
		cm := f.configMap("app-config")
		if cm == nil {
			t.Fatal("no ConfigMap app-config")
		}
		if len(cm.Data) != 2 || cm.Data["host"] != "db-seeded.internal" || cm.Data["token"] != "tok-cm-4411-seeded" {
			t.Fatalf("configmap data has keys %v, or values that differ from the seeded ones", keysOf(cm.Data))
		}
		if len(cm.BinaryData) != 1 || string(cm.BinaryData["blob"]) != binary {
			t.Fatalf("configmap binaryData has %d keys; blob is %d bytes, want %d", len(cm.BinaryData), len(cm.BinaryData["blob"]), len(binary))
		}
		if cm.Labels[reconciler.LabelInstance] != f.ns || cm.Annotations[reconciler.AnnotationExternalSecret] != f.ns+"/cfg" {
			t.Fatalf("labels %v, annotations %v", cm.Labels, cm.Annotations)
		}
		sameData(t, "secret app-config", data(f.secret("app-config")), map[string]string{"token": "tok-cm-4411-seeded"})
		kinds := map[string]string{}
		for _, e := range f.inventory().Entries {
			kinds[e.ExternalSecret] = e.Kind
		}
		if kinds[f.ns+"/cfg"] != "ConfigMap" || kinds[f.ns+"/app-config"] != "" {
			t.Fatalf("inventory kinds = %v", kinds)
		}
	})

	t.Run("an unchanged ConfigMap costs no write", func(t *testing.T) {
		before := f.configMap("app-config").ResourceVersion
		f.counter.Reset()
		res := f.pass()
		mustOK(t, res)
		// The forced pass records its refresh time (to the second) in the
		// inventory: at most that one apply, and none to the target.
		w, inv := f.counter.Writes(), f.counter.ByVerb()["apply configmaps"]
		if res.Unchanged != 2 || w != inv || inv > 1 || f.configMap("app-config").ResourceVersion != before {
			t.Fatalf("unchanged %d, writes %d (inventory applies %d), target rewritten: %v", res.Unchanged, w, inv, f.configMap("app-config").ResourceVersion != before)
		}
	})

	t.Run("a hand edit is repaired and a rotation reaches the ConfigMap", func(t *testing.T) {
		cm := f.configMap("app-config")
		cm.Data["host"] = "edited"
		cm.Data["extra"] = "by hand"
		if _, err := env.Client.CoreV1().ConfigMaps(f.ns).Update(ctx, cm, metav1.UpdateOptions{FieldManager: "kubectl"}); err != nil {
			t.Fatal(err)
		}
		f.rotate("app/cfg", `{"host":"db2-seeded.internal","token":"tok-cm-rotated-seeded","blob":"`+base64.StdEncoding.EncodeToString([]byte("text-now-seeded"))+`"}`)
		mustOK(t, f.pass())
		cm = f.configMap("app-config")
		if cm.Data["host"] != "db2-seeded.internal" || cm.Data["token"] != "tok-cm-rotated-seeded" {
			t.Fatal("the ConfigMap does not hold the rotated values")
		}
		if cm.Data["extra"] != "by hand" {
			t.Fatal("a key another field manager wrote was removed")
		}
		if _, ok := cm.BinaryData["blob"]; ok || cm.Data["blob"] != "text-now-seeded" {
			t.Fatalf("blob is not in data after it became text")
		}
	})

	t.Run("a ConfigMap someone else made, or the inventory, is never taken over", func(t *testing.T) {
		foreign := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "hand-made", Namespace: f.ns}, Data: map[string]string{"k": "v"}}
		if _, err := env.Client.CoreV1().ConfigMaps(f.ns).Create(ctx, foreign, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		inventoryName := inventory.Name(f.ns)
		before := f.configMap(inventoryName)
		f.commit(map[string]string{
			"foreign.yaml": toConfigMap(f.es("foreign", "token=app/cfg#token"), "hand-made"),
			"inv.yaml":     toConfigMap(f.es("inv", "token=app/cfg#token"), inventoryName),
		})
		res := f.pass()
		if res.OK() {
			t.Fatal("the pass succeeded while writing ConfigMaps it does not own")
		}
		if !contains(errorsText(res), "apply configmap "+f.ns+"/hand-made for") || !contains(errorsText(res), "not managed by secretsync") {
			t.Fatalf("errors do not name configmap hand-made as not ours: %s", errorsText(res))
		}
		// The inventory's name is refused before any write (render), even
		// where no inventory exists yet (TestTheRefreshStateCannotBeForgedFromGit).
		if !contains(errorsText(res), "inv: spec.target.name: a ConfigMap named "+inventoryName+" is refused") {
			t.Fatalf("errors do not refuse the inventory's name: %s", errorsText(res))
		}
		if got := f.configMap("hand-made"); len(got.Data) != 1 || got.Data["k"] != "v" || got.Labels != nil {
			t.Fatalf("the hand-made ConfigMap was changed: %v %v", got.Data, got.Labels)
		}
		after := f.configMap(inventoryName)
		if _, ok := after.Data["token"]; ok || after.Annotations[reconciler.AnnotationExternalSecret] != "" {
			t.Fatal("the inventory ConfigMap was written as a target")
		}
		if len(f.inventory().Entries) != 2 {
			t.Fatalf("the inventory lost its record: %d entries (had %s)", len(f.inventory().Entries), before.ResourceVersion)
		}
		f.commit(map[string]string{"foreign.yaml": "", "inv.yaml": ""})
		mustOK(t, f.pass())
	})

	t.Run("a ConfigMap whose ExternalSecret left Git is pruned, and the same-named Secret stays", func(t *testing.T) {
		f.commit(map[string]string{"cfg.yaml": ""})
		res := f.pass()
		mustOK(t, res)
		if res.Pruned != 1 || f.configMap("app-config") != nil {
			t.Fatalf("pruned %d; ConfigMap still there: %v", res.Pruned, f.configMap("app-config") != nil)
		}
		if f.secret("app-config") == nil {
			t.Fatal("the Secret of the same name was pruned with the ConfigMap")
		}
		if f.configMap("hand-made") == nil {
			t.Fatal("a ConfigMap secretsync does not own was deleted")
		}
	})

	t.Run("an inventory rebuilt from the labels finds ConfigMap targets, never the inventory", func(t *testing.T) {
		f.commit(map[string]string{"cfg.yaml": cfgES})
		mustOK(t, f.pass())
		if err := env.Client.CoreV1().ConfigMaps(f.ns).Delete(ctx, inventory.Name(f.ns), metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		f.commit(map[string]string{"cfg.yaml": ""})
		res := f.pass()
		mustOK(t, res)
		if res.Pruned != 1 || f.configMap("app-config") != nil {
			t.Fatalf("after a rebuild, pruned %d; ConfigMap still there: %v", res.Pruned, f.configMap("app-config") != nil)
		}
		for _, e := range f.inventory().Entries {
			if e.Kind != "" {
				t.Fatalf("the rebuilt inventory holds %+v", e)
			}
		}
	})
}

func keysOf(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func errorsText(res reconciler.Result) string {
	var b strings.Builder
	for _, e := range res.Errors {
		b.WriteString(e.Error() + "\n")
	}
	return b.String()
}
