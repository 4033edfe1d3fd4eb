package aws_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/secretsync/secretsync/internal/awstest"
	"github.com/secretsync/secretsync/internal/leaktest"
	"github.com/secretsync/secretsync/providers"
	"github.com/secretsync/secretsync/providers/aws"
)

func ssmPusher(t *testing.T, s awstest.SSM) providers.Pusher {
	t.Helper()
	p, _ := ssmProvider(t, s, "")
	pu, ok := p.(providers.Pusher)
	if !ok {
		t.Fatal("the Parameter Store provider is no Pusher")
	}
	return pu
}

// parameter is a parameter's value, type, version and tags as kumo holds them.
func parameter(t *testing.T, s awstest.SSM, name string) (value, typ string, version int64, tags map[string]string) {
	t.Helper()
	ctx := context.Background()
	g, err := s.Client().GetParameters(ctx, &ssm.GetParametersInput{Names: []string{name}, WithDecryption: awssdk.Bool(true)})
	if err != nil || len(g.Parameters) != 1 {
		t.Fatalf("get parameter %s: %v (%d found)", name, err, len(g.Parameters))
	}
	prm := g.Parameters[0]
	ls, err := s.Client().ListTagsForResource(ctx, &ssm.ListTagsForResourceInput{ResourceId: awssdk.String(name), ResourceType: ssmtypes.ResourceTypeForTaggingParameter})
	if err != nil {
		t.Fatalf("tags of %s: %v", name, err)
	}
	tags = map[string]string{}
	for _, tg := range ls.TagList {
		tags[awssdk.ToString(tg.Key)] = awssdk.ToString(tg.Value)
	}
	return awssdk.ToString(prm.Value), string(prm.Type), prm.Version, tags
}

// writes counts the Parameter Store write calls among reqs.
func writes(reqs []awstest.Request) map[string]int {
	out := map[string]int{}
	for _, r := range reqs {
		switch r.Operation {
		case "PutParameter", "DeleteParameter", "AddTagsToResource", "RemoveTagsFromResource":
			out[r.Operation]++
		}
	}
	return out
}

func TestParameterStorePushCreatesTagsAndWritesOnlyChanges(t *testing.T) {
	awstest.Isolate(t)
	s := awstest.StartSSM(t)
	p := ssmPusher(t, s)
	ctx := context.Background()
	push := func(in providers.Push, want providers.Pushed) {
		t.Helper()
		got, err := p.Push(ctx, in)
		if err != nil || got != want {
			t.Fatalf("push %s = %q, %v; want %q", in.Key, got, err, want)
		}
	}
	push(providers.Push{Key: "/push-create/k", Value: []byte("v1-param")}, providers.Created)
	v, typ, ver, tags := parameter(t, s, "/push-create/k")
	if v != "v1-param" || typ != "String" || ver != 1 || tags[providers.ManagedByTag] != providers.ManagedByValue {
		t.Fatalf("after create: value matches %v, type %s, version %d, tags %v", v == "v1-param", typ, ver, tags)
	}
	s.Requests()
	push(providers.Push{Key: "/push-create/k", Value: []byte("v1-param")}, providers.Unchanged)
	if w := writes(s.Requests()); len(w) != 0 {
		t.Fatalf("an unchanged push wrote: %v", w)
	}
	push(providers.Push{Key: "/push-create/k", Value: []byte("v2-param")}, providers.Updated)
	if v, _, ver, tags := parameter(t, s, "/push-create/k"); v != "v2-param" || ver != 2 || tags[providers.ManagedByTag] != providers.ManagedByValue {
		t.Fatalf("after update: value matches %v, version %d, tags %v", v == "v2-param", ver, tags)
	}

	// Properties go into one JSON object, the others kept.
	push(providers.Push{Key: "/push-create/json", Property: "user", Value: []byte("alice")}, providers.Created)
	push(providers.Push{Key: "/push-create/json", Property: "db.pass", Value: []byte("pw-param")}, providers.Updated)
	push(providers.Push{Key: "/push-create/json", Property: "user", Value: []byte("alice")}, providers.Unchanged)
	if v, _, _, _ := parameter(t, s, "/push-create/json"); v != `{"db":{"pass":"pw-param"},"user":"alice"}` {
		t.Fatalf("json = %s", v)
	}

	// Deleted only once: then it is gone.
	if gone, err := p.DeleteRemote(ctx, "/push-create/k"); err != nil || gone {
		t.Fatalf("delete = %v, %v", gone, err)
	}
	if gone, err := p.DeleteRemote(ctx, "/push-create/k"); err != nil || !gone {
		t.Fatalf("second delete = %v, %v; want gone", gone, err)
	}
}

func TestParameterStorePushNeverTouchesAParameterNotOurs(t *testing.T) {
	awstest.Isolate(t)
	s := awstest.StartSSM(t)
	s.Put(t, "/push-notours/hand", "String", "by-hand-value", nil)
	s.Put(t, "/push-notours/other", "String", "other-value", map[string]string{providers.ManagedByTag: "someone-else"})
	p := ssmPusher(t, s)
	ctx := context.Background()
	for _, name := range []string{"/push-notours/hand", "/push-notours/other"} {
		s.Requests()
		// Metadata tags change nothing on a parameter not ours either.
		if _, err := p.Push(ctx, providers.Push{Key: name, Value: []byte("pushed-value"), Metadata: pushMeta(`{"tags":{"team":"x"}}`)}); providers.ClassOf(err) != providers.NotManaged {
			t.Fatalf("push over %s: %v, want NotManaged", name, err)
		}
		if _, err := p.DeleteRemote(ctx, name); providers.ClassOf(err) != providers.NotManaged {
			t.Fatalf("delete of %s: %v, want NotManaged", name, err)
		}
		if w := writes(s.Requests()); len(w) != 0 {
			t.Fatalf("%s: writes %v", name, w)
		}
	}
	if v, _, ver, _ := parameter(t, s, "/push-notours/hand"); v != "by-hand-value" || ver != 1 {
		t.Fatalf("/push-notours/hand: value kept %v, version %d", v == "by-hand-value", ver)
	}
	// IfNotExists leaves it, whoever made it.
	if got, err := p.Push(ctx, providers.Push{Key: "/push-notours/hand", Value: []byte("pushed-value"), IfNotExists: true}); err != nil || got != providers.Exists {
		t.Fatalf("IfNotExists over /push-notours/hand = %q, %v", got, err)
	}
	if w := writes(s.Requests()); len(w) != 0 {
		t.Fatalf("IfNotExists over an existing parameter wrote: %v", w)
	}
	if got, err := p.Push(ctx, providers.Push{Key: "/push-notours/fresh", Value: []byte("pushed-value"), IfNotExists: true}); err != nil || got != providers.Created {
		t.Fatalf("IfNotExists on a new name = %q, %v", got, err)
	}
}

func pushMeta(spec string) []byte {
	return []byte(`{"apiVersion":"kubernetes.external-secrets.io/v1alpha1","kind":"PushSecretMetadata","spec":` + spec + `}`)
}

// putBody is the last PutParameter request among reqs.
func putBody(t *testing.T, reqs []awstest.Request) map[string]any {
	t.Helper()
	for i := len(reqs) - 1; i >= 0; i-- {
		if reqs[i].Operation == "PutParameter" {
			var m map[string]any
			if err := json.Unmarshal([]byte(reqs[i].Body), &m); err != nil {
				t.Fatal(err)
			}
			return m
		}
	}
	t.Fatal("no PutParameter request")
	return nil
}

func TestParameterStorePushMetadata(t *testing.T) {
	awstest.Isolate(t)
	s := awstest.StartSSM(t)
	p := ssmPusher(t, s)
	ctx := context.Background()
	s.Requests()
	meta := pushMeta(`{"secretType":"SecureString","kmsKeyID":"alias/team","tier":{"type":"Advanced","policies":[{"Type":"Expiration","Version":"1.0"}]},` +
		`"description":"pushed db password","tags":{"team":"payments","env":"prod"}}`)
	if got, err := p.Push(ctx, providers.Push{Key: "/push-meta/db", Value: []byte("meta-param"), Metadata: meta}); err != nil || got != providers.Created {
		t.Fatalf("push = %q, %v", got, err)
	}
	body := putBody(t, s.Requests())
	for k, want := range map[string]any{"Type": "SecureString", "KeyId": "alias/team", "Tier": "Advanced", "Description": "pushed db password",
		"Policies": `[{"Type":"Expiration","Version":"1.0"}]`} {
		if body[k] != want {
			t.Errorf("PutParameter %s = %v, want %v", k, body[k], want)
		}
	}
	if _, typ, _, tags := parameter(t, s, "/push-meta/db"); typ != "SecureString" || tags["team"] != "payments" || tags["env"] != "prod" || tags[providers.ManagedByTag] != providers.ManagedByValue {
		t.Errorf("created: type %s, tags %v", typ, tags)
	}

	// Without metadata: ESO's defaults, no key for a String.
	if _, err := p.Push(ctx, providers.Push{Key: "/push-meta/plain", Value: []byte("plain-param")}); err != nil {
		t.Fatal(err)
	}
	body = putBody(t, s.Requests())
	if body["Type"] != "String" || body["Tier"] != "Standard" || body["KeyId"] != nil || body["Description"] != "secret 'managed-by:external-secrets'" {
		t.Errorf("defaults: %v", body)
	}

	// Tags the metadata sets are made to match, the value unchanged: no new version.
	retagged := pushMeta(`{"secretType":"SecureString","kmsKeyID":"alias/team","tier":{"type":"Advanced"},"tags":{"team":"billing"}}`)
	if got, err := p.Push(ctx, providers.Push{Key: "/push-meta/db", Value: []byte("meta-param"), Metadata: retagged}); err != nil || got != providers.Retagged {
		t.Fatalf("retag push = %q, %v", got, err)
	}
	if w := writes(s.Requests()); w["PutParameter"] != 0 || w["AddTagsToResource"] != 1 || w["RemoveTagsFromResource"] != 1 {
		t.Errorf("retag writes %v, want one add and one remove, no put", w)
	}
	if _, _, ver, tags := parameter(t, s, "/push-meta/db"); ver != 1 || len(tags) != 2 || tags["team"] != "billing" || tags[providers.ManagedByTag] != providers.ManagedByValue {
		t.Errorf("after retag: version %d, tags %v", ver, tags)
	}
	s.Requests()
	if _, err := p.Push(ctx, providers.Push{Key: "/push-meta/db", Value: []byte("meta-param"), Metadata: retagged}); err != nil {
		t.Fatal(err)
	}
	if w := writes(s.Requests()); len(w) != 0 {
		t.Errorf("tags already matching: writes %v", w)
	}
}

// TestPushMetadataRefusedByName: every metadata a push cannot honour is
// refused before any call, its error naming the field; no value appears.
func TestPushMetadataRefusedByName(t *testing.T) {
	awstest.Isolate(t)
	s := awstest.StartSSM(t)
	b := awstest.StartSM(t)
	ps := ssmPusher(t, s)
	sm := pusher(t, b, aws.Store{})
	value := leaktest.Canary()
	var canaries leaktest.Canaries
	canaries.Add(value)
	for _, c := range []struct {
		name string
		p    providers.Pusher
		meta []byte
		want string
	}{
		{"ps unknown key", ps, pushMeta(`{"parameterType":"SecureString"}`), "metadata.spec.parameterType: is not a key"},
		{"ps bad type", ps, pushMeta(`{"secretType":"Secret"}`), "secretType"},
		{"ps bad tier", ps, pushMeta(`{"tier":{"type":"Premium"}}`), "tier.type"},
		{"ps policies off advanced", ps, pushMeta(`{"tier":{"type":"Standard","policies":[]}}`), "tier.policies"},
		{"ps key without SecureString", ps, pushMeta(`{"kmsKeyID":"alias/x"}`), "kmsKeyID"},
		{"ps encodeAsDecoded", ps, pushMeta(`{"encodeAsDecoded":true}`), "encodeAsDecoded"},
		{"ps managed-by tag", ps, pushMeta(`{"tags":{"managed-by":"me"}}`), "managed-by"},
		{"ps no envelope", ps, []byte(`{"secretType":"String"}`), "envelope"},
		{"ps unknown envelope key", ps, []byte(`{"apiVersion":"kubernetes.external-secrets.io/v1alpha1","kind":"PushSecretMetadata","specs":{}}`), "metadata.specs: is not a key"},
		{"ps wrong kind", ps, []byte(`{"apiVersion":"kubernetes.external-secrets.io/v1alpha1","kind":"Other","spec":{}}`), "PushSecretMetadata"},
		{"sm unknown key", sm, pushMeta(`{"kmsKeyIDs":"x"}`), "metadata.spec.kmsKeyIDs: is not a key"},
		{"sm bad format", sm, pushMeta(`{"secretPushFormat":"text"}`), "secretPushFormat"},
		{"sm resourcePolicy with no source", sm, pushMeta(`{"resourcePolicy":{"blockPublicPolicy":true}}`), "resourcePolicy.policySourceRef: required"},
		{"sm resourcePolicy from another namespace", sm, pushMeta(`{"resourcePolicy":{"policySourceRef":{"kind":"ConfigMap","name":"p","key":"k","namespace":"other"}}}`), "policySourceRef.namespace: is not a key"},
		{"sm resourcePolicy of another kind", sm, pushMeta(`{"resourcePolicy":{"policySourceRef":{"kind":"Pod","name":"p","key":"k"}}}`), "policySourceRef.kind"},
		{"sm resourcePolicy public allowed", sm, pushMeta(`{"resourcePolicy":{"blockPublicPolicy":false,"policySourceRef":{"kind":"ConfigMap","name":"p","key":"k"}}}`), "blockPublicPolicy: cannot be false"},
		{"sm resourcePolicy not read", sm, pushMeta(`{"resourcePolicy":{"policySourceRef":{"kind":"ConfigMap","name":"p","key":"k"}}}`), "was not read"},
		{"sm replication", sm, pushMeta(`{"replicationLocations":["eu-west-1"]}`), "replicationLocations"},
		{"sm tags not strings", sm, pushMeta(`{"tags":{"n":1}}`), "tags"},
	} {
		t.Run(c.name, func(t *testing.T) {
			s.Requests()
			b.SM.ResetCalls()
			_, err := c.p.Push(context.Background(), providers.Push{Key: "/push-refused/k", Value: []byte(value), Metadata: c.meta})
			if providers.ClassOf(err) != providers.Invalid || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("push = %v; want Invalid naming %s", err, c.want)
			}
			canaries.Check(t, "the error", err.Error())
			if n := len(s.Requests()) + b.SM.TotalCalls(); n != 0 {
				t.Errorf("a refused push made %d calls", n)
			}
		})
	}
}

// TestParameterStorePushErrorsHoldNoValue: a push that fails after reading
// the current value (not JSON, so no property fits) names the parameter,
// never the value read nor the value pushed.
func TestParameterStorePushErrorsHoldNoValue(t *testing.T) {
	awstest.Isolate(t)
	s := awstest.StartSSM(t)
	held, pushed := leaktest.Canary(), leaktest.Canary()
	var canaries leaktest.Canaries
	canaries.Add(held, pushed)
	s.Put(t, "/push-leak/raw", "SecureString", held, map[string]string{providers.ManagedByTag: providers.ManagedByValue})
	s.Put(t, "/push-leak/hand", "SecureString", held, nil)
	p := ssmPusher(t, s)
	for _, in := range []providers.Push{
		{Key: "/push-leak/raw", Property: "pw", Value: []byte(pushed)},
		{Key: "/push-leak/hand", Value: []byte(pushed)},
	} {
		_, err := p.Push(context.Background(), in)
		if err == nil || !strings.Contains(err.Error(), in.Key) {
			t.Fatalf("push %s = %v, want an error naming it", in.Key, err)
		}
		canaries.Check(t, "the error of "+in.Key, err.Error())
	}
}
