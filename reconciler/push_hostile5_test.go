package reconciler_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/secretsync/secretsync/internal/leaktest"
	"github.com/secretsync/secretsync/reconciler"
)

// Hostile review of 5330ab2 (the wait rule), 8f872d3 (sharing), d6cd29d
// (providers.Push.Keep) and 7a8df47 (desired.Identity): security.md 15.H2.

// otherNamespace creates a namespace for a second team and returns its name.
func (f *fixture) otherNamespace() string {
	f.t.Helper()
	ns := "t-" + randomSuffix()
	if _, err := env.Client.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		f.t.Fatal(err)
	}
	return ns
}

// in moves a manifest made by f.store or f.push into namespace ns.
func (f *fixture) in(ns, manifest string) string {
	return strings.Replace(manifest, "namespace: "+f.ns+"}", "namespace: "+ns+"}", 1)
}

// remoteKeys are the keys of a remote JSON secret (nil when it does not
// exist, is scheduled for deletion or holds no JSON object): names only.
func (f *fixture) remoteKeys(name string) []string {
	f.t.Helper()
	v, deleted, _, ok := f.remote(name)
	var obj map[string]any
	if !ok || deleted || json.Unmarshal([]byte(v), &obj) != nil {
		return nil
	}
	return slices.Sorted(maps.Keys(obj))
}

// Team a (its own namespace and SecretStore) pushes its whole Secret (keys
// u and s) to app/w under deletionPolicy Delete, then removes the
// PushSecret. In that commit team b, through a SecretStore of its own
// namespace with the same (instance) identity, pushes property x of
// app/w. b's push merges x into a's object (it gains no Replace from a's
// rows), is ready, and pruneVerdict counts it as having "written" a's row:
// a's row is forgotten, never deleted. Once b leaves Git too, a's keys
// stay in AWS for good, with no row: another namespace cancelled a's
// deletion.
func TestAnotherNamespacesPushNeverCancelsTheDeletionOfASecretLeavingGit(t *testing.T) {
	t.Skip("DEFECT: pruneVerdict forgets team a's row (deletionPolicy Delete, whole app/w) once team b's row of another namespace, through b's own SecretStore of the same desired.Identity, wrote property x into it; b's push merged into a's object (no Replace/Keep across namespaces), so a's keys u and s stay in AWS with no row after both leave Git. Fix: in pruneVerdict count only claims of rows of the stale row's namespace (as replaced does), and refuse (desired.SharedRemotes, with the stale Delete rows as their namespace's users) another namespace's push into a name a row leaving Git under deletionPolicy Delete still holds, until its deletion is done")
	f := newFixture(t)
	a := f.otherNamespace()
	f.source(a, "src", map[string]string{"u": leaktest.Canary(), "s": leaktest.Canary()})
	f.source(f.ns, "src", map[string]string{"x": leaktest.Canary()})
	del := "  deletionPolicy: Delete\n"
	f.commit(map[string]string{"a-store.yaml": f.in(a, f.store()), "a.yaml": f.in(a, f.push("p", "src", del, "=app/w"))})
	if res := f.pass(); !res.OK() || res.Pushed != 1 {
		t.Fatalf("team a's push: %v, pushed %d", res.Errors, res.Pushed)
	}
	f.commit(map[string]string{"a.yaml": "", "b-store.yaml": f.store(), "b.yaml": f.push("p", "src", del, "x=app/w#x")})
	f.pass()
	f.commit(map[string]string{"b.yaml": ""})
	f.rec = f.newReconciler(func(c *reconciler.Config) { c.AllowEmpty = true }) // the revision renders no PushSecret
	if res := f.pass(); !res.OK() {
		t.Fatalf("after b left Git: %v", res.Errors)
	}
	if keys := f.remoteKeys("app/w"); slices.Contains(keys, "s") || slices.Contains(keys, "u") {
		t.Fatalf("app/w still holds team a's keys (%q) after a's PushSecret (deletionPolicy Delete) and b's left Git; rows left: %q", keys, pushRows(f.inventory()))
	}
}

// Team a pushes app/n#db (deletionPolicy Delete) and removes it; team b,
// through its own SecretStore of the same identity, adds app/n#db.user
// under updatePolicy IfNotExists: it finds app/n and leaves it, ready,
// never writing. Its claim holds a's deletion at every pass, with no
// error and no Event, for as long as b keeps it in Git.
func TestAnotherNamespacesClaimThatNeverWritesNeverHoldsADeletion(t *testing.T) {
	t.Skip("DEFECT: a row of another namespace that never writes (IfNotExists found the secret; or a push refused every pass) claims team a's row through desired.Identity (any namespace's own SecretStore with the instance's identity and region reaches it, where 14.E needed a shared ClusterSecretStore), so a's deletion waits silently while b stays in Git. Fix: as TestAnotherNamespacesPushNeverCancelsTheDeletionOfASecretLeavingGit: claims count only within the stale row's namespace")
	f := newFixture(t)
	a := f.otherNamespace()
	f.source(a, "src", map[string]string{"u": leaktest.Canary()})
	f.source(f.ns, "src", map[string]string{"p": leaktest.Canary()})
	del := "  deletionPolicy: Delete\n"
	f.commit(map[string]string{"a-store.yaml": f.in(a, f.store()), "a.yaml": f.in(a, f.push("p", "src", del, "u=app/n#db"))})
	if res := f.pass(); !res.OK() || res.Pushed != 1 {
		t.Fatalf("team a's push: %v, pushed %d", res.Errors, res.Pushed)
	}
	f.commit(map[string]string{"a.yaml": "", "b-store.yaml": f.store(), "b.yaml": f.push("p", "src", "  updatePolicy: IfNotExists\n"+del, "p=app/n#db.user")})
	for i := range 3 {
		if res := f.pass(); !res.OK() {
			t.Fatalf("pass %d: %v", i, res.Errors)
		}
	}
	if _, deleted, _, ok := f.remote("app/n"); ok && !deleted {
		t.Fatalf("app/n (team a's, deletionPolicy Delete, out of Git) is still not deleted after 3 passes; rows: %q", pushRows(f.inventory()))
	}
}

// A whole-Secret push of app/w (deletionPolicy Delete) is split, in one
// commit, into property u through the store that wrote it and property p
// through a second store of the namespace whose prefix reaches the same
// AWS name. Both pushes carry Replace "" (the same desired.Identity), but
// Keep is looked up by store and remote key as written, so each keeps
// only its own property: whichever runs second drops the other's, and the
// rows then vouch for the lost one until its refresh is due.
func TestAWholeSecretSplitAcrossTwoStoresOfOneIdentityKeepsBothProperties(t *testing.T) {
	f := newFixture(t)
	user, pass, sensitive := leaktest.Canary(), leaktest.Canary(), leaktest.Canary()
	f.source(f.ns, "src", map[string]string{"u": user, "p": pass, "s": sensitive})
	del := "  deletionPolicy: Delete\n"
	f.commit(map[string]string{"store.yaml": f.store(), "prefixed.yaml": f.prefixedStore("prefixed", "app/"), "a.yaml": f.push("a", "src", del, "=app/w")})
	if res := f.pass(); !res.OK() || res.Pushed != 1 {
		t.Fatalf("first pass: %v, pushed %d", res.Errors, res.Pushed)
	}
	f.commit(map[string]string{"a.yaml": f.push("a", "src", del, "u=app/w#u"), "b.yaml": through(f.push("b", "src", del, "p=w#p"), "prefixed")})
	if res := f.pass(); !res.OK() || res.PushDeleted != 0 {
		t.Fatalf("split: %v, deleted %d", res.Errors, res.PushDeleted)
	}
	f.remoteJSON("app/w", map[string]string{"u": user, "p": pass})
}

// Two PushSecrets of one namespace write properties of one new AWS secret
// through two stores of the same identity whose prefixes meet (app/c and
// c under app/). sharing groups steps by store key and remote key as
// written, so they run concurrently (the provider's lock makes one create
// and the other update), and Diff's created set is keyed by store too:
// diff says both create.
func TestDiffNamesTheCreatorOfASecretTwoStoresOfOneIdentityWrite(t *testing.T) {
	f := newFixture(t)
	f.source(f.ns, "src", map[string]string{"u": leaktest.Canary(), "p": leaktest.Canary()})
	f.commit(map[string]string{"store.yaml": f.store(), "prefixed.yaml": f.prefixedStore("prefixed", "app/"),
		"b.yaml": f.push("b", "src", "", "u=app/c#user"), "c.yaml": through(f.push("c", "src", "", "p=c#pass"), "prefixed")})
	f.pushParity("two stores create", "create app/c#user (b)", "update c#pass (c)")
}

// A push of app/sec#db (deletionPolicy Delete) through a store naming
// region us-east-1 moves to sec#db.user through a second store of the
// namespace with prefix app/ and no region: the instance's region is
// us-east-1, so the same AWS secret (as 15.D compares them). Identity
// counts "" and us-east-1 apart: the nested push gains no Replace and is
// refused, and a's db, its last property, is deleted with the secret,
// which then refuses b's push for its recovery window.
func TestANestedPushThroughAStoreNamingNoRegionReplacesAndDeletesNothing(t *testing.T) {
	t.Skip("DEFECT: desired.Identity counts a region written and none (the instance's default) as two identities, while desired.awsName (15.D) counts them as one: a nested push through a store naming no region gets no Replace (refused: db holds no JSON object) and pruneVerdict deletes the old row's db, the secret's last property, so app/sec is scheduled for deletion and every later push of it is refused for the recovery window (30 days by default). Fix: let Identity (replaced, pruneVerdict's written) treat a store naming no region as the instance's region (Config would need it), or match it against every region as remoteName.keys does")
	f := newFixture(t)
	user, pass := leaktest.Canary(), leaktest.Canary()
	f.source(f.ns, "src", map[string]string{"u": user, "p": pass})
	del := "  deletionPolicy: Delete\n"
	noRegion := fmt.Sprintf("apiVersion: external-secrets.io/v1\nkind: SecretStore\nmetadata: {name: noregion, namespace: %s}\nspec: {provider: {aws: {service: SecretsManager, prefix: app/}}}\n", f.ns)
	f.commit(map[string]string{"store.yaml": f.store(), "noregion.yaml": noRegion, "a.yaml": f.push("a", "src", del, "u=app/sec#db")})
	if res := f.pass(); !res.OK() || res.Pushed != 1 {
		t.Fatalf("first pass: %v, pushed %d", res.Errors, res.Pushed)
	}
	f.commit(map[string]string{"a.yaml": "", "b.yaml": through(f.push("b", "src", del, "p=sec#db.user"), "noregion")})
	if res := f.pass(); !res.OK() || res.PushDeleted != 0 {
		t.Fatalf("second pass: %v, deleted %d; want db.user pushed and nothing deleted", res.Errors, res.PushDeleted)
	}
	f.remoteValue("app/sec", `{"db":{"user":"`+pass+`"}}`)
}

// A whole-Secret push of app/w (keys u and s, deletionPolicy Delete) is
// narrowed to property u, and in the same commit a second PushSecret
// claims property s, whose push is refused at every pass (metadata the
// provider refuses). Keep keeps s of the old object (a PushSecret in Git
// claims it) though nothing in Git wrote it, and the old row is forgotten
// (u wrote it). Once the failing PushSecret leaves Git (its row never
// wrote, so nothing deletes), the old push's s stays in AWS for good.
func TestAKeyTheOldWholePushWroteNeverOutlivesAClaimThatNeverWrote(t *testing.T) {
	t.Skip("DEFECT: Keep keeps the properties of PushSecrets that push this pass, decided before they push; one whose push then fails (metadata refused by the provider) keeps the old whole push's key, and the old row is forgotten once another claim wrote")
	f := newFixture(t)
	user, sensitive := leaktest.Canary(), leaktest.Canary()
	f.source(f.ns, "src", map[string]string{"u": user, "s": sensitive})
	del := "  deletionPolicy: Delete\n"
	f.commit(map[string]string{"store.yaml": f.store(), "a.yaml": f.push("a", "src", del, "=app/w")})
	if res := f.pass(); !res.OK() || res.Pushed != 1 {
		t.Fatalf("first pass: %v, pushed %d", res.Errors, res.Pushed)
	}
	f.commit(map[string]string{"a.yaml": f.push("a", "src", del, "u=app/w#u"), "b.yaml": withMeta(f.push("b", "src", del, "s=app/w#s"), badMeta)})
	if res := f.pass(); len(res.Errors) != 1 || !strings.Contains(res.Errors[0].Error(), "bogus") {
		t.Fatalf("narrowed: %v, want b's metadata refused", res.Errors)
	}
	f.commit(map[string]string{"b.yaml": ""})
	if res := f.pass(); !res.OK() {
		t.Fatalf("b left Git: %v", res.Errors)
	}
	f.remoteJSON("app/w", map[string]string{"u": user})
}

// The wait rule, step by step, diff and pass alike: a row leaving Git
// (app/n#db, deletionPolicy Delete) claimed by a nested push that is
// refused at every pass waits as it is (no action), pass after pass,
// without the record growing; it still waits when the claiming
// PushSecret switches to deletionPolicy None; it is deleted once the
// claiming PushSecret leaves Git (whose own row never wrote, so it
// deletes nothing), and the record is back to the rows in Git.
func TestAWaitingRowStaysOneRowAndGoesWhenItsClaimLeavesGit(t *testing.T) {
	f := newFixture(t)
	user, pass, keep := leaktest.Canary(), leaktest.Canary(), leaktest.Canary()
	f.source(f.ns, "src", map[string]string{"u": user, "p": pass, "k": keep})
	del := "  deletionPolicy: Delete\n"
	f.commit(map[string]string{"store.yaml": f.store(), "a.yaml": f.push("a", "src", del, "u=app/n#db"), "k.yaml": f.push("k", "src", "", "k=app/n#keep")})
	f.pushParity("first pass", "create app/n#db (a)", "update app/n#keep (k)")
	f.commit(map[string]string{"a.yaml": "", "b.yaml": withMeta(f.push("b", "src", del, "p=app/n#db.user"), badMeta)})
	f.pushParity("claimed, refused", "refused app/n#db.user (b)", "keep app/n#keep (k)")
	rows := len(f.inventory().Pushed)
	for i := range 3 {
		f.pushParity(fmt.Sprintf("backing off %d", i), "leave app/n#db.user (b)", "keep app/n#keep (k)")
		if n := len(f.inventory().Pushed); n != rows {
			t.Fatalf("backing off %d: %d push rows, want %d: %q", i, n, rows, pushRows(f.inventory()))
		}
	}
	f.commit(map[string]string{"b.yaml": withMeta(f.push("b", "src", "", "p=app/n#db.user"), badMeta)})
	f.pushParity("claim under deletionPolicy None", "refused app/n#db.user (b)", "keep app/n#keep (k)")
	if n := len(f.inventory().Pushed); n != rows {
		t.Fatalf("under None: %d push rows, want %d: %q", n, rows, pushRows(f.inventory()))
	}
	f.remoteJSON("app/n", map[string]string{"db": user, "keep": keep})
	f.commit(map[string]string{"b.yaml": ""})
	f.pushParity("claim left Git", "keep app/n#keep (k)", "delete app/n#db (a)")
	f.remoteJSON("app/n", map[string]string{"keep": keep})
	if got := pushRows(f.inventory()); len(got) != 1 || !strings.HasPrefix(got[0], f.ns+"/k ") {
		t.Fatalf("rows after the claim left Git: %q, want k's alone", got)
	}
}
