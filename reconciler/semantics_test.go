package reconciler_test

import (
	"fmt"
	"testing"
)

func (f *fixture) seedTagged(name, value string, tags map[string]string) {
	f.t.Helper()
	f.sm.CreateTagged(f.t, name, value, tags)
	f.remember(value)
}

func (f *fixture) esSpec(name, spec string) string {
	return fmt.Sprintf("apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: {name: %s, namespace: %s}\nspec:\n  secretStoreRef: {name: aws}\n%s", name, f.ns, spec)
}

// TestESOSemantics checks each remoteRef and dataFrom field end to end:
// manifests in Git, values from the Secrets Manager server, Secrets in the
// API server.
func TestESOSemantics(t *testing.T) {
	f := newFixture(t)
	f.seedTagged("app/db", `{"user":"u-seeded","conn":{"host":"host-seeded","port":5432},"db/name":"main-seeded"}`, map[string]string{"team": "payments", "cost.center": "42"})
	f.seedTagged("app/b64", "aGVsbG8tc2VlZGVk", nil) // "hello-seeded"
	f.remember("hello-seeded")
	f.seedTagged("team/one", "one-seeded", map[string]string{"env": "prod"})
	f.seedTagged("team/two", "two-seeded", map[string]string{"env": "prod"})
	f.seedTagged("team/three", "three-seeded", map[string]string{"env": "dev"})
	f.seedTagged("other/one", "other-seeded", map[string]string{"env": "prod"})

	cases := []struct {
		name string
		spec string
		want map[string]string
	}{
		{"a nested property and a whole value", `  data:
    - {secretKey: port, remoteRef: {key: app/db, property: conn.port}}
    - {secretKey: all, remoteRef: {key: app/b64}}
`, map[string]string{"port": "5432", "all": "aGVsbG8tc2VlZGVk"}},
		{"decodingStrategy Base64 and Auto", `  data:
    - {secretKey: plain, remoteRef: {key: app/b64, decodingStrategy: Base64}}
    - {secretKey: auto, remoteRef: {key: app/b64, decodingStrategy: Auto}}
`, map[string]string{"plain": "hello-seeded", "auto": "hello-seeded"}},
		{"metadataPolicy Fetch: all tags, and one tag by name", `  data:
    - {secretKey: tags, remoteRef: {key: app/db, metadataPolicy: Fetch}}
    - {secretKey: cc, remoteRef: {key: app/db, metadataPolicy: Fetch, property: cost.center}}
`, map[string]string{"tags": `{"cost.center":"42","team":"payments"}`, "cc": "42"}},
		{"extract keeps nested values as JSON and converts invalid key characters", `  dataFrom:
    - extract: {key: app/db}
`, map[string]string{"user": "u-seeded", "conn": `{"host":"host-seeded","port":5432}`, "db_name": "main-seeded"}},
		{"extract with the Unicode conversion strategy", `  dataFrom:
    - extract: {key: app/db, conversionStrategy: Unicode}
`, map[string]string{"user": "u-seeded", "conn": `{"host":"host-seeded","port":5432}`, "db_U002f_name": "main-seeded"}},
		{"find by path and tags, with a regexp rewrite", `  dataFrom:
    - find: {path: team/, tags: {env: prod}}
      rewrite:
        - regexp: {source: "team/(.*)", target: "$1"}
`, map[string]string{"one": "one-seeded", "two": "two-seeded"}},
		{"find by name regexp, with a transform rewrite", `  dataFrom:
    - find: {name: {regexp: "^(team|other)/one$"}}
      rewrite:
        - transform: {template: "{{ .value | replace \"/\" \"-\" | upper }}"}
`, map[string]string{"TEAM-ONE": "one-seeded", "OTHER-ONE": "other-seeded"}},
		{"find without rewrite converts slashes", `  dataFrom:
    - find: {name: {regexp: "^team/t"}}
`, map[string]string{"team_two": "two-seeded", "team_three": "three-seeded"}},
	}
	files := map[string]string{"store.yaml": f.store()}
	for i, c := range cases {
		files[fmt.Sprintf("es%d.yaml", i)] = f.esSpec(fmt.Sprintf("es%d", i), c.spec)
	}
	f.commit(files)
	res := f.pass()
	mustOK(t, res)
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sameData(t, c.name, data(f.secret(fmt.Sprintf("es%d", i))), c.want)
		})
	}
}

func TestSemanticErrorsNameTheReference(t *testing.T) {
	f := newFixture(t)
	f.seed("app/plain", "not-json-seeded")
	f.commit(map[string]string{"store.yaml": f.store(), "x.yaml": f.es("x", "v=app/plain#field")})
	res := f.pass()
	if res.Failed != 1 || len(res.Errors) != 1 {
		t.Fatalf("failed %d errors %v", res.Failed, res.Errors)
	}
	msg := res.Errors[0].Error()
	for _, want := range []string{"spec.data[0]", "app/plain", `property "field" asked of a value that is not JSON`} {
		if !contains(msg, want) {
			t.Fatalf("error %q lacks %q", msg, want)
		}
	}
}
