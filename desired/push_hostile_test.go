package desired_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/secretsync/secretsync/desired"
	"github.com/secretsync/secretsync/internal/leaktest"
	"github.com/secretsync/secretsync/render"
)

// secretsync's own namespaces hold its Git credentials and webhook secret.
// A PushSecret there would copy them to AWS: PushProblems refuses it by
// its namespace, whatever else it says.
func TestPushProblemsRefuseSecretsyncsOwnNamespace(t *testing.T) {
	ps := pushSecret(t, "secretStoreRefs: [{name: aws}]\nselector: {secret: {name: secretsync-git}}\ndata: [{match: {secretKey: password, remoteRef: {remoteKey: stolen}}}]\n")
	if probs := desired.PushProblems(ps, pushStores(), desired.Options{OwnNamespaces: []string{"secretsync"}}); len(probs) != 0 {
		t.Fatalf("a PushSecret of another namespace is refused: %v", probs)
	}
	probs := desired.PushProblems(ps, pushStores(), desired.Options{OwnNamespaces: []string{"secretsync", ps.Namespace}})
	if len(probs) != 1 || probs[0].Field != "metadata.namespace" || !strings.Contains(probs[0].Error(), "secretsync's own") {
		t.Fatalf("problems %v, want the PushSecret refused for secretsync's own namespace", probs)
	}
}

// conversionStrategy ReverseUnicode turns a source key's _U<hex>_ back into
// its rune, after validate has seen the spec: a key added to the source
// Secret can thus spell, once reversed, a remote name validate would
// refuse as written (an ARN, a control character that forges lines in
// plan and explain). The reversed name passes the same check.
func TestReverseUnicodeCannotSpellARefusedRemoteName(t *testing.T) {
	ps := pushSecret(t, "secretStoreRefs: [{name: aws}]\nselector: {secret: {name: s}}\ndataTo: [{storeRef: {name: aws}, conversionStrategy: ReverseUnicode}]\n")
	for name, key := range map[string]string{
		"an ARN":            "_U0061_rn:aws:secretsmanager:us-east-1:123456789012:secret:team-b/db",
		"a carriage return": "app_U000d_x",
		"a newline":         "app_U000a_x",
	} {
		t.Run(name, func(t *testing.T) {
			entries, err := desired.PushEntries(ps, pushStores(), []desired.PushSource{src("s", key, "v")}, pass())
			if err == nil {
				t.Fatalf("pushed to %q, want the reversed key refused", entries[0].RemoteKey)
			}
		})
	}
}

// One PushSecret line, dataTo without remoteKey, makes a remote secret of
// every key of every Secret its label selector matches in every store its
// store label selector matches: stores × Secrets × keys AWS writes, each a
// DescribeSecret and a GetSecretValue on every refresh. Secrets are made
// from Git too (an ExternalSecret's dataFrom find, a generator), so a repo
// writer multiplies the work of a few lines. The number of remote secrets
// one PushSecret writes must be bounded, and the error say so.
func TestPushEntriesAreBoundedInNumber(t *testing.T) {
	stores := labelledStores(20)
	ps := pushSecret(t, "secretStoreRefs: [{labelSelector: {matchLabels: {push: \"yes\"}}}]\nselector: {secret: {selector: {matchLabels: {app: x}}}}\ndataTo: [{storeRef: {labelSelector: {matchLabels: {push: \"yes\"}}}}]\n")
	var srcs []desired.PushSource
	for i := range 50 {
		s := desired.PushSource{Name: fmt.Sprintf("src-%02d", i), Data: map[string][]byte{}}
		for k := range 100 {
			s.Data[fmt.Sprintf("s%02d-k%03d", i, k)] = []byte("v")
		}
		srcs = append(srcs, s)
	}
	entries, err := desired.PushEntries(ps, stores, srcs, pass())
	if err == nil {
		t.Fatalf("one PushSecret writes %d remote secrets, with no bound", len(entries))
	}
	// Counting stops at the first write past the bound: the count named is
	// that one, not the 100,000 the spec would make.
	want := fmt.Sprintf("it writes at least %d remote secrets and properties (stores × source Secrets × keys), more than the %d one PushSecret may (MaxPushEntries)",
		desired.MaxPushEntries+1, desired.MaxPushEntries)
	if !strings.Contains(err.Error(), want) {
		t.Fatalf("error = %v, want %q", err, want)
	}
}

// labelledStores are n SecretStores of namespace a labelled push: "yes".
func labelledStores(n int) map[desired.StoreKey]*render.SecretStore {
	stores := map[desired.StoreKey]*render.SecretStore{}
	for i := range n {
		st := &render.SecretStore{}
		st.Kind, st.Namespace, st.Name, st.Labels = render.KindSecretStore, "a", fmt.Sprintf("s%d", i), map[string]string{"push": "yes"}
		st.Spec.Provider.AWS = &render.AWSProvider{Service: "SecretsManager"}
		stores[desired.StoreKeyOf(st.Kind, st.Namespace, st.Name)] = st
	}
	return stores
}

// What Git alone says a PushSecret writes (each data entry and dataTo
// bundle in each store it selects) is counted offline, so validate and
// run refuse it before any source is read: 20 stores × 60 data entries is
// 1,200 writes, counted to the first past the bound.
func TestPushProblemsCountTheWritesGitNames(t *testing.T) {
	var data []string
	for i := range 60 {
		data = append(data, fmt.Sprintf("{match: {secretKey: k%d, remoteRef: {remoteKey: app/k%d}}}", i, i))
	}
	ps := pushSecret(t, "{secretStoreRefs: [{labelSelector: {matchLabels: {push: \"yes\"}}}], data: ["+strings.Join(data, ", ")+"]}")
	if probs := desired.PushProblems(ps, labelledStores(10), desired.Options{}); len(probs) != 0 {
		t.Fatalf("600 writes refused: %v", probs)
	}
	probs := desired.PushProblems(ps, labelledStores(20), desired.Options{})
	want := fmt.Sprintf("Git alone names at least %d remote secrets and properties it writes (stores × data entries and dataTo bundles), more than the %d one PushSecret may (MaxPushEntries)",
		desired.MaxPushEntries+1, desired.MaxPushEntries)
	if len(probs) != 1 || probs[0].Field != "spec.secretStoreRefs" || !strings.Contains(probs[0].Error(), want) {
		t.Fatalf("problems %v, want one: %q", probs, want)
	}
}

// Two PushSecrets of one namespace that push one remote secret (both the
// whole of it, both one property, or one the whole and the other a
// property) overwrite each other at every pass: a new version each time,
// and a value that flips under its readers. Both are refused, each error
// naming both; different properties of one remote secret merge (ESO reads
// the secret and sets its property) and stay allowed.
func TestSharedRemotesRefuseTwoPushSecretsOfOneNamespace(t *testing.T) {
	stores := pushStores()
	mk := func(name, remoteRef string) *render.PushSecret {
		ps := pushSecret(t, "{secretStoreRefs: [{name: aws}], data: [{match: {secretKey: k, remoteRef: "+remoteRef+"}}]}")
		ps.Name = name
		return ps
	}
	for _, c := range []struct {
		name      string
		x, y      string
		refused   bool
		mentioned string
	}{
		{"both whole", "{remoteKey: app/db}", "{remoteKey: app/db}", true, ""},
		{"both one property", "{remoteKey: app/db, property: user}", "{remoteKey: app/db, property: user}", true, ` property "user"`},
		{"the whole and a property", "{remoteKey: app/db}", "{remoteKey: app/db, property: user}", true, ""},
		{"different properties", "{remoteKey: app/db, property: user}", "{remoteKey: app/db, property: pass}", false, ""},
		{"different remote keys", "{remoteKey: app/db}", "{remoteKey: app/other}", false, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
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
					t.Fatalf("%s not refused (refused: %v)", id, shared)
				}
				if msg := p.Error(); !strings.Contains(msg, "a/x") || !strings.Contains(msg, "a/y") || !strings.Contains(msg, "app/db"+c.mentioned) {
					t.Fatalf("%s: %q, want both PushSecrets and the remote secret named", id, msg)
				}
			}
		})
	}
}

// Within one PushSecret, a write of the whole remote secret and a write of
// one of its properties overwrite each other at every pass, as two writes
// of one property do: PushEntries refuses both, naming the entries.
func TestPushEntriesRefuseTheWholeAndAPropertyOfOneRemoteSecret(t *testing.T) {
	ps := pushSecret(t, "{secretStoreRefs: [{name: aws}], dataTo: [{storeRef: {name: aws}}], data: [{match: {secretKey: k, remoteRef: {remoteKey: x, property: p}}}]}")
	_, err := desired.PushEntries(ps, pushStores(), []desired.PushSource{src("s", "k", "first-v", "x", "second-v")}, pass())
	want := `spec.dataTo[0] of Secret s and spec.data[0] of Secret s both write remote key "x"`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("error = %v, want %q", err, want)
	}
}

// manyKeys is a source of n keys k0..k(n-1), each holding the canary.
func manyKeys(n int, canary string) desired.PushSource {
	s := desired.PushSource{Name: "s", Data: map[string][]byte{}}
	for i := range n {
		s.Data[fmt.Sprintf("k%d", i)] = []byte(canary)
	}
	return s
}

// bundleRewriting is a PushSecret whose one dataTo bundles every key of
// its source (one remote secret: MaxPushEntries is not what stops it)
// after n rewrites that keep each key as it is.
func bundleRewriting(t *testing.T, name string, n int) *render.PushSecret {
	ps := pushSecret(t, "{secretStoreRefs: [{name: aws}], dataTo: [{storeRef: {name: aws}, remoteKey: app/bundle, rewrite: ["+
		strings.Repeat("{regexp: {source: 'k', target: 'k'}}, ", n)+"]}]}")
	ps.Name = name
	return ps
}

// A repo writer's dataTo rewrites are work for every key of every source:
// many keys times many rewrites that keep each key short spent nothing of
// the budget, which counted only the names made (5,000 keys × 300 rewrites
// ran to the end, 1.5 million regexp compilations), and each PushSecret had
// a budget of its own. Every rewrite step of every PushSecret of a
// namespace now spends that namespace's account of the pass's budget
// (these PushSecrets are all of one namespace), which also stops with the
// pass's context; the error names the rewrite, never a value.
func TestPushRewritesShareAPassBudgetAndStopWithThePass(t *testing.T) {
	var canaries leaktest.Canaries
	canary := leaktest.Canary()
	canaries.Add(canary)

	_, err := desired.PushEntries(bundleRewriting(t, "hostile", 300), pushStores(), []desired.PushSource{manyKeys(5_000, canary)}, pass())
	if !errors.Is(err, render.ErrBudget) || !strings.Contains(err.Error(), "spec.dataTo[0].rewrite[") {
		t.Fatalf("5,000 keys × 300 rewrites: error = %v, want the rewrite budget, naming the rewrite", err)
	}
	canaries.Check(t, "the budget's error", err.Error())

	// 2,000 keys × 150 rewrites is about 80 MiB of the pass's 128: one
	// such PushSecret passes, the second of the same pass does not.
	srcs := []desired.PushSource{manyKeys(2_000, canary)}
	shared := pass()
	if _, err := desired.PushEntries(bundleRewriting(t, "first", 150), pushStores(), srcs, shared); err != nil {
		t.Fatalf("the pass's first PushSecret: %v", err)
	}
	if _, err := desired.PushEntries(bundleRewriting(t, "second", 150), pushStores(), srcs, shared); !errors.Is(err, render.ErrBudget) {
		t.Fatalf("the pass's second PushSecret: error = %v, want the budget the pass shares", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = desired.PushEntries(bundleRewriting(t, "late", 1), pushStores(), []desired.PushSource{manyKeys(1, canary)}, desired.NewPushBudget(ctx))
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "spec.dataTo[0].rewrite[0]") {
		t.Fatalf("after the pass's end: error = %v, want it stopped, naming the rewrite", err)
	}
	canaries.Check(t, "the stopped rewrite's error", err.Error())
}
