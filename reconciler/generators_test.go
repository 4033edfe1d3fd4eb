package reconciler_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/secretsync/secretsync/generators"
	"github.com/secretsync/secretsync/reconciler"
)

// TestGeneratorsKeepTheirValuesInTheSecret: a Password and a UUID generator
// (with a rewrite) fill the Secret; their values are kept, read back from
// the Secret, across a forced refresh, a restart and an unrelated change to
// the ExternalSecret, and are made again when the generator's spec changes
// or its refresh is due. ECRAuthorizationToken (kumo's ECR) and
// STSSessionToken (internal/stsserver) generators give ESO's keys.
func TestGeneratorsKeepTheirValuesInTheSecret(t *testing.T) {
	f := newFixture(t)
	clock := time.Now()
	reconciler.SetNow(f.rec, func() time.Time { return clock })
	gens := func(length int) string {
		return fmt.Sprintf(`apiVersion: generators.external-secrets.io/v1alpha1
kind: Password
metadata: {name: db, namespace: %[1]s}
spec: {length: %[2]d, symbols: 0}
---
apiVersion: generators.external-secrets.io/v1alpha1
kind: UUID
metadata: {name: id, namespace: %[1]s}
---
apiVersion: generators.external-secrets.io/v1alpha1
kind: ECRAuthorizationToken
metadata: {name: ecr, namespace: %[1]s}
spec: {region: us-east-1}
---
apiVersion: generators.external-secrets.io/v1alpha1
kind: STSSessionToken
metadata: {name: session, namespace: %[1]s}
spec: {region: us-east-1, requestParameters: {sessionDuration: 3600}}
`, f.ns, length)
	}
	es := func(extra string) string {
		return fmt.Sprintf(`apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: app, namespace: %[1]s}
spec:
  refreshInterval: 1h
  dataFrom:
    - sourceRef: {generatorRef: {apiVersion: generators.external-secrets.io/v1alpha1, kind: Password, name: db}}
    - sourceRef: {generatorRef: {apiVersion: generators.external-secrets.io/v1alpha1, kind: UUID, name: id}}
      rewrite: [{regexp: {source: "uuid", target: "instance-id"}}]
%[2]s---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: registry, namespace: %[1]s}
spec:
  dataFrom:
    - sourceRef: {generatorRef: {kind: ECRAuthorizationToken, name: ecr}}
    - sourceRef: {generatorRef: {kind: STSSessionToken, name: session}}
`, f.ns, extra)
	}
	f.commit(map[string]string{"gens.yaml": gens(20), "es.yaml": es("")})
	pass := func(force bool) map[string]string {
		t.Helper()
		res := f.passWith(force)
		if !res.OK() {
			t.Fatalf("pass: %v", res.Errors)
		}
		d := data(f.secret("app"))
		f.remember(d["password"])
		f.remember(d["instance-id"])
		return d
	}
	first := pass(false)
	if len(first["password"]) != 20 || len(first["instance-id"]) != 36 || len(first) != 2 {
		t.Fatalf("keys %d, password %d long, instance-id %d long", len(first), len(first["password"]), len(first["instance-id"]))
	}
	reg := data(f.secret("registry"))
	f.remember(reg["password"]) // generated tokens are canaries like the seeds
	f.remember(reg["secret_access_key"])
	f.remember(reg["session_token"])
	if reg["username"] != "AWS" || reg["password"] == "" || !strings.HasPrefix(reg["proxy_endpoint"], "https://") || reg["expires_at"] == "" {
		t.Fatalf("ECR keys: username %q, proxy_endpoint %q, expires_at %q", reg["username"], reg["proxy_endpoint"], reg["expires_at"])
	}
	if !strings.HasPrefix(reg["access_key_id"], "ASIA") || !strings.HasPrefix(reg["session_token"], "token-for-") || reg["expiration"] == "" || reg["secret_access_key"] == "" {
		t.Fatalf("STS keys: access_key_id %q, expiration %q", reg["access_key_id"], reg["expiration"])
	}
	same := func(what string, got map[string]string) {
		t.Helper()
		if got["password"] != first["password"] || got["instance-id"] != first["instance-id"] {
			t.Fatalf("%s made new values", what)
		}
	}
	same("a forced refresh", pass(true))

	f.rec = f.newReconciler()
	reconciler.SetNow(f.rec, func() time.Time { return clock })
	same("a restart", pass(false))

	f.commit(map[string]string{"es.yaml": es("  data: [{secretKey: extra, remoteRef: {key: extra}}]\n  secretStoreRef: {name: aws}\n"), "store.yaml": f.store()})
	f.seed("extra", "generator-test-extra-seeded")
	same("a change to the ExternalSecret", pass(false))

	// A generator is not part of its ExternalSecret's resource version (as
	// in ESO): its new spec makes new values at the next refresh.
	f.commit(map[string]string{"gens.yaml": gens(32)})
	same("a change to the generator before the refresh", pass(false))
	got := pass(true)
	if len(got["password"]) != 32 || got["password"] == first["password"] || got["instance-id"] != first["instance-id"] {
		t.Fatalf("after the Password spec changed: %d long, new %v; uuid kept %v", len(got["password"]), got["password"] != first["password"], got["instance-id"] == first["instance-id"])
	}
	second := got

	clock = clock.Add(2 * time.Hour) // past refreshInterval 1h
	got = pass(false)
	if got["password"] == second["password"] || got["instance-id"] == second["instance-id"] {
		t.Fatal("values were kept past their refresh interval")
	}
	if a := f.secret("app").Annotations[generators.Annotation]; !strings.Contains(a, `"Password/db:password"`) || strings.Contains(a, got["password"]) {
		t.Fatalf("the generators annotation: %s", strings.ReplaceAll(a, got["password"], "[VALUE]"))
	}
}

// TestABadGeneratorOrTemplateBlocksOnlyItsExternalSecret: a Password
// generator that could never finish (two symbols from "!!" without
// repeats) and a template bomb (sprig repeat) fail their own
// ExternalSecrets with a reason naming the generator or the template; the
// pass ends, and the other ExternalSecret's Secret is applied.
func TestABadGeneratorOrTemplateBlocksOnlyItsExternalSecret(t *testing.T) {
	f := newFixture(t)
	gen := func(kind, name, spec string) string {
		return fmt.Sprintf("apiVersion: generators.external-secrets.io/v1alpha1\nkind: %s\nmetadata: {name: %s, namespace: %s}\nspec: %s\n---\n", kind, name, f.ns, spec)
	}
	es := func(name, gen, template string) string {
		return fmt.Sprintf(`apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: %s, namespace: %s}
spec:
  target: {template: {mergePolicy: Merge, data: {out: %q}}}
  dataFrom:
    - sourceRef: {generatorRef: {kind: %s}}
---
`, name, f.ns, template, gen)
	}
	f.commit(map[string]string{
		"gens.yaml": gen("Password", "bang", `{symbols: 2, symbolCharacters: "!!"}`) + gen("UUID", "id", "{}"),
		"es.yaml": es("bad", "Password, name: bang", "{{ .password }}") +
			es("bomb", "UUID, name: id", `{{ repeat 1000000000 .uuid }}`) +
			es("good", "UUID, name: id", "{{ .uuid }}"),
	})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute) // a safety net only
	defer cancel()
	res := f.rec.Pass(ctx, true)
	for _, e := range res.Errors {
		f.errs = append(f.errs, e.Error())
	}
	if ctx.Err() != nil {
		t.Fatal("the pass did not end")
	}
	if got := data(f.secret("good"))["out"]; len(got) != 36 {
		t.Fatalf("the good ExternalSecret's Secret: out %d bytes, errors %v", len(got), res.Errors)
	}
	if f.secret("bad") != nil || f.secret("bomb") != nil {
		t.Fatal("a Secret was written for a failing ExternalSecret")
	}
	all := fmt.Sprint(res.Errors)
	for _, want := range []string{"bad", "Password", "bang", "symbolCharacters", "bomb", "spec.target.template.data.out", "repeat"} {
		if !strings.Contains(all, want) {
			t.Errorf("the errors do not name %q: %v", want, res.Errors)
		}
	}
	if res.OK() {
		t.Fatal("the pass reported no failure")
	}
}

// TestGeneratedValuesAreKeyedByGeneratorNotPosition: a generator entry's
// state is keyed by the generator and the Secret keys it fills, never by its
// index in dataFrom, so inserting an entry before it keeps the password; a
// Secret written with the old index-keyed annotation keeps its values after
// the upgrade, even when the same commit moves the entry, and the
// annotation is rewritten in the new form.
func TestGeneratedValuesAreKeyedByGeneratorNotPosition(t *testing.T) {
	f := newFixture(t)
	f.seed("gen/extra", `{"extra":"generator-position-extra-seeded"}`)
	es := func(name string, before bool) string {
		extract := ""
		if before {
			extract = "    - extract: {key: gen/extra}\n"
		}
		return fmt.Sprintf(`apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: %[1]s, namespace: %[2]s}
spec:
  refreshInterval: 1h # refreshed by the forced passes below; 0 would keep the first Secret, as in ESO
  secretStoreRef: {name: aws}
  dataFrom:
%[3]s    - sourceRef: {generatorRef: {kind: Password, name: db}}
    - sourceRef: {generatorRef: {kind: UUID, name: id}}
      rewrite: [{regexp: {source: "uuid", target: "instance-id"}}]
`, name, f.ns, extract)
	}
	gens := fmt.Sprintf(`apiVersion: generators.external-secrets.io/v1alpha1
kind: Password
metadata: {name: db, namespace: %[1]s}
spec: {length: 24}
---
apiVersion: generators.external-secrets.io/v1alpha1
kind: UUID
metadata: {name: id, namespace: %[1]s}
`, f.ns)
	f.commit(map[string]string{"store.yaml": f.store(), "gens.yaml": gens, "app.yaml": es("app", false), "old.yaml": es("old", false)})
	mustOK(t, f.pass())
	first := map[string]map[string]string{}
	for _, name := range []string{"app", "old"} {
		d := data(f.secret(name))
		if len(d["password"]) != 24 || len(d["instance-id"]) != 36 {
			t.Fatalf("%s: password %d long, instance-id %d long", name, len(d["password"]), len(d["instance-id"]))
		}
		f.remember(d["password"])
		f.remember(d["instance-id"])
		first[name] = d
	}
	// "old" now carries the annotation an earlier secretsync wrote: each
	// state under its entry's dataFrom index.
	s := f.secret("old")
	var states map[string]json.RawMessage
	if err := json.Unmarshal([]byte(s.Annotations[generators.Annotation]), &states); err != nil || len(states) != 2 {
		t.Fatalf("the generators annotation (%v): %s", err, s.Annotations[generators.Annotation])
	}
	legacy := map[string]json.RawMessage{}
	for k, v := range states {
		i := 0
		if strings.HasPrefix(k, "UUID/") {
			i = 1
		}
		legacy[fmt.Sprintf("spec.dataFrom[%d].sourceRef.generatorRef", i)] = v
	}
	b, _ := json.Marshal(legacy)
	s.Annotations[generators.Annotation] = string(b)
	if _, err := env.Client.CoreV1().Secrets(f.ns).Update(context.Background(), s, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}

	f.commit(map[string]string{"app.yaml": es("app", true), "old.yaml": es("old", true)})
	for pass := 2; pass <= 3; pass++ {
		mustOK(t, f.pass())
		for _, name := range []string{"app", "old"} {
			t.Run(fmt.Sprintf("pass %d: %s keeps its generated values after an entry is inserted before them", pass, name), func(t *testing.T) {
				d := data(f.secret(name))
				if d["password"] != first[name]["password"] || d["instance-id"] != first[name]["instance-id"] {
					t.Fatalf("new values: password %v, instance-id %v", d["password"] != first[name]["password"], d["instance-id"] != first[name]["instance-id"])
				}
				if d["extra"] != "generator-position-extra-seeded" {
					t.Fatal("the inserted entry's key is missing")
				}
				a := f.secret(name).Annotations[generators.Annotation]
				if strings.Contains(a, "spec.dataFrom[") || !strings.Contains(a, `"Password/db:password"`) || !strings.Contains(a, `"UUID/id:instance-id"`) {
					t.Fatalf("the generators annotation: %s", a)
				}
			})
		}
	}
}
