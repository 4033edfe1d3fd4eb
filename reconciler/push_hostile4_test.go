package reconciler_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/secretsync/secretsync/internal/leaktest"
	"github.com/secretsync/secretsync/reconciler"
)

// badMeta is push metadata the provider refuses by name when it pushes
// (an unknown key): the push fails after the plan, with its row's property.
const badMeta = "      metadata: {apiVersion: kubernetes.external-secrets.io/v1alpha1, kind: PushSecretMetadata, spec: {bogus: x}}\n"

// withMeta adds meta to every data entry of a PushSecret made by f.push.
func withMeta(ps, meta string) string {
	head, entries, _ := strings.Cut(ps, "  data:\n")
	return head + "  data:\n" + strings.ReplaceAll(entries, "}}\n", "}}\n"+meta)
}

// A commit removes a PushSecret pushing app/n#db (deletionPolicy Delete)
// and adds one pushing app/n#db.user whose push fails (metadata refused
// at push time); the next commit mends it. The nested push must then
// replace db, as it would have in one pass (the row leaving Git wrote it);
// a third PushSecret keeps app/n alive throughout.
func TestANestedPushThatFailsOncePushesWhenMended(t *testing.T) {
	f := newFixture(t)
	user, pass, keep := leaktest.Canary(), leaktest.Canary(), leaktest.Canary()
	f.source(f.ns, "src", map[string]string{"u": user, "p": pass, "k": keep})
	del := "  deletionPolicy: Delete\n"
	f.commit(map[string]string{"store.yaml": f.store(), "a.yaml": f.push("a", "src", del, "u=app/n#db"), "k.yaml": f.push("k", "src", del, "k=app/n#keep")})
	if res := f.pass(); !res.OK() || res.Pushed != 2 {
		t.Fatalf("first pass: %v, pushed %d", res.Errors, res.Pushed)
	}
	f.commit(map[string]string{"a.yaml": "", "b.yaml": withMeta(f.push("b", "src", del, "p=app/n#db.user"), badMeta)})
	if res := f.pass(); len(res.Errors) != 1 || !strings.Contains(res.Errors[0].Error(), "bogus") {
		t.Fatalf("second pass: %v, want b's metadata refused", res.Errors)
	}
	f.commit(map[string]string{"b.yaml": f.push("b", "src", del, "p=app/n#db.user")})
	if res := f.pass(); !res.OK() {
		t.Fatalf("mended pass: %v, want db.user pushed", res.Errors)
	}
	f.remoteValue("app/n", `{"db":{"user":"`+pass+`"},"keep":"`+keep+`"}`)
}

// A commit removes a PushSecret pushing app/n#db (deletionPolicy Delete)
// and adds one pushing app/n#db.user under updatePolicy IfNotExists,
// which leaves the existing app/n alone: it replaces nothing, so nothing
// should hold the deletion of db. Once the new PushSecret leaves Git too
// (deletionPolicy Delete), nothing either of them wrote may be left.
func TestANestedPushThatWritesNothingNeverHoldsTheDeletionOfWhatItWouldReplace(t *testing.T) {
	f := newFixture(t)
	user, pass := leaktest.Canary(), leaktest.Canary()
	f.source(f.ns, "src", map[string]string{"u": user, "p": pass})
	del := "  deletionPolicy: Delete\n"
	f.commit(map[string]string{"store.yaml": f.store(), "a.yaml": f.push("a", "src", del, "u=app/n#db")})
	if res := f.pass(); !res.OK() || res.Pushed != 1 {
		t.Fatalf("first pass: %v, pushed %d", res.Errors, res.Pushed)
	}
	f.commit(map[string]string{"a.yaml": "", "b.yaml": f.push("b", "src", "  updatePolicy: IfNotExists\n"+del, "p=app/n#db.user")})
	if res := f.pass(); !res.OK() {
		t.Fatalf("second pass: %v", res.Errors)
	}
	f.commit(map[string]string{"b.yaml": ""})
	f.rec = f.newReconciler(func(c *reconciler.Config) { c.AllowEmpty = true }) // the revision renders no PushSecret
	if res := f.pass(); !res.OK() {
		t.Fatalf("third pass: %v", res.Errors)
	}
	if _, deleted, _, ok := f.remote("app/n"); ok && !deleted {
		t.Fatalf("app/n still holds a's db after both PushSecrets (deletionPolicy Delete) left Git; rows left: %q", pushRows(f.inventory()))
	}
}

// Team a pushes app/n#db through a ClusterSecretStore (deletionPolicy
// Delete) and leaves Git in the commit where team b adds app/n#db.user
// through the same store. b's push is refused (a's row never widens b's
// push: section 14.E), so b replaced nothing; once b leaves Git too,
// nothing a wrote may be left: a's deletion must not have been dropped for
// a push that failed.
func TestAnotherNamespacesFailedNestedPushNeverCancelsADeletion(t *testing.T) {
	f := newFixture(t)
	other := "t-" + randomSuffix()
	if _, err := env.Client.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: other}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	css := "apiVersion: external-secrets.io/v1\nkind: ClusterSecretStore\nmetadata: {name: shared}\nspec: {provider: {aws: {service: SecretsManager, region: us-east-1}}}\n"
	pushIn := func(ns, value, property string) string {
		f.source(ns, "src", map[string]string{"k": value})
		return fmt.Sprintf("apiVersion: external-secrets.io/v1alpha1\nkind: PushSecret\nmetadata: {name: p, namespace: %s}\nspec:\n  deletionPolicy: Delete\n  secretStoreRefs: [{name: shared, kind: ClusterSecretStore}]\n  selector: {secret: {name: src}}\n  data: [{match: {secretKey: k, remoteRef: {remoteKey: shared/n, property: %s}}}]\n", ns, property)
	}
	f.commit(map[string]string{"css.yaml": css, "a.yaml": pushIn(other, leaktest.Canary(), "db")})
	if res := f.pass(); !res.OK() || res.Pushed != 1 {
		t.Fatalf("team a's push: %v, pushed %d", res.Errors, res.Pushed)
	}
	f.commit(map[string]string{"a.yaml": "", "b.yaml": pushIn(f.ns, leaktest.Canary(), "db.user")})
	if res := f.pass(); len(res.Errors) != 1 || !strings.Contains(res.Errors[0].Error(), "no JSON object") {
		t.Fatalf("team b's push: %v, want it refused on db", res.Errors)
	}
	f.commit(map[string]string{"b.yaml": ""})
	f.rec = f.newReconciler(func(c *reconciler.Config) { c.AllowEmpty = true }) // the revision renders no PushSecret
	if res := f.pass(); !res.OK() {
		t.Fatalf("after b left Git: %v", res.Errors)
	}
	if _, deleted, _, ok := f.remote("shared/n"); ok && !deleted {
		t.Fatalf("shared/n still holds team a's db after both PushSecrets (deletionPolicy Delete) left Git; rows left: %q", pushRows(f.inventory()))
	}
}

// A PushSecret pushes a source key whose value is the JSON text null as
// the whole of app/n, then (next commit) a property of app/n instead: the
// push must replace null (the row leaving Git wrote it) or refuse it, and
// the pass go on. Unfixed, withProperty panics in a push goroutine, which
// ends the test binary (and the process, every namespace's pass with it).
func TestAPropertyPushOverAWholeNullNeverEndsThePass(t *testing.T) {
	f := newFixture(t)
	user := leaktest.Canary()
	f.source(f.ns, "src", map[string]string{"n": "null", "u": user})
	del := "  deletionPolicy: Delete\n"
	f.commit(map[string]string{"store.yaml": f.store(), "a.yaml": f.push("a", "src", del, "n=app/n")})
	if res := f.pass(); !res.OK() || res.Pushed != 1 {
		t.Fatalf("first pass: %v, pushed %d", res.Errors, res.Pushed)
	}
	f.commit(map[string]string{"a.yaml": f.push("a", "src", del, "u=app/n#user")})
	if res := f.pass(); !res.OK() {
		t.Fatalf("second pass: %v", res.Errors)
	}
	f.remoteValue("app/n", `{"user":"`+user+`"}`)
}

// prefixedStore is a SecretStore of f's namespace named name, in f's
// region, whose names take prefix.
func (f *fixture) prefixedStore(name, prefix string) string {
	return strings.Replace(strings.Replace(f.store(), "name: aws,", "name: "+name+",", 1), "region: us-east-1}", "region: us-east-1, prefix: "+prefix+"}", 1)
}

// through is a PushSecret made by f.push that writes through store.
func through(ps, store string) string {
	return strings.Replace(ps, "secretStoreRefs: [{name: aws}]", "secretStoreRefs: [{name: "+store+"}]", 1)
}

// One commit moves a push of app/sec#db to app/sec#db.user and, with it, the
// store's prefix (remote key app/sec under no prefix becomes sec under app/):
// the same AWS name through the same store, so the new push replaces db
// and nothing is deleted, in diff as in the pass; then both leave Git and
// the secret goes.
func TestAPrefixMovedWithANestedPropertyStillReplaces(t *testing.T) {
	f := newFixture(t)
	user, pass := leaktest.Canary(), leaktest.Canary()
	f.source(f.ns, "src", map[string]string{"u": user, "p": pass})
	del := "  deletionPolicy: Delete\n"
	f.commit(map[string]string{"store.yaml": f.store(), "a.yaml": f.push("a", "src", del, "u=app/sec#db"), "k.yaml": f.push("k", "src", "", "u=app/other")})
	f.pushParity("first pass", "create app/sec#db (a)", "create app/other (k)")
	f.commit(map[string]string{"store.yaml": f.prefixedStore("aws", "app/"), "a.yaml": f.push("a", "src", del, "p=sec#db.user"), "k.yaml": f.push("k", "src", "", "u=other")})
	if res := f.pushParity("prefix and property moved", "update sec#db.user (a)", "keep other (k)"); !res.OK() || res.PushDeleted != 0 {
		t.Fatalf("prefix and property moved: %v, deleted %d", res.Errors, res.PushDeleted)
	}
	f.remoteValue("app/sec", `{"db":{"user":"`+pass+`"}}`)
	f.commit(map[string]string{"a.yaml": ""})
	f.pushParity("left Git", "keep other (k)", "delete sec#db.user (a)")
	if _, deleted, _, ok := f.remote("app/sec"); !ok || !deleted {
		t.Fatalf("app/sec: exists %v, deleted %v; want it deleted with its last property", ok, deleted)
	}
}

// One commit moves a push of app/sec#db (deletionPolicy Delete) to
// sec#db.user through a second store of the namespace with prefix app/:
// the same AWS secret, the same instance credentials, so one remote
// secret (section 14.E). The nested push must replace db as it does
// through one store, and nothing be deleted.
func TestANestedPushThroughASecondStoreReachingTheSameNameReplaces(t *testing.T) {
	f := newFixture(t)
	user, pass := leaktest.Canary(), leaktest.Canary()
	f.source(f.ns, "src", map[string]string{"u": user, "p": pass})
	del := "  deletionPolicy: Delete\n"
	f.commit(map[string]string{"store.yaml": f.store(), "prefixed.yaml": f.prefixedStore("prefixed", "app/"), "a.yaml": f.push("a", "src", del, "u=app/sec#db")})
	if res := f.pass(); !res.OK() || res.Pushed != 1 {
		t.Fatalf("first pass: %v, pushed %d", res.Errors, res.Pushed)
	}
	f.commit(map[string]string{"a.yaml": "", "b.yaml": through(f.push("b", "src", del, "p=sec#db.user"), "prefixed")})
	if res := f.pass(); !res.OK() || res.PushDeleted != 0 {
		t.Fatalf("second pass: %v, deleted %d; want db.user pushed and nothing deleted", res.Errors, res.PushDeleted)
	}
	f.remoteValue("app/sec", `{"db":{"user":"`+pass+`"}}`)
}

// Two PushSecrets of one namespace write properties of the same new
// remote secrets, in opposite orders. The pass pushes them concurrently,
// so either may create each secret; diff names one in advance (the first
// in order). Diff's actions must be the pass's, PushSecret by PushSecret.
func TestDiffNamesThePushSecretThatCreatesASecretTwoPushSecretsWrite(t *testing.T) {
	f := newFixture(t)
	f.source(f.ns, "src", map[string]string{"u": leaktest.Canary(), "p": leaktest.Canary()})
	var up, down []string
	for i := range 8 {
		up = append(up, fmt.Sprintf("u=app/c%d#user", i))
		down = append(down, fmt.Sprintf("p=app/c%d#pass", 7-i))
	}
	f.commit(map[string]string{"store.yaml": f.store(), "b.yaml": f.push("b", "src", "", up...), "c.yaml": f.push("c", "src", "", down...)})
	var want []string
	for i := range 8 {
		want = append(want, fmt.Sprintf("create app/c%d#user (b)", i))
	}
	for i := range 8 {
		want = append(want, fmt.Sprintf("update app/c%d#pass (c)", 7-i))
	}
	f.pushParity("two PushSecrets create", want...)
}

// A PushSecret (deletionPolicy Delete) pushes its whole source Secret to
// app/w (a JSON object of every key), then, next commit, only its key u
// as property u of app/w: the keys it stopped pushing (here s, which the
// team meant to keep out of AWS) must not stay in app/w for good.
func TestAWholeSecretNarrowedToOnePropertyLeavesNoOtherKeyBehind(t *testing.T) {
	f := newFixture(t)
	user, sensitive := leaktest.Canary(), leaktest.Canary()
	f.source(f.ns, "src", map[string]string{"u": user, "s": sensitive})
	del := "  deletionPolicy: Delete\n"
	f.commit(map[string]string{"store.yaml": f.store(), "a.yaml": f.push("a", "src", del, "=app/w")})
	if res := f.pass(); !res.OK() || res.Pushed != 1 {
		t.Fatalf("first pass: %v, pushed %d", res.Errors, res.Pushed)
	}
	f.remoteJSON("app/w", map[string]string{"u": user, "s": sensitive})
	f.commit(map[string]string{"a.yaml": f.push("a", "src", del, "u=app/w#u")})
	if res := f.pass(); !res.OK() {
		t.Fatalf("second pass: %v", res.Errors)
	}
	f.remoteJSON("app/w", map[string]string{"u": user})
}

// A writer adds b pushing app/n#db.user while a pushes app/n#db: both are
// refused (one nested in the other), and b backs off. The team then
// removes a (deletionPolicy Delete) to settle it. Once b is retried, its
// push must replace a's db (a's row wrote it), or a's db must have been
// deleted: b must not fail for good on a db no row remembers.
func TestSettlingANestingConflictByRemovingTheOlderPushSecretLetsTheOtherPush(t *testing.T) {
	f := newFixture(t)
	clock := time.Now()
	reconciler.SetNow(f.rec, func() time.Time { return clock })
	user, pass := leaktest.Canary(), leaktest.Canary()
	f.source(f.ns, "src", map[string]string{"u": user, "p": pass})
	del := "  deletionPolicy: Delete\n"
	f.commit(map[string]string{"store.yaml": f.store(), "a.yaml": f.push("a", "src", del, "u=app/n#db"), "k.yaml": f.push("k", "src", "", "u=app/other")})
	if res := f.pass(); !res.OK() || res.Pushed != 2 {
		t.Fatalf("first pass: %v, pushed %d", res.Errors, res.Pushed)
	}
	f.commit(map[string]string{"b.yaml": f.push("b", "src", del, "p=app/n#db.user")})
	if res := f.pass(); len(res.Errors) != 2 {
		t.Fatalf("conflict: %v, want a and b refused", res.Errors)
	}
	f.commit(map[string]string{"a.yaml": ""})
	f.pass()
	clock = clock.Add(time.Hour) // past b's backoff
	if res := f.pass(); !res.OK() {
		t.Fatalf("b retried: %v; want db.user pushed", res.Errors)
	}
	f.remoteValue("app/n", `{"db":{"user":"`+pass+`"}}`)
}

// The replacements of 14.E on Parameter Store, each step's actions the
// same in diff and in the pass: db by another PushSecret's db.user, that
// by a whole-parameter push, then the parameter deleted when its last
// PushSecret (deletionPolicy Delete) leaves Git; nothing is deleted on
// the way.
func TestParameterStoreReplacesWhatARowLeavingGitWroteAroundIt(t *testing.T) {
	f := newFixture(t)
	prefix := "/push-" + f.ns + "/"
	store := fmt.Sprintf("apiVersion: external-secrets.io/v1\nkind: SecretStore\nmetadata: {name: aws, namespace: %s}\nspec: {provider: {aws: {service: ParameterStore, region: us-east-1, prefix: %q}}}\n", f.ns, prefix)
	user, pass := leaktest.Canary(), leaktest.Canary()
	f.source(f.ns, "src", map[string]string{"u": user, "p": pass})
	del := "  deletionPolicy: Delete\n"
	param := func(want string) {
		t.Helper()
		if v, _, ok := f.parameter(prefix + "app/n"); !ok || v != want {
			t.Fatalf("%sapp/n: exists %v, value as wanted %v", prefix, ok, v == want)
		}
	}
	f.commit(map[string]string{"store.yaml": store, "a.yaml": f.push("a", "src", del, "u=app/n#db"), "k.yaml": f.push("k", "src", "", "u=app/keep")})
	f.pushParity("first pass", "create app/n#db (a)", "create app/keep (k)")
	f.commit(map[string]string{"a.yaml": "", "b.yaml": f.push("b", "src", del, "p=app/n#db.user")})
	if res := f.pushParity("db by db.user", "update app/n#db.user (b)", "keep app/keep (k)"); !res.OK() || res.PushDeleted != 0 {
		t.Fatalf("db by db.user: %v, deleted %d", res.Errors, res.PushDeleted)
	}
	param(`{"db":{"user":"` + pass + `"}}`)
	f.commit(map[string]string{"b.yaml": "", "c.yaml": f.push("c", "src", del, "u=app/n")})
	if res := f.pushParity("db.user by the whole parameter", "update app/n (c)", "keep app/keep (k)"); !res.OK() || res.PushDeleted != 0 {
		t.Fatalf("db.user by the whole parameter: %v, deleted %d", res.Errors, res.PushDeleted)
	}
	param(user)
	f.commit(map[string]string{"c.yaml": f.push("c", "src", del, "p=app/n#db.user")})
	if res := f.pushParity("the whole parameter by db.user", "update app/n#db.user (c)", "keep app/keep (k)"); !res.OK() || res.PushDeleted != 0 {
		t.Fatalf("the whole parameter by db.user: %v, deleted %d", res.Errors, res.PushDeleted)
	}
	param(`{"db":{"user":"` + pass + `"}}`)
	f.commit(map[string]string{"c.yaml": ""})
	f.pushParity("left Git", "keep app/keep (k)", "delete app/n#db.user (c)")
	if _, _, ok := f.parameter(prefix + "app/n"); ok {
		t.Fatalf("%sapp/n still exists after its last PushSecret left Git", prefix)
	}
}

// One commit moves the store's prefix (app/sec under no prefix becomes
// sec under app/: the same AWS name) and the push fails (its metadata is
// refused at push time). The PushSecret still pushes db of that secret, so
// nothing may be deleted, and diff must say what the pass does.
func TestAFailedPushUnderAMovedPrefixDeletesNothingItStillPushes(t *testing.T) {
	f := newFixture(t)
	user := leaktest.Canary()
	f.source(f.ns, "src", map[string]string{"u": user})
	del := "  deletionPolicy: Delete\n"
	f.commit(map[string]string{"store.yaml": f.store(), "a.yaml": f.push("a", "src", del, "u=app/sec#db"), "k.yaml": f.push("k", "src", "", "u=app/other")})
	if res := f.pass(); !res.OK() || res.Pushed != 2 {
		t.Fatalf("first pass: %v, pushed %d", res.Errors, res.Pushed)
	}
	f.commit(map[string]string{"store.yaml": f.prefixedStore("aws", "app/"), "a.yaml": withMeta(f.push("a", "src", del, "u=sec#db"), badMeta), "k.yaml": f.push("k", "src", "", "u=other")})
	f.sm.SM.ResetCalls()
	diff, _ := f.rec.DiffPushes(context.Background())
	res := f.pass()
	var diffKinds, runKinds []string
	for _, a := range diff {
		diffKinds = append(diffKinds, string(a.Kind)+" "+a.RemoteKey+"#"+a.Property)
	}
	for _, a := range res.PushActions {
		runKinds = append(runKinds, string(a.Kind)+" "+a.RemoteKey+"#"+a.Property)
	}
	if res.PushDeleted != 0 || strings.Join(diffKinds, ",") != strings.Join(runKinds, ",") {
		t.Fatalf("deleted %d; diff %q, pass %q; want nothing deleted and the same actions", res.PushDeleted, diffKinds, runKinds)
	}
	f.remoteValue("app/sec", `{"db":"`+user+`"}`)
}

// One commit replaces a push of app/n#db by two PushSecrets pushing its
// siblings db.user and db.pass: both replace a's db (pushed concurrently,
// in turn on the one secret), neither loses the other's property, nothing
// is deleted, and diff says what the pass does.
func TestTwoSiblingsReplaceOneParentTogether(t *testing.T) {
	f := newFixture(t)
	user, pass := leaktest.Canary(), leaktest.Canary()
	f.source(f.ns, "src", map[string]string{"u": user, "p": pass})
	del := "  deletionPolicy: Delete\n"
	f.commit(map[string]string{"store.yaml": f.store(), "a.yaml": f.push("a", "src", del, "u=app/n#db")})
	f.pushParity("first pass", "create app/n#db (a)")
	f.commit(map[string]string{"a.yaml": "", "b.yaml": f.push("b", "src", del, "u=app/n#db.user"), "c.yaml": f.push("c", "src", del, "p=app/n#db.pass")})
	if res := f.pushParity("db by db.user and db.pass", "update app/n#db.user (b)", "update app/n#db.pass (c)"); !res.OK() || res.PushDeleted != 0 {
		t.Fatalf("db by db.user and db.pass: %v, deleted %d", res.Errors, res.PushDeleted)
	}
	f.remoteValue("app/n", `{"db":{"pass":"`+pass+`","user":"`+user+`"}}`)
}

// A whole-Secret push (deletionPolicy Delete) split into properties of the
// same remote secret by two PushSecrets of the namespace in one commit:
// each push keeps the properties the other writes and drops the rest
// (providers.Push.Keep), whichever runs first; nothing is deleted.
func TestAWholeSecretSplitIntoPropertiesOfTwoPushSecretsKeepsBothAndDropsTheRest(t *testing.T) {
	f := newFixture(t)
	user, pass, sensitive := leaktest.Canary(), leaktest.Canary(), leaktest.Canary()
	f.source(f.ns, "src", map[string]string{"u": user, "p": pass, "s": sensitive})
	del := "  deletionPolicy: Delete\n"
	f.commit(map[string]string{"store.yaml": f.store(), "a.yaml": f.push("a", "src", del, "=app/w")})
	if res := f.pass(); !res.OK() || res.Pushed != 1 {
		t.Fatalf("first pass: %v, pushed %d", res.Errors, res.Pushed)
	}
	f.commit(map[string]string{"a.yaml": f.push("a", "src", del, "u=app/w#u"), "b.yaml": f.push("b", "src", del, "p=app/w#p")})
	if res := f.pass(); !res.OK() || res.PushDeleted != 0 {
		t.Fatalf("second pass: %v, deleted %d", res.Errors, res.PushDeleted)
	}
	f.remoteJSON("app/w", map[string]string{"u": user, "p": pass})
	f.sm.SM.ResetCalls()
	if res := f.pass(); !res.OK() || writes(f.sm.SM.Calls()) != 0 {
		t.Fatalf("third pass: %v, calls %v; want no write", res.Errors, f.sm.SM.Calls())
	}
}
