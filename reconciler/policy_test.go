package reconciler_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/secretsync/secretsync/inventory"
	"github.com/secretsync/secretsync/reconciler"
)

// withTarget adds a target block to an ExternalSecret made by f.es.
func withTarget(es, target string) string {
	return strings.Replace(es, "  secretStoreRef: {name: aws}\n", "  secretStoreRef: {name: aws}\n  target: "+target+"\n", 1)
}

func (f *fixture) createForeign(name string, data map[string]string) {
	f.t.Helper()
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: f.ns}, StringData: data}
	if _, err := env.Client.CoreV1().Secrets(f.ns).Create(context.Background(), s, metav1.CreateOptions{}); err != nil {
		f.t.Fatal(err)
	}
}

func TestCreationPolicies(t *testing.T) {
	f := newFixture(t)
	f.seed("k/a", "value-a-seeded")
	f.seed("k/b", "value-b-seeded")
	f.createForeign("shared", map[string]string{"theirs": "kept"})
	f.createForeign("upsert-existing", map[string]string{"theirs": "kept"})
	f.commit(map[string]string{"store.yaml": f.store(),
		"orphan.yaml":     withTarget(f.es("orphan", "v=k/a"), "{creationPolicy: Orphan}"),
		"merge-a.yaml":    withTarget(f.es("merge-a", "a=k/a"), "{name: shared, creationPolicy: Merge}"),
		"merge-b.yaml":    withTarget(f.es("merge-b", "b=k/b"), "{name: shared, creationPolicy: Merge}"),
		"merge-none.yaml": withTarget(f.es("merge-none", "v=k/a"), "{name: absent, creationPolicy: Merge}"),
		"none.yaml":       withTarget(f.es("none", "v=k/a"), "{creationPolicy: None}"),
		"upsert-new.yaml": withTarget(f.es("upsert-new", "v=k/a"), "{creationPolicy: CreateOrMerge}"),
		"upsert-old.yaml": withTarget(f.es("upsert-old", "v=k/b"), "{name: upsert-existing, creationPolicy: CreateOrMerge}"),
	})
	res := f.pass()
	if res.Failed != 1 || !strings.Contains(res.Errors[0].Error(), "creationPolicy Merge never creates it") {
		t.Fatalf("failed %d errors %v", res.Failed, res.Errors)
	}

	t.Run("Orphan creates the Secret", func(t *testing.T) {
		sameData(t, "orphan", data(f.secret("orphan")), map[string]string{"v": "value-a-seeded"})
	})
	t.Run("Merge adds each ExternalSecret's keys and keeps the others", func(t *testing.T) {
		s := f.secret("shared")
		sameData(t, "shared", data(s), map[string]string{"theirs": "kept", "a": "value-a-seeded", "b": "value-b-seeded"})
		if s.Labels[reconciler.LabelManagedBy] != "" {
			t.Fatal("a merged Secret was labelled as ours")
		}
		managers := map[string]bool{}
		for _, m := range s.ManagedFields {
			managers[m.Manager] = true
		}
		if len(managers) < 3 {
			t.Fatalf("field managers = %v; want one per writer", managers)
		}
	})
	t.Run("Merge never creates", func(t *testing.T) {
		if f.secret("absent") != nil {
			t.Fatal("Merge created a Secret")
		}
	})
	t.Run("None writes nothing", func(t *testing.T) {
		if f.secret("none") != nil {
			t.Fatal("None created a Secret")
		}
	})
	t.Run("CreateOrMerge creates a missing Secret and merges into an existing one", func(t *testing.T) {
		sameData(t, "upsert-new", data(f.secret("upsert-new")), map[string]string{"v": "value-a-seeded"})
		sameData(t, "upsert-existing", data(f.secret("upsert-existing")), map[string]string{"theirs": "kept", "v": "value-b-seeded"})
	})
	t.Run("an unchanged pass writes no Secret under any policy", func(t *testing.T) {
		f.counter.Reset()
		f.pass()
		// A forced pass refreshes: the inventory's rows record when (ESO
		// writes status.refreshTime), in one write.
		if w, inv := f.counter.Writes(), f.counter.ByVerb()["apply configmaps"]; w != inv || inv > 1 {
			t.Fatalf("%d writes (%v)", w, f.counter.ByVerb())
		}
	})
	t.Run("leaving Git deletes only what Owner created", func(t *testing.T) {
		f.commit(map[string]string{"orphan.yaml": "", "merge-a.yaml": "", "merge-b.yaml": "", "merge-none.yaml": "", "upsert-new.yaml": "", "upsert-old.yaml": ""})
		res := f.pass()
		mustOK(t, res)
		for _, name := range []string{"orphan", "shared", "upsert-new", "upsert-existing"} {
			if f.secret(name) == nil {
				t.Fatalf("%s was deleted", name)
			}
		}
	})
}

func TestTwoMergingWritersOfOneKeyAreBothRefused(t *testing.T) {
	f := newFixture(t)
	f.seed("k/a", "value-a-seeded")
	f.createForeign("shared", map[string]string{"theirs": "kept"})
	f.commit(map[string]string{"store.yaml": f.store(),
		"m1.yaml": withTarget(f.es("m1", "same=k/a"), "{name: shared, creationPolicy: Merge}"),
		"m2.yaml": withTarget(f.es("m2", "same=k/a"), "{name: shared, creationPolicy: Merge}"),
	})
	res := f.pass()
	if res.Failed != 2 {
		t.Fatalf("failed %d, errors %v", res.Failed, res.Errors)
	}
	for _, e := range res.Errors {
		if !strings.Contains(e.Error(), "secret "+f.ns+`/shared is written by 2 ExternalSecrets, and each writes key "same"`) {
			t.Fatalf("error %v", e)
		}
	}
	sameData(t, "shared", data(f.secret("shared")), map[string]string{"theirs": "kept"})
}

func TestDeletionPolicies(t *testing.T) {
	f := newFixture(t)
	for _, k := range []string{"del", "m1", "m2", "ret"} {
		f.seed("k/"+k, "value-"+k+"-seeded")
	}
	f.commit(map[string]string{"store.yaml": f.store(),
		"del.yaml":   withTarget(f.es("del", "v=k/del"), "{deletionPolicy: Delete}"),
		"merge.yaml": withTarget(f.es("merge", "one=k/m1", "two=k/m2"), "{deletionPolicy: Merge}"),
		"ret.yaml":   withTarget(f.es("ret", "v=k/ret"), "{deletionPolicy: Retain}"),
	})
	mustOK(t, f.pass())
	for _, k := range []string{"k/del", "k/m1", "k/ret"} {
		f.sm.Delete(t, k)
	}
	res := f.pass()

	t.Run("Delete removes the Secret once every source is gone", func(t *testing.T) {
		if f.secret("del") != nil {
			t.Fatal("the Secret is still there")
		}
		var deleted bool
		for _, e := range f.events() {
			deleted = deleted || strings.HasPrefix(e, "del/Deleted")
		}
		if !deleted {
			t.Fatalf("no Deleted event: %v", f.events())
		}
		for _, st := range f.inventory().Status {
			if st.ExternalSecret == f.ns+"/del" && (st.Ready || st.Reason != "SecretDeleted") {
				t.Fatalf("status %+v", st)
			}
		}
	})
	t.Run("Merge removes only the keys whose source is gone", func(t *testing.T) {
		sameData(t, "merge", data(f.secret("merge")), map[string]string{"two": "value-m2-seeded"})
	})
	t.Run("Retain keeps the last value and reports", func(t *testing.T) {
		sameData(t, "ret", data(f.secret("ret")), map[string]string{"v": "value-ret-seeded"})
		if res.Failed != 1 || !strings.Contains(res.Errors[0].Error(), "NotFound secretsmanager:k/ret") {
			t.Fatalf("failed %d errors %v", res.Failed, res.Errors)
		}
	})
}

func TestImmutableSecretsAreNotUpdated(t *testing.T) {
	f := newFixture(t)
	f.seed("k/a", "value-a-seeded")
	f.commit(map[string]string{"store.yaml": f.store(), "a.yaml": withTarget(f.es("a", "v=k/a"), "{immutable: true}")})
	mustOK(t, f.pass())
	s := f.secret("a")
	if s.Immutable == nil || !*s.Immutable {
		t.Fatal("the Secret is not immutable")
	}
	f.rotate("k/a", "value-a2-seeded")
	res := f.pass()
	if res.Applied != 0 {
		t.Fatalf("applied %d to an immutable Secret", res.Applied)
	}
	sameData(t, "a", data(f.secret("a")), map[string]string{"v": "value-a-seeded"})
	st := f.inventory().Status[0]
	if diff := cmp.Diff([]any{false, "Immutable"}, []any{st.Ready, st.Reason}); diff != "" {
		t.Fatalf("status (-want +got):\n%s", diff)
	}
}

// TestAFindThatMatchesNothingUnderEachDeletionPolicy: once every remote
// secret a dataFrom.find matched is deleted, as ESO does when the provider
// returns no data: Retain (the default) keeps the Secret as it is, pass
// after pass, and stays in the inventory; Delete deletes it; Merge writes
// it with no keys. A find that never matched creates nothing under Retain.
func TestAFindThatMatchesNothingUnderEachDeletionPolicy(t *testing.T) {
	f := newFixture(t)
	for _, k := range []string{"retain/a", "retain/b", "delete/a", "merge/a"} {
		f.seed(k, "value-"+strings.ReplaceAll(k, "/", "-")+"-seeded")
	}
	find := func(name, prefix, target string) string {
		return f.esSpec(name, target+"  dataFrom:\n    - find: {name: {regexp: \"^"+prefix+"/\"}}\n      rewrite: [{regexp: {source: \"^"+prefix+"/\", target: \"\"}}]\n")
	}
	f.commit(map[string]string{"store.yaml": f.store(),
		"retain.yaml": find("retain", "retain", ""),
		"delete.yaml": find("delete", "delete", "  target: {deletionPolicy: Delete}\n"),
		"merge.yaml":  find("merge", "merge", "  target: {deletionPolicy: Merge}\n"),
		"never.yaml":  find("never", "never", ""),
	})
	mustOK(t, f.pass())
	retained := map[string]string{"a": "value-retain-a-seeded", "b": "value-retain-b-seeded"}
	sameData(t, "retain", data(f.secret("retain")), retained)
	for _, k := range []string{"retain/a", "retain/b", "delete/a", "merge/a"} {
		f.sm.Delete(t, k)
	}
	for pass := 2; pass <= 3; pass++ {
		res := f.pass()
		mustOK(t, res)
		t.Run(fmt.Sprintf("pass %d: Retain keeps the Secret as it is and in the inventory", pass), func(t *testing.T) {
			sameData(t, "retain", data(f.secret("retain")), retained)
			inv := f.inventory()
			if !slices.ContainsFunc(inv.Entries, func(e inventory.Entry) bool { return e.Name == "retain" }) {
				t.Fatalf("the retained Secret left the inventory: %+v", inv.Entries)
			}
			for _, st := range inv.Status {
				if st.ExternalSecret == f.ns+"/retain" && (!st.Ready || st.Reason != "SecretRetained") {
					t.Fatalf("status %+v", st)
				}
			}
		})
		t.Run(fmt.Sprintf("pass %d: Delete deletes it", pass), func(t *testing.T) {
			if f.secret("delete") != nil {
				t.Fatal("the Secret is still there")
			}
		})
		t.Run(fmt.Sprintf("pass %d: Merge leaves it with no keys", pass), func(t *testing.T) {
			if s := f.secret("merge"); s == nil || len(s.Data) != 0 {
				t.Fatalf("merge: %v", s != nil)
			}
		})
		t.Run(fmt.Sprintf("pass %d: a find that never matched creates nothing", pass), func(t *testing.T) {
			if f.secret("never") != nil {
				t.Fatal("a Secret was created")
			}
		})
	}
}
