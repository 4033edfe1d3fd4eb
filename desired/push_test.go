package desired_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"

	"github.com/secretsync/secretsync/desired"
	"github.com/secretsync/secretsync/render"
)

// pushStores are the stores the PushEntries cases push to: two
// SecretStores of namespace a (team a and team b) and a ClusterSecretStore.
func pushStores() map[desired.StoreKey]*render.SecretStore {
	out := map[desired.StoreKey]*render.SecretStore{}
	for _, s := range []struct{ kind, ns, name, team string }{
		{render.KindSecretStore, "a", "aws", "a"}, {render.KindSecretStore, "a", "other", "b"}, {render.KindClusterSecretStore, "", "shared", "a"},
	} {
		st := &render.SecretStore{}
		st.Kind, st.Namespace, st.Name, st.Labels = s.kind, s.ns, s.name, map[string]string{"team": s.team}
		st.Spec.Provider.AWS = &render.AWSProvider{Service: "SecretsManager"}
		out[desired.StoreKeyOf(s.kind, s.ns, s.name)] = st
	}
	return out
}

func pushSecret(t *testing.T, spec string) *render.PushSecret {
	t.Helper()
	ps := &render.PushSecret{}
	if err := yaml.Unmarshal([]byte(spec), &ps.Spec); err != nil {
		t.Fatal(err)
	}
	ps.Namespace, ps.Name = "a", "p"
	return ps
}

// pass is a pass's rewrite budget, fresh for each call.
func pass() *desired.PushBudget { return desired.NewPushBudget(context.Background()) }

func src(name string, kv ...string) desired.PushSource {
	s := desired.PushSource{Name: name, Data: map[string][]byte{}}
	for i := 0; i+1 < len(kv); i += 2 {
		s.Data[kv[i]] = []byte(kv[i+1])
	}
	return s
}

// entryText is one entry as a line: store, remote key#property = value, from.
func entryText(e desired.PushEntry) string {
	return fmt.Sprintf("%s %s#%s = %s (%s of %s)", e.Store, e.RemoteKey, e.Property, e.Value.Bytes(), e.Field, e.Source)
}

func TestPushEntries(t *testing.T) {
	cases := []struct {
		name string
		spec string
		srcs []desired.PushSource
		want []string
		err  string
	}{
		{"data pushes a key to each store named",
			"{secretStoreRefs: [{name: aws}, {name: shared, kind: ClusterSecretStore}], data: [{match: {secretKey: k, remoteRef: {remoteKey: app/k, property: p}}}]}",
			[]desired.PushSource{src("s", "k", "v1", "x", "v2")},
			[]string{"SecretStore/a/aws app/k#p = v1 (spec.data[0] of s)", "ClusterSecretStore/shared app/k#p = v1 (spec.data[0] of s)"}, ""},
		{"data without a secretKey pushes the whole Secret as a JSON object",
			"{secretStoreRefs: [{name: aws}], data: [{match: {remoteRef: {remoteKey: app/all}}}]}",
			[]desired.PushSource{src("s", "k", "v<1>", "x", "v2")},
			[]string{`SecretStore/a/aws app/all# = {"k":"v<1>","x":"v2"} (spec.data[0] of s)`}, ""},
		{"ReverseUnicode turns _U<hex>_ of the source's keys back into runes before the lookup",
			"{secretStoreRefs: [{name: aws}], data: [{conversionStrategy: ReverseUnicode, match: {secretKey: a/b, remoteRef: {remoteKey: app/ab}}}]}",
			[]desired.PushSource{src("s", "a_U002f_b", "v1")},
			[]string{"SecretStore/a/aws app/ab# = v1 (spec.data[0] of s)"}, ""},
		{"without ReverseUnicode the escaped key is not the converted one",
			"{secretStoreRefs: [{name: aws}], data: [{match: {secretKey: a/b, remoteRef: {remoteKey: app/ab}}}]}",
			[]desired.PushSource{src("s", "a_U002f_b", "v1")}, nil, "spec.data[0]: source Secret has no key a/b"},
		{"dataTo pushes each matched key, renamed by its rewrites in order, as its own remote secret",
			"{secretStoreRefs: [{name: aws}], dataTo: [{storeRef: {name: aws}, match: {regexp: '^db_'}, rewrite: [{regexp: {source: '^db_', target: 'app/'}}, {transform: {template: '{{ .value | upper }}'}}]}]}",
			[]desired.PushSource{src("s", "db_user", "u", "db_pass", "p", "other", "o")},
			[]string{"SecretStore/a/aws APP/PASS# = p (spec.dataTo[0] of s)", "SecretStore/a/aws APP/USER# = u (spec.dataTo[0] of s)"}, ""},
		{"a dataTo key renamed into an ARN is refused: no store prefix applies to it",
			"{secretStoreRefs: [{name: aws}], dataTo: [{storeRef: {name: aws}, rewrite: [{regexp: {source: '^', target: 'arn:aws:secretsmanager:us-east-1:1:secret:'}}]}]}",
			[]desired.PushSource{src("s", "team-b/db", "v")}, nil, `spec.dataTo[0]: key "team-b/db" becomes remote key "arn:aws:secretsmanager:us-east-1:1:secret:team-b/db", which is an ARN`},
		{"dataTo with remoteKey pushes the matched keys as one JSON object",
			"{secretStoreRefs: [{name: aws}], dataTo: [{storeRef: {name: aws}, remoteKey: app/bundle, match: {regexp: '^db_'}}]}",
			[]desired.PushSource{src("s", "db_user", "u", "db_pass", "p", "other", "o")},
			[]string{`SecretStore/a/aws app/bundle# = {"db_pass":"p","db_user":"u"} (spec.dataTo[0] of s)`}, ""},
		{"data wins over dataTo for the same source key",
			"{secretStoreRefs: [{name: aws}], dataTo: [{storeRef: {name: aws}}], data: [{match: {secretKey: k, remoteRef: {remoteKey: app/explicit}}}]}",
			[]desired.PushSource{src("s", "k", "v1", "x", "v2")},
			[]string{"SecretStore/a/aws x# = v2 (spec.dataTo[0] of s)", "SecretStore/a/aws app/explicit# = v1 (spec.data[0] of s)"}, ""},
		{"dataTo pushes only to the store its storeRef names",
			"{secretStoreRefs: [{name: aws}, {name: other}], dataTo: [{storeRef: {name: other}}]}",
			[]desired.PushSource{src("s", "k", "v1")},
			[]string{"SecretStore/a/other k# = v1 (spec.dataTo[0] of s)"}, ""},
		{"a store label selector selects the stores of the namespace (or cluster) with those labels",
			"{secretStoreRefs: [{labelSelector: {matchLabels: {team: a}}}], data: [{match: {secretKey: k, remoteRef: {remoteKey: app/k}}}]}",
			[]desired.PushSource{src("s", "k", "v1")},
			[]string{"SecretStore/a/aws app/k# = v1 (spec.data[0] of s)"}, ""},
		{"a ClusterSecretStore label selector selects cluster stores only",
			"{secretStoreRefs: [{kind: ClusterSecretStore, labelSelector: {matchLabels: {team: a}}}], dataTo: [{storeRef: {kind: ClusterSecretStore, labelSelector: {matchLabels: {team: a}}}}]}",
			[]desired.PushSource{src("s", "k", "v1")},
			[]string{"ClusterSecretStore/shared k# = v1 (spec.dataTo[0] of s)"}, ""},
		{"label-selected sources with distinct keys each push theirs",
			"{secretStoreRefs: [{name: aws}], dataTo: [{storeRef: {name: aws}}]}",
			[]desired.PushSource{src("s1", "a", "1"), src("s2", "b", "2")},
			[]string{"SecretStore/a/aws a# = 1 (spec.dataTo[0] of s1)", "SecretStore/a/aws b# = 2 (spec.dataTo[0] of s2)"}, ""},
		{"two label-selected sources that write one remote key are refused, naming both",
			"{secretStoreRefs: [{name: aws}], data: [{match: {secretKey: k, remoteRef: {remoteKey: app/k}}}]}",
			[]desired.PushSource{src("s1", "k", "first-v"), src("s2", "k", "second-v")}, nil,
			`spec.data[0] of Secret s1 and spec.data[0] of Secret s2 both write remote key "app/k" in SecretStore/a/aws`},
		{"a dataTo key and a data entry on one remote key are refused",
			"{secretStoreRefs: [{name: aws}], dataTo: [{storeRef: {name: aws}}], data: [{match: {secretKey: k, remoteRef: {remoteKey: x}}}]}",
			[]desired.PushSource{src("s", "k", "first-v", "x", "second-v")}, nil, `spec.dataTo[0] of Secret s and spec.data[0] of Secret s both write remote key "x"`},
		{"a rewrite that empties a key is refused",
			"{secretStoreRefs: [{name: aws}], dataTo: [{storeRef: {name: aws}, rewrite: [{regexp: {source: '.*', target: ''}}]}]}",
			[]desired.PushSource{src("s", "k", "first-v")}, nil, `spec.dataTo[0]: rewrite makes key "k" empty`},
		{"a missing key names the key, never a value",
			"{secretStoreRefs: [{name: aws}], data: [{match: {secretKey: nope, remoteRef: {remoteKey: x}}}]}",
			[]desired.PushSource{src("s", "k", "canary-value-1")}, nil, "source Secret a/s, store SecretStore/a/aws: spec.data[0]: source Secret has no key nope"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := desired.PushEntries(pushSecret(t, c.spec), pushStores(), c.srcs, pass())
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("error = %v, want one with %q", err, c.err)
				}
				for _, s := range c.srcs {
					for _, v := range s.Data {
						if strings.Contains(err.Error(), string(v)) {
							t.Fatalf("the error quotes a value: %v", err)
						}
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var lines []string
			for _, e := range got {
				lines = append(lines, entryText(e))
			}
			if diff := cmp.Diff(c.want, lines); diff != "" {
				t.Fatalf("entries (-want +got):\n%s", diff)
			}
		})
	}
}

// A repo writer's rewrites cannot make a PushSecret's work grow without
// bound: a key that doubles at each rewrite stops at the longest remote
// key, and many keys stop at the budget every merge and rewrite spends.
func TestPushEntriesRewritesAreBounded(t *testing.T) {
	double := strings.Repeat("{regexp: {source: '^.*$', target: '$0$0'}}, ", 12)
	ps := pushSecret(t, "{secretStoreRefs: [{name: aws}], dataTo: [{storeRef: {name: aws}, rewrite: ["+double+"]}]}")
	_, err := desired.PushEntries(ps, pushStores(), []desired.PushSource{src("s", "k", "1")}, pass())
	if err == nil || !strings.Contains(err.Error(), "longer than 512 bytes") {
		t.Fatalf("error = %v, want the remote key bound", err)
	}

	wide := pushSecret(t, "{secretStoreRefs: [{name: aws}], dataTo: [{storeRef: {name: aws}, remoteKey: app/bundle, rewrite: [{regexp: {source: '^', target: '"+strings.Repeat("x", 500)+"'}}]}]}")
	many := desired.PushSource{Name: "s", Data: map[string][]byte{}}
	for i := range 40_000 {
		many.Data[fmt.Sprint(i)] = nil
	}
	_, err = desired.PushEntries(wide, pushStores(), []desired.PushSource{many}, pass())
	if !errors.Is(err, render.ErrBudget) {
		t.Fatalf("error = %v, want the work budget", err)
	}
}

// A dataTo bundle's remote key is known offline, as data's are; a per-key
// dataTo's are not, and SharedRemotes sees them only when run adds them.
func TestStaticRemotesAndSharedRemotes(t *testing.T) {
	a := pushSecret(t, "{secretStoreRefs: [{name: shared, kind: ClusterSecretStore}], dataTo: [{storeRef: {name: shared, kind: ClusterSecretStore}, remoteKey: app/bundle}, {storeRef: {name: shared, kind: ClusterSecretStore}}]}")
	b := pushSecret(t, "{secretStoreRefs: [{name: shared, kind: ClusterSecretStore}], data: [{match: {secretKey: k, remoteRef: {remoteKey: app/bundle}}}]}")
	b.Namespace = "b"
	stores := pushStores()
	var got []string
	for _, r := range desired.StaticRemotes(a, stores) {
		got = append(got, r.Field+" "+r.Store.String()+" "+r.RemoteKey)
	}
	if diff := cmp.Diff([]string{"spec.dataTo[0].remoteKey ClusterSecretStore/shared app/bundle"}, got); diff != "" {
		t.Fatalf("static remotes (-want +got):\n%s", diff)
	}
	shared := desired.SharedRemotes([]*render.PushSecret{a, b}, stores, func(ps *render.PushSecret) []desired.PushRemote { return desired.StaticRemotes(ps, stores) })
	if shared["a/p"] == nil || shared["b/p"] == nil || !strings.Contains(shared["a/p"].Error(), "namespace(s) a,b") {
		t.Fatalf("shared = %v, want both refused", shared)
	}
}

// metadata goes to the provider as written, per entry: data's own, and a
// dataTo entry's on each key it expands to.
func TestPushEntriesCarryEachEntrysMetadata(t *testing.T) {
	ps := pushSecret(t, `{secretStoreRefs: [{name: aws}], dataTo: [{storeRef: {name: aws}, metadata: {spec: {description: bulk}}}],
  data: [{match: {secretKey: k, remoteRef: {remoteKey: app/k}}, metadata: {spec: {secretPushFormat: string}}}]}`)
	got, err := desired.PushEntries(ps, pushStores(), []desired.PushSource{src("s", "k", "first-v", "x", "second-v")}, pass())
	if err != nil {
		t.Fatal(err)
	}
	meta := map[string]string{}
	for _, e := range got {
		meta[e.RemoteKey] = string(e.Metadata)
	}
	want := map[string]string{"x": `{"spec":{"description":"bulk"}}`, "app/k": `{"spec":{"secretPushFormat":"string"}}`}
	if diff := cmp.Diff(want, meta); diff != "" {
		t.Fatalf("metadata (-want +got):\n%s", diff)
	}
}
