package reconciler_test

import (
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
