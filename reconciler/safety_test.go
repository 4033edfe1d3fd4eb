package reconciler_test

import (
	"context"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

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
