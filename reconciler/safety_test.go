package reconciler_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"

	"github.com/secretsync/secretsync/internal/leaktest"
	"github.com/secretsync/secretsync/reconciler"
)

func (f *fixture) inventoryEvents() []string {
	f.t.Helper()
	var out []string
	for _, e := range f.events() {
		if strings.HasPrefix(e, "secretsync-inventory-"+f.ns+"/") {
			out = append(out, e)
		}
	}
	return out
}

func TestALostInventoryIsRebuiltFromTheLabelledSecrets(t *testing.T) {
	for _, loss := range []string{"deleted", "corrupted"} {
		t.Run("an inventory "+loss+" by hand", func(t *testing.T) {
			f := newFixture(t)
			f.seed("inv/a", "value-a-seeded")
			f.seed("inv/b", "value-b-seeded")
			f.commit(map[string]string{"store.yaml": f.store(), "a.yaml": f.es("a", "v=inv/a"), "b.yaml": f.es("b", "v=inv/b")})
			mustOK(t, f.pass())

			cms := env.Client.CoreV1().ConfigMaps(f.ns)
			name := "secretsync-inventory-" + f.ns
			if loss == "deleted" {
				if err := cms.Delete(context.Background(), name, metav1.DeleteOptions{}); err != nil {
					t.Fatal(err)
				}
			} else {
				cm, err := cms.Get(context.Background(), name, metav1.GetOptions{})
				if err != nil {
					t.Fatal(err)
				}
				for k := range cm.BinaryData {
					cm.BinaryData[k] = []byte("not gzip")
				}
				if _, err := cms.Update(context.Background(), cm, metav1.UpdateOptions{}); err != nil {
					t.Fatal(err)
				}
			}

			// a rotates and b leaves Git: the rotation is applied and b is
			// pruned, from the inventory rebuilt out of the labels.
			f.rotate("inv/a", "value-a2-seeded")
			f.commit(map[string]string{"b.yaml": ""})
			res := f.pass()
			mustOK(t, res)
			sameData(t, "secret a", data(f.secret("a")), map[string]string{"v": "value-a2-seeded"})
			if f.secret("b") != nil || res.Pruned != 1 {
				t.Fatalf("b was not pruned (pruned %d)", res.Pruned)
			}
			if inv := f.inventory(); len(inv.Entries) != 1 || inv.Entries[0].Name != "a" || inv.Entries[0].ExternalSecret != f.ns+"/a" {
				t.Fatalf("inventory = %+v", inv.Entries)
			}
			ev := f.inventoryEvents()
			if len(ev) != 1 || !strings.Contains(ev[0], "InventoryRebuilt: ") || !strings.Contains(ev[0], "rebuilt from the 2 Secrets labelled") {
				t.Fatalf("inventory events = %q", ev)
			}
		})
	}
	t.Run("a fresh install has nothing to rebuild and warns of nothing", func(t *testing.T) {
		f := newFixture(t)
		f.seed("inv/c", "value-c-seeded")
		f.commit(map[string]string{"store.yaml": f.store(), "c.yaml": f.es("c", "v=inv/c")})
		mustOK(t, f.pass())
		if ev := f.inventoryEvents(); len(ev) != 0 {
			t.Fatalf("inventory events = %q", ev)
		}
	})
	t.Run("prune guards hold on the rebuilt set", func(t *testing.T) {
		f := newFixture(t)
		f.rec = f.newReconciler(func(c *reconciler.Config) { c.PruneBudget = 1 })
		f.seed("inv/d", "value-d-seeded")
		files := map[string]string{"store.yaml": f.store()}
		for _, n := range []string{"d1", "d2", "d3"} {
			files[n+".yaml"] = f.es(n, "v=inv/d")
		}
		f.commit(files)
		mustOK(t, f.pass())
		if err := env.Client.CoreV1().ConfigMaps(f.ns).Delete(context.Background(), "secretsync-inventory-"+f.ns, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		f.commit(map[string]string{"d2.yaml": "", "d3.yaml": ""})
		res := f.pass()
		if res.Pruned != 0 || f.secret("d2") == nil || f.secret("d3") == nil || !strings.Contains(res.PruneSkipped, "exceed the budget") {
			t.Fatalf("pruned %d, prune skipped %q", res.Pruned, res.PruneSkipped)
		}
	})
}

func TestASecretCreatedByOthersMeanwhileIsNeverTakenOver(t *testing.T) {
	f := newFixture(t)
	f.seed("race/a", "value-race-seeded")
	f.commit(map[string]string{"store.yaml": f.store(), "a.yaml": f.es("a", "v=race/a")})
	reconciler.SetBeforeCreate(t, func(ns, name string) {
		s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, StringData: map[string]string{"theirs": "kept"}}
		if _, err := env.Client.CoreV1().Secrets(ns).Create(context.Background(), s, metav1.CreateOptions{}); err != nil {
			t.Errorf("create in the window: %v", err)
		}
	})
	res := f.pass()
	if res.OK() || !strings.Contains(fmt.Sprint(res.Errors), "exists and is not managed by secretsync") {
		t.Fatalf("errors = %v", res.Errors)
	}
	s := f.secret("a")
	sameData(t, "the other Secret", data(s), map[string]string{"theirs": "kept"})
	if s.Labels[reconciler.LabelManagedBy] != "" {
		t.Fatalf("labels = %v", s.Labels)
	}
}

func TestACreatedSecretLosesKeysThatLeaveGit(t *testing.T) {
	f := newFixture(t)
	f.seed("keys/a", `{"one":"value-one-seeded","two":"value-two-seeded"}`)
	f.commit(map[string]string{"store.yaml": f.store(), "a.yaml": f.es("a", "one=keys/a#one", "two=keys/a#two")})
	mustOK(t, f.pass())
	f.commit(map[string]string{"a.yaml": f.es("a", "one=keys/a#one")})
	mustOK(t, f.pass())
	sameData(t, "secret a", data(f.secret("a")), map[string]string{"one": "value-one-seeded"})
	f.counter.Reset()
	res := f.pass()
	mustOK(t, res)
	if res.Applied != 0 || f.writesBesideRefreshTime() != 0 {
		t.Fatalf("a pass after the change wrote again: applied %d, writes %d", res.Applied, f.writesBesideRefreshTime())
	}
}

func TestAMergeThatOverwritesAnotherManagersKeySaysSo(t *testing.T) {
	f := newFixture(t)
	f.seed("merge/key", "value-key-seeded")
	ac := corev1ac.Secret("tls", f.ns).WithData(map[string][]byte{"tls.key": []byte("theirs"), "tls.crt": []byte("cert")})
	if _, err := env.Client.CoreV1().Secrets(f.ns).Apply(context.Background(), ac, metav1.ApplyOptions{FieldManager: "cert-manager"}); err != nil {
		t.Fatal(err)
	}
	f.commit(map[string]string{"store.yaml": f.store(),
		"tls.yaml": withTarget(f.es("tls", "tls.key=merge/key"), "{name: tls, creationPolicy: Merge}")})

	t.Run("diff names the key and the manager that holds it", func(t *testing.T) {
		diffs, res := f.rec.Diff(context.Background())
		mustOK(t, res)
		if len(diffs) != 1 || diffs[0].TakenFrom["tls.key"] != "cert-manager" {
			t.Fatalf("diffs = %+v", diffs)
		}
	})
	t.Run("the pass overwrites it, as ESO does, with a Warning naming both", func(t *testing.T) {
		mustOK(t, f.pass())
		sameData(t, "secret tls", data(f.secret("tls")), map[string]string{"tls.key": "value-key-seeded", "tls.crt": "cert"})
		var warned []string
		for _, e := range f.events() {
			if strings.HasPrefix(e, "tls/KeyTakenOver: ") {
				warned = append(warned, e)
			}
		}
		if len(warned) != 1 || !strings.Contains(warned[0], `key "tls.key" was held by field manager "cert-manager"`) {
			t.Fatalf("events = %q", f.events())
		}
	})
}

func TestOneBrokenFolderDoesNotStopTheOthersRotations(t *testing.T) {
	f := newFixture(t)
	f.seed("leaf/a", "value-a-seeded")
	f.seed("leaf/b", "value-b-seeded")
	f.commit(map[string]string{
		"kustomization.yaml":        "resources: [team-a, team-b]\n",
		"team-a/kustomization.yaml": "resources: [store.yaml, a.yaml]\n",
		"team-a/store.yaml":         f.store(),
		"team-a/a.yaml":             f.es("a", "v=leaf/a"),
		"team-b/kustomization.yaml": "resources: [store.yaml, b.yaml]\n",
		"team-b/store.yaml":         strings.Replace(f.store(), "name: aws", "name: aws-b", 1),
		"team-b/b.yaml":             strings.Replace(f.es("b", "v=leaf/b"), "name: aws}", "name: aws-b}", 1),
	})
	mustOK(t, f.pass())
	f.rotate("leaf/a", "value-a2-seeded")
	f.commit(map[string]string{"team-b/b.yaml": "apiVersion: external-secrets.io/v1\nkind: [unclosed\n"})
	res := f.pass()
	if res.OK() || res.Reason != reconciler.RenderFailed {
		t.Fatalf("reason %s, errors %v", res.Reason, res.Errors)
	}
	sameData(t, "secret a, in the folder that builds", data(f.secret("a")), map[string]string{"v": "value-a2-seeded"})
	sameData(t, "secret b, in the broken folder", data(f.secret("b")), map[string]string{"v": "value-b-seeded"})
	if res.Pruned != 0 || !strings.Contains(res.PruneSkipped, "render reported 1 errors") {
		t.Fatalf("pruned %d, prune skipped %q", res.Pruned, res.PruneSkipped)
	}
}

func TestTheInventoryHasAReadableSummary(t *testing.T) {
	f := newFixture(t)
	f.seed("sum/a", "value-sum-seeded")
	f.commit(map[string]string{"store.yaml": f.store(), "a.yaml": f.es("a", "v=sum/a"), "b.yaml": f.es("b", "v=sum/missing")})
	f.pass()
	cm, err := env.Client.CoreV1().ConfigMaps(f.ns).Get(context.Background(), "secretsync-inventory-"+f.ns, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got := cm.Data["summary"]
	for _, want := range []string{"secrets: 1\n", "externalSecrets: 2\n", "ready: 1\n", "failing: 1\n", "- " + f.ns + "/b (b.yaml): NotFound: "} {
		if !strings.Contains(got, want) {
			t.Fatalf("summary lacks %q:\n%s", want, got)
		}
	}
}

// TestAnOrphanedSecretIsNeverAdoptedByARebuild: a Secret left behind on
// purpose (creationPolicy Orphan, or an ExternalSecret switched from Owner to
// a policy that does not own, then removed from Git) stays when its
// ExternalSecret leaves Git, and stays through a lost inventory: the
// rebuild does not take it for ours, so no later pass prunes it.
func TestAnOrphanedSecretIsNeverAdoptedByARebuild(t *testing.T) {
	f := newFixture(t)
	seeded := map[string]string{} // random: "released" is a word of the log
	for _, k := range []string{"keep", "orphan", "released"} {
		seeded[k] = leaktest.Canary()
		f.seed("orph/"+k, seeded[k])
	}
	f.commit(map[string]string{"store.yaml": f.store(),
		"keep.yaml":     f.es("keep", "v=orph/keep"),
		"orphan.yaml":   withTarget(f.es("orphan", "v=orph/orphan"), "{creationPolicy: Orphan}"),
		"released.yaml": f.es("released", "v=orph/released"),
	})
	mustOK(t, f.pass())
	f.commit(map[string]string{"released.yaml": withTarget(f.es("released", "v=orph/released"), "{creationPolicy: None}")})
	mustOK(t, f.pass())
	f.commit(map[string]string{"orphan.yaml": "", "released.yaml": ""})
	mustOK(t, f.pass())
	if err := env.Client.CoreV1().ConfigMaps(f.ns).Delete(context.Background(), "secretsync-inventory-"+f.ns, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	for pass := 1; pass <= 2; pass++ {
		res := f.pass()
		mustOK(t, res)
		if res.Pruned != 0 {
			t.Fatalf("pass %d after the loss pruned %d", pass, res.Pruned)
		}
		for _, name := range []string{"orphan", "released"} {
			sameData(t, fmt.Sprintf("pass %d after the loss: secret %s", pass, name), data(f.secret(name)), map[string]string{"v": seeded[name]})
		}
		if inv := f.inventory(); len(inv.Entries) != 1 || inv.Entries[0].Name != "keep" {
			t.Fatalf("pass %d after the loss: inventory = %+v", pass, inv.Entries)
		}
	}
}
