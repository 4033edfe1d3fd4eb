package desired_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/secretsync/secretsync/desired"
	"github.com/secretsync/secretsync/internal/leaktest"
	"github.com/secretsync/secretsync/render"
)

// A property's dots nest (ESO sets "db.user" as the key user of the JSON
// object at db): a write of property db replaces whatever db.user held,
// and a write of db.user fails once db holds a string. Two PushSecrets of
// one namespace, one pushing db and the other db.user of one remote
// secret, overwrite each other as two writes of one property do: both are
// refused, each error naming both. Properties that only share a prefix of
// characters ("db" and "dbx.user") or are siblings ("db.user" and
// "db.pass") stay allowed.
func TestSharedRemotesRefuseAPropertyAndOneNestedInIt(t *testing.T) {
	stores := pushStores()
	mk := func(name, property string) *render.PushSecret {
		ps := pushSecret(t, "{secretStoreRefs: [{name: aws}], data: [{match: {secretKey: k, remoteRef: {remoteKey: app/db, property: '"+property+"'}}}]}")
		ps.Name = name
		return ps
	}
	for _, c := range []struct {
		x, y    string
		refused bool
	}{
		{"db", "db.user", true},
		{"db.user", "db", true},
		{"db", "db.user.first", true},
		{"a.b", "a.b.c", true},
		{"db", "dbx.user", false},
		{"db.user", "db.pass", false},
		{"db.user", "db.username", false},
	} {
		t.Run(c.x+" and "+c.y, func(t *testing.T) {
			x, y := mk("x", c.x), mk("y", c.y)
			shared := desired.SharedRemotes([]*render.PushSecret{x, y}, stores, func(ps *render.PushSecret) []desired.PushRemote { return desired.StaticRemotes(ps, stores) })
			if !c.refused {
				if len(shared) != 0 {
					t.Fatalf("refused %v, want both pushed", shared)
				}
				return
			}
			for _, id := range []string{"a/x", "a/y"} {
				p := shared[id]
				if p == nil {
					t.Fatalf("%s not refused (refused: %v): each overwrites the other's property", id, shared)
				}
				if msg := p.Error(); !strings.Contains(msg, "a/x") || !strings.Contains(msg, "a/y") || !strings.Contains(msg, "app/db") || !strings.Contains(msg, "one nested in the other") {
					t.Fatalf("%s: %q, want both PushSecrets, the remote secret and the nesting named", id, msg)
				}
			}
		})
	}
}

// Within one PushSecret, data entries writing property db and db.user of
// one remote secret overwrite each other at every push: PushEntries
// refuses them, naming both entries and never a value.
func TestPushEntriesRefuseAPropertyAndOneNestedInIt(t *testing.T) {
	var canaries leaktest.Canaries
	one, two := leaktest.Canary(), leaktest.Canary()
	canaries.Add(one)
	canaries.Add(two)
	for _, order := range [][2]string{{"db", "db.user"}, {"db.user", "db"}} {
		ps := pushSecret(t, "{secretStoreRefs: [{name: aws}], data: [{match: {secretKey: k1, remoteRef: {remoteKey: x, property: '"+order[0]+
			"'}}}, {match: {secretKey: k2, remoteRef: {remoteKey: x, property: '"+order[1]+"'}}}]}")
		entries, err := desired.PushEntries(ps, pushStores(), []desired.PushSource{src("s", "k1", one, "k2", two)}, pass())
		want := `spec.data[0] of Secret s and spec.data[1] of Secret s both write remote key "x"`
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "one nested in the other") {
			t.Fatalf("%v: %d entries, error = %v, want %q", order, len(entries), err, want)
		}
		canaries.Check(t, "the refusal", err.Error())
	}
	ps := pushSecret(t, "{secretStoreRefs: [{name: aws}], data: [{match: {secretKey: k1, remoteRef: {remoteKey: x, property: db.user}}}, {match: {secretKey: k2, remoteRef: {remoteKey: x, property: db.pass}}}]}")
	if _, err := desired.PushEntries(ps, pushStores(), []desired.PushSource{src("s", "k1", one, "k2", two)}, pass()); err != nil {
		t.Fatalf("sibling properties: %v", err)
	}
}

// The pass's rewrite budget is shared by every PushSecret of the pass, in
// every namespace: a repo writer of namespace a whose PushSecret spends it
// (3,500 keys × 160 rewrites that keep each key, about 140 MiB of the 128) leaves none to a
// PushSecret of namespace b planned after it, whose one rewrite of one key
// is then refused with the budget's error. The writer can do so at every
// pass (a PushSecret planned first at each), so b's source changes never
// reach AWS: one namespace starves another's pushes for good.
func TestOneNamespacesRewritesCannotStarveAnotherNamespacesPushSecret(t *testing.T) {
	budget := pass()
	attacker := bundleRewriting(t, "hog", 160)
	_, _ = desired.PushEntries(attacker, pushStores(), []desired.PushSource{manyKeys(3_500, "v")}, budget)
	victim := bundleRewriting(t, "victim", 1)
	victim.Namespace = "b"
	stores := pushStores()
	for k, st := range stores {
		if k.Namespace == "a" {
			b := *st
			b.Namespace = "b"
			stores[desired.StoreKeyOf(b.Kind, "b", b.Name)] = &b
		}
	}
	if _, err := desired.PushEntries(victim, stores, []desired.PushSource{manyKeys(1, "v")}, budget); err != nil {
		t.Fatalf("namespace b's PushSecret of one rewrite of one key, after namespace a's spent the pass's budget: %v", err)
	}
}

// StaticRemotes stops counting at the first write past MaxPushEntries, so
// refusing a PushSecret costs at most that many: 200 stores a label
// selects × 200 dataTo bundles, with no data entry, are 40,000 writes
// Git names, and were all built (each with its field's text) before
// PushProblems refused the PushSecret.
func TestStaticRemotesStopPastTheBoundForDataToBundlesToo(t *testing.T) {
	var dataTo []string
	for i := range 200 {
		dataTo = append(dataTo, fmt.Sprintf("{storeRef: {labelSelector: {matchLabels: {push: \"yes\"}}}, remoteKey: app/b%d}", i))
	}
	ps := pushSecret(t, "{secretStoreRefs: [{labelSelector: {matchLabels: {push: \"yes\"}}}], selector: {secret: {name: s}}, dataTo: ["+strings.Join(dataTo, ", ")+"]}")
	stores := labelledStores(200)
	if n := len(desired.StaticRemotes(ps, stores)); n != desired.MaxPushEntries+1 {
		t.Fatalf("StaticRemotes built %d writes, want it stopped at %d", n, desired.MaxPushEntries+1)
	}
	if probs := desired.PushProblems(ps, stores, desired.Options{}); len(probs) != 1 || !strings.Contains(probs[0].Error(), fmt.Sprintf("at least %d remote secrets", desired.MaxPushEntries+1)) {
		t.Fatalf("problems %v, want the PushSecret refused past MaxPushEntries", probs)
	}
}

// Two SecretStores of one namespace, same service, region and credentials
// (the instance's own), one with prefix app/: remote key db through the
// first and app/db through the second are one AWS secret. Two PushSecrets
// of the namespace pushing them overwrote each other at every pass, as two
// pushing one remote key of one store would (which SharedRemotes
// refuses): it compared store objects and remote keys as written. It now
// compares the AWS name in the identity, so both are refused; stores of
// two namespaces reaching one name so are refused as a shared remote
// secret; stores with credentials of their own (whose account Git does not
// show) stay apart.
func TestSharedRemotesSeeOneAWSNameThroughTwoStoresOfOneIdentity(t *testing.T) {
	stores := pushStores()
	stores[desired.StoreKeyOf(render.KindSecretStore, "a", "other")].Spec.Provider.AWS.Prefix = "app/"
	b := *stores[desired.StoreKeyOf(render.KindSecretStore, "a", "aws")]
	b.Namespace = "b"
	stores[desired.StoreKeyOf(render.KindSecretStore, "b", "aws")] = &b
	mk := func(ns, name, store, remoteKey string) *render.PushSecret {
		ps := pushSecret(t, "{secretStoreRefs: [{name: "+store+"}], data: [{match: {secretKey: k, remoteRef: {remoteKey: "+remoteKey+"}}}]}")
		ps.Namespace, ps.Name = ns, name
		return ps
	}
	static := func(ps *render.PushSecret) []desired.PushRemote { return desired.StaticRemotes(ps, stores) }
	shared := desired.SharedRemotes([]*render.PushSecret{mk("a", "x", "aws", "app/db"), mk("a", "y", "other", "db")}, stores, static)
	if shared["a/x"] == nil || shared["a/y"] == nil || !strings.Contains(shared["a/x"].Error(), "a/y") {
		t.Fatalf("refused %v, want both: both push AWS secret app/db", shared)
	}
	shared = desired.SharedRemotes([]*render.PushSecret{mk("a", "x", "aws", "app/db"), mk("b", "x", "aws", "app/db")}, stores, static)
	if shared["a/x"] == nil || shared["b/x"] == nil || !strings.Contains(shared["a/x"].Error(), "namespace(s) a,b") {
		t.Fatalf("refused %v, want both: two namespaces' stores of one identity push AWS secret app/db", shared)
	}
	own := b
	own.Spec.Provider.AWS = &render.AWSProvider{Service: "SecretsManager", Auth: render.AWSAuth{SecretRef: &render.AWSAuthSecretRef{}}}
	stores[desired.StoreKeyOf(render.KindSecretStore, "b", "aws")] = &own
	if shared = desired.SharedRemotes([]*render.PushSecret{mk("a", "x", "aws", "app/db"), mk("b", "x", "aws", "app/db")}, stores, static); len(shared) != 0 {
		t.Fatalf("refused %v, want both pushed: b's store has credentials of its own", shared)
	}
}
