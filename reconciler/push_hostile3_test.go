package reconciler_test

import (
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/secretsync/secretsync/internal/leaktest"
)

// A repo writer of a namespace adds a PushSecret that pushes property db
// of a remote secret in which another PushSecret of the namespace pushes
// db.user (dots nest, as ESO sets them). Both are refused by the pass,
// each error naming both and the nesting, nothing is written, and the
// other's value stays as it was. Before, the new one replaced the object
// at db with its string (the other's value lost), and the other then
// failed at every pass on a db that holds no JSON object.
func TestAPushSecretNeverOverwritesAPropertyNestedInItsOwn(t *testing.T) {
	f := newFixture(t)
	user, hijack := leaktest.Canary(), leaktest.Canary()
	f.source(f.ns, "src", map[string]string{"k": user})
	f.source(f.ns, "other", map[string]string{"k": hijack})
	f.commit(map[string]string{"store.yaml": f.store(), "x.yaml": f.push("px", "src", "", "k=app/n#db.user")})
	if res := f.pass(); !res.OK() || res.Pushed != 1 {
		t.Fatalf("first pass: %v, pushed %d", res.Errors, res.Pushed)
	}
	f.remoteValue("app/n", `{"db":{"user":"`+user+`"}}`)
	f.commit(map[string]string{"y.yaml": f.push("py", "other", "", "k=app/n#db")})
	f.sm.SM.ResetCalls()
	res := f.pass()
	if len(res.Errors) != 2 {
		t.Fatalf("errors %v, want both PushSecrets refused", res.Errors)
	}
	for _, err := range res.Errors {
		if msg := err.Error(); !strings.Contains(msg, f.ns+"/px") || !strings.Contains(msg, f.ns+"/py") || !strings.Contains(msg, "one nested in the other") {
			t.Fatalf("error %q, want both PushSecrets and the nesting named", msg)
		}
	}
	if c := f.sm.SM.Calls(); writes(c) != 0 {
		t.Fatalf("calls %v, want no write", c)
	}
	f.remoteValue("app/n", `{"db":{"user":"`+user+`"}}`)
}

// Two SecretStores of one namespace in one region, with the instance's
// own credentials, one with prefix app/: a PushSecret pushing db through
// it and another pushing app/db through the first push one AWS secret,
// and would overwrite each other at every pass. Both are refused, naming
// each other, and nothing is written.
func TestTwoStoresWhosePrefixesMeetNeverLetTwoPushSecretsOverwriteEachOther(t *testing.T) {
	f := newFixture(t)
	prefixed := strings.Replace(strings.Replace(f.store(), "name: aws,", "name: prefixed,", 1), "region: us-east-1}", "region: us-east-1, prefix: app/}", 1)
	f.source(f.ns, "src", map[string]string{"k": leaktest.Canary()})
	f.source(f.ns, "other", map[string]string{"k": leaktest.Canary()})
	viaPrefix := strings.Replace(f.push("py", "other", "", "k=db"), "secretStoreRefs: [{name: aws}]", "secretStoreRefs: [{name: prefixed}]", 1)
	f.commit(map[string]string{"store.yaml": f.store(), "prefixed.yaml": prefixed, "x.yaml": f.push("px", "src", "", "k=app/db"), "y.yaml": viaPrefix})
	res := f.pass()
	if len(res.Errors) != 2 {
		t.Fatalf("errors %v, want both PushSecrets refused", res.Errors)
	}
	for _, err := range res.Errors {
		if msg := err.Error(); !strings.Contains(msg, f.ns+"/px") || !strings.Contains(msg, f.ns+"/py") {
			t.Fatalf("error %q, want both PushSecrets named", msg)
		}
	}
	if c := f.sm.SM.Calls(); writes(c) != 0 {
		t.Fatalf("calls %v, want no write", c)
	}
}

// A commit that replaces a pushed property by one nested in it (db by
// db.user: another PushSecret, or the same one's entry changed), by its
// parent, or a whole secret by one of its properties, is one write: the
// new push replaces what the row leaving Git wrote, and no deletion takes
// out what the new push owns (nor deletes the secret, whose recovery
// window would refuse the next push). diff says the same beforehand.
// Before, the nested push failed ("db holds no JSON object") and the
// deletion then took db out, or deleted the secret with its last key.
func TestAPushReplacesThePropertyARowLeavingGitWroteAroundIt(t *testing.T) {
	f := newFixture(t)
	user, pass := leaktest.Canary(), leaktest.Canary()
	f.source(f.ns, "src", map[string]string{"u": user, "p": pass})
	del := "  deletionPolicy: Delete\n"
	step := func(what string, files map[string]string, wantDiff map[string]string, want string) {
		t.Helper()
		f.commit(files)
		if got := f.diffPushes(); !maps.Equal(got, wantDiff) {
			t.Fatalf("%s: diff %q, want %q", what, got, wantDiff)
		}
		if res := f.pass(); !res.OK() || res.PushDeleted != 0 {
			t.Fatalf("%s: %v, deleted %d, want no deletion", what, res.Errors, res.PushDeleted)
		}
		f.remoteValue("app/n", want)
	}
	f.commit(map[string]string{"store.yaml": f.store(), "a.yaml": f.push("a", "src", del, "u=app/n#db")})
	if res := f.pass(); !res.OK() || res.Pushed != 1 {
		t.Fatalf("first pass: %v, pushed %d", res.Errors, res.Pushed)
	}
	step("db by db.user of another PushSecret", map[string]string{"a.yaml": "", "b.yaml": f.push("b", "src", del, "u=app/n#db.user")},
		map[string]string{"update app/n (b)": " : "}, `{"db":{"user":"`+user+`"}}`)
	step("db.user by db of another PushSecret", map[string]string{"b.yaml": "", "c.yaml": f.push("c", "src", del, "p=app/n#db")},
		map[string]string{"update app/n (c)": " : "}, `{"db":"`+pass+`"}`)
	step("db by db.pass in the same PushSecret", map[string]string{"c.yaml": f.push("c", "src", del, "p=app/n#db.pass")},
		map[string]string{"update app/n (c)": " : "}, `{"db":{"pass":"`+pass+`"}}`)
	step("a property by the whole secret", map[string]string{"c.yaml": f.push("c", "src", del, "p=app/n")},
		map[string]string{"update app/n (c)": " : "}, pass)
	step("the whole secret by a property of it", map[string]string{"c.yaml": f.push("c", "src", del, "u=app/n#user")},
		map[string]string{"update app/n (c)": " : "}, `{"user":"`+user+`"}`)
}

// A property whose entry left Git but that was already taken out by hand
// is nothing for the pass to do, and diff says nothing of it (before, it
// announced a delete that the pass found nothing to do for). Two
// PushSecrets writing properties of one new remote secret make one create
// and one update, in diff as in the pass (before, diff said create twice).
func TestDiffAnnouncesOnlyWhatThePassDoesToPropertiesOfOneSecret(t *testing.T) {
	f := newFixture(t)
	user, pass := leaktest.Canary(), leaktest.Canary()
	f.source(f.ns, "src", map[string]string{"u": user, "p": pass})
	del := "  deletionPolicy: Delete\n"
	f.commit(map[string]string{"store.yaml": f.store(), "a.yaml": f.push("a", "src", del, "u=app/j#user", "p=app/j#pass")})
	if res := f.pass(); !res.OK() || res.Pushed != 2 {
		t.Fatalf("first pass: %v, pushed %d", res.Errors, res.Pushed)
	}
	f.commit(map[string]string{"a.yaml": f.push("a", "src", del, "u=app/j#user")})
	f.putRemote("app/j", `{"user":"`+user+`"}`)
	if got := f.diffPushes(); len(got) != 0 {
		t.Fatalf("diff %q, want nothing: the property is gone already", got)
	}
	if res := f.pass(); !res.OK() || res.PushDeleted != 0 {
		t.Fatalf("pass: %v, deleted %d, want nothing deleted", res.Errors, res.PushDeleted)
	}
	f.remoteValue("app/j", `{"user":"`+user+`"}`)

	f.commit(map[string]string{"b.yaml": f.push("b", "src", "", "u=app/new#user"), "c.yaml": f.push("c", "src", "", "p=app/new#pass")})
	kinds := func(what string, got []string) {
		t.Helper()
		slices.Sort(got)
		if want := []string{"create", "update"}; !slices.Equal(got, want) {
			t.Fatalf("%s: actions on app/new %q, want %q", what, got, want)
		}
	}
	var diffKinds []string
	for k := range f.diffPushes() {
		if kind, rest, _ := strings.Cut(k, " "); strings.HasPrefix(rest, "app/new ") {
			diffKinds = append(diffKinds, kind)
		}
	}
	kinds("diff", diffKinds)
	res := f.pass()
	if !res.OK() || res.Pushed != 2 {
		t.Fatalf("pass: %v, pushed %d", res.Errors, res.Pushed)
	}
	var runKinds []string
	for _, a := range res.PushActions {
		if a.RemoteKey == "app/new" {
			runKinds = append(runKinds, string(a.Kind))
		}
	}
	kinds("run", runKinds)
	f.remoteValue("app/new", `{"pass":"`+pass+`","user":"`+user+`"}`)
}
