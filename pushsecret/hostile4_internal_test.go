package pushsecret

import (
	"slices"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/secretsync/secretsync/desired"
	"github.com/secretsync/secretsync/inventory"
	"github.com/secretsync/secretsync/render"
)

// replaced widens a push only by what a row of the record wrote for the
// same namespace (a namespace named like the start of another's is none of
// it), through the same store, to the same AWS name, and that the push's
// property nests in (or the whole secret): never a row never pushed, a
// sibling, a name the store's prefix moved from, a deeper property, or a
// property sharing only leading characters.
func TestReplaceNamesOnlyWhatTheSameNamespacesPushesWroteOnTheWay(t *testing.T) {
	at := metav1.NewTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	store := desired.StoreKeyOf(render.KindClusterSecretStore, "", "shared")
	row := func(ps, st, name, property string, pushed bool) inventory.PushRow {
		r := inventory.PushRow{PushSecret: ps, Store: st, RemoteKey: name, RemoteName: name, Property: property, Delete: true}
		if pushed {
			r.LastPush = &at
		}
		return r
	}
	for _, c := range []struct {
		what     string
		old      inventory.PushRow
		ns, prop string
		want     []string
	}{
		{"db by db.user", row("a/x", store.String(), "n", "db", true), "a", "db.user", []string{"db"}},
		{"the whole secret by a property", row("a/x", store.String(), "n", "", true), "a", "db.user", []string{""}},
		{"db by db.user.name", row("a/x", store.String(), "n", "db", true), "a", "db.user.name", []string{"db"}},
		{"another namespace", row("b/x", store.String(), "n", "db", true), "a", "db.user", nil},
		{"a namespace named like the start of another", row("ab/x", store.String(), "n", "db", true), "a", "db.user", nil},
		{"a row never pushed", row("a/x", store.String(), "n", "db", false), "a", "db.user", nil},
		{"another store", row("a/x", "ClusterSecretStore/other", "n", "db", true), "a", "db.user", nil},
		{"a name the prefix moved from", row("a/x", store.String(), "old/n", "db", true), "a", "db.user", nil},
		{"a sibling", row("a/x", store.String(), "n", "db.pass", true), "a", "db.user", nil},
		{"a deeper property", row("a/x", store.String(), "n", "db.user", true), "a", "db", nil},
		{"leading characters only", row("a/x", store.String(), "n", "d", true), "a", "db.user", nil},
		{"the same property", row("a/x", store.String(), "n", "db", true), "a", "db", nil},
		{"a property by the whole secret", row("a/x", store.String(), "n", "db", true), "a", "", nil},
	} {
		r := &run{Pass: Pass{Old: []inventory.PushRow{c.old}}}
		got := r.replaced(c.ns, desired.PushEntry{Store: store, RemoteKey: "n", Property: c.prop}, "n")
		if !slices.Equal(got, c.want) {
			t.Errorf("%s: replace %q, want %q", c.what, got, c.want)
		}
	}
}
