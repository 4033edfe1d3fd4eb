package aws_test

import (
	"context"
	"strings"
	"testing"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/secretsync/secretsync/internal/awstest"
	"github.com/secretsync/secretsync/providers"
	"github.com/secretsync/secretsync/providers/aws"
)

func pusher(t *testing.T, b awstest.Backend, st aws.Store) providers.Pusher {
	t.Helper()
	p, ok := provider(t, b, st).(providers.Pusher)
	if !ok {
		t.Fatal("the Secrets Manager provider is no Pusher")
	}
	return p
}

func remote(t *testing.T, b awstest.Backend, name string) (value string, tags map[string]string, versions int) {
	t.Helper()
	ctx := context.Background()
	d, err := b.Client().DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: awssdk.String(name)})
	if err != nil {
		t.Fatalf("describe %s: %v", name, err)
	}
	tags = map[string]string{}
	for _, tg := range d.Tags {
		tags[awssdk.ToString(tg.Key)] = awssdk.ToString(tg.Value)
	}
	g, err := b.Client().GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: awssdk.String(name)})
	if err != nil {
		t.Fatalf("get %s: %v", name, err)
	}
	if g.SecretString != nil {
		value = *g.SecretString
	} else {
		value = string(g.SecretBinary)
	}
	ls, err := b.Client().ListSecretVersionIds(ctx, &secretsmanager.ListSecretVersionIdsInput{SecretId: awssdk.String(name)})
	if err == nil {
		versions = len(ls.Versions)
	} else {
		versions = len(d.VersionIdsToStages)
	}
	return value, tags, versions
}

func TestPushCreatesTagsAndWritesOnlyChanges(t *testing.T) {
	awstest.Isolate(t)
	b := awstest.StartSM(t)
	p := pusher(t, b, aws.Store{})
	ctx := context.Background()
	push := func(in providers.Push, want providers.Pushed) {
		t.Helper()
		got, err := p.Push(ctx, in)
		if err != nil || got != want {
			t.Fatalf("push %s = %q, %v; want %q", in.Key, got, err, want)
		}
	}
	push(providers.Push{Key: "app/k", Value: []byte("v1-secret")}, providers.Created)
	v, tags, n := remote(t, b, "app/k")
	if v != "v1-secret" || tags[providers.ManagedByTag] != providers.ManagedByValue || n != 1 {
		t.Fatalf("after create: value %q, tags %v, %d versions", v, tags, n)
	}
	b.SM.ResetCalls()
	push(providers.Push{Key: "app/k", Value: []byte("v1-secret")}, providers.Unchanged)
	if c := b.SM.Calls(); c["PutSecretValue"]+c["CreateSecret"]+c["TagResource"] != 0 {
		t.Fatalf("an unchanged push wrote: %v", c)
	}
	push(providers.Push{Key: "app/k", Value: []byte("v2-secret")}, providers.Updated)
	if v, _, _ := remote(t, b, "app/k"); v != "v2-secret" {
		t.Fatalf("after update: %q", v)
	}

	// Properties go into one JSON object, the others kept.
	push(providers.Push{Key: "app/json", Property: "user", Value: []byte("alice")}, providers.Created)
	push(providers.Push{Key: "app/json", Property: "db.pass", Value: []byte("pw-secret")}, providers.Updated)
	push(providers.Push{Key: "app/json", Property: "user", Value: []byte("alice")}, providers.Unchanged)
	if v, _, _ := remote(t, b, "app/json"); v != `{"db":{"pass":"pw-secret"},"user":"alice"}` {
		t.Fatalf("json = %s", v)
	}
}

func TestPushNeverTouchesASecretNotOurs(t *testing.T) {
	awstest.Isolate(t)
	b := awstest.StartSM(t)
	b.Create(t, "hand/made", "by-hand-value")
	b.CreateTagged(t, "other/tagged", "other-value", map[string]string{providers.ManagedByTag: "someone-else"})
	p := pusher(t, b, aws.Store{})
	ctx := context.Background()
	for _, name := range []string{"hand/made", "other/tagged"} {
		b.SM.ResetCalls()
		if _, err := p.Push(ctx, providers.Push{Key: name, Value: []byte("pushed-value"), Metadata: pushMeta(`{"tags":{"team":"x"}}`)}); providers.ClassOf(err) != providers.NotManaged {
			t.Fatalf("push over %s: %v, want NotManaged", name, err)
		}
		if _, err := p.DeleteRemote(ctx, name); providers.ClassOf(err) != providers.NotManaged {
			t.Fatalf("delete of %s: %v, want NotManaged", name, err)
		}
		if c := b.SM.Calls(); c["PutSecretValue"]+c["DeleteSecret"]+c["CreateSecret"]+c["TagResource"]+c["UntagResource"] != 0 {
			t.Fatalf("%s: writes %v", name, c)
		}
	}
	if v, _, n := remote(t, b, "hand/made"); v != "by-hand-value" || n != 1 {
		t.Fatalf("hand/made is now %q with %d versions", v, n)
	}
	// IfNotExists leaves it, whoever made it.
	if got, err := p.Push(ctx, providers.Push{Key: "hand/made", Value: []byte("pushed-value"), IfNotExists: true}); err != nil || got != providers.Exists {
		t.Fatalf("IfNotExists over hand/made = %q, %v", got, err)
	}
	if got, err := p.Push(ctx, providers.Push{Key: "fresh", Value: []byte("pushed-value"), IfNotExists: true}); err != nil || got != providers.Created {
		t.Fatalf("IfNotExists on a new name = %q, %v", got, err)
	}
}

// TestDeleteRemoteRecoveryWindow: the DeleteSecret request carries what
// the store says, as ESO 2.9.0's DeleteSecret sends it: no setting sends
// neither field (AWS's 30-day window), recoveryWindowInDays sends that
// window, forceDeleteWithoutRecovery sends ForceDeleteWithoutRecovery=true
// and no window; by the secret's ARN. A secret in its window can be
// restored, a forced one cannot.
func TestDeleteRemoteRecoveryWindow(t *testing.T) {
	awstest.Isolate(t)
	ctx := context.Background()
	for _, c := range []struct {
		name     string
		st       aws.Store
		window   int64 // 0: RecoveryWindowInDays not sent
		force    bool  // ForceDeleteWithoutRecovery sent, true
		restores bool
	}{
		{"store default", aws.Store{}, 0, false, true},
		{"recovery window 7", aws.Store{RecoveryWindowInDays: 7}, 7, false, true},
		{"recovery window 30", aws.Store{RecoveryWindowInDays: 30}, 30, false, true},
		{"force", aws.Store{ForceDeleteWithoutRecovery: true}, 0, true, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := awstest.StartSM(t)
			p := pusher(t, b, c.st)
			if _, err := p.Push(ctx, providers.Push{Key: "gone", Value: []byte("some-value")}); err != nil {
				t.Fatal(err)
			}
			if gone, err := p.DeleteRemote(ctx, "gone"); err != nil || gone {
				t.Fatalf("delete = %v, %v", gone, err)
			}
			req, ok := b.SM.LastDelete()
			if !ok {
				t.Fatal("no DeleteSecret request")
			}
			if !strings.HasPrefix(req.SecretID, "arn:aws:secretsmanager:") || !strings.Contains(req.SecretID, ":secret:gone-") {
				t.Fatalf("DeleteSecret SecretId %q, want the secret's ARN", req.SecretID)
			}
			if sent := req.RecoveryWindowInDays != nil; sent != (c.window != 0) || sent && *req.RecoveryWindowInDays != c.window {
				t.Fatalf("RecoveryWindowInDays sent %v (%v), want %d (0: not sent)", sent, awssdk.ToInt64(req.RecoveryWindowInDays), c.window)
			}
			if sent := req.ForceDeleteWithoutRecovery != nil; sent != c.force || sent && !*req.ForceDeleteWithoutRecovery {
				t.Fatalf("ForceDeleteWithoutRecovery sent %v (%v), want sent true %v", sent, awssdk.ToBool(req.ForceDeleteWithoutRecovery), c.force)
			}
			_, err := b.Client().RestoreSecret(ctx, &secretsmanager.RestoreSecretInput{SecretId: awssdk.String("gone")})
			if (err == nil) != c.restores {
				t.Fatalf("restore after delete: %v, want restorable %v", err, c.restores)
			}
			if !c.restores {
				if gone, err := p.DeleteRemote(ctx, "gone"); err != nil || !gone {
					t.Fatalf("second delete = %v, %v; want gone", gone, err)
				}
			}
		})
	}
}

// TestPushRefusesASecretScheduledForDeletionUntilRestored: a pushed secret
// deleted with a recovery window is refused by name, with its reason and
// without a write (ESO's push fails on AWS's InvalidRequestException there
// too), under either update policy; restored, it is pushed again.
func TestPushRefusesASecretScheduledForDeletionUntilRestored(t *testing.T) {
	awstest.Isolate(t)
	b := awstest.StartSM(t)
	p := pusher(t, b, aws.Store{RecoveryWindowInDays: 7})
	ctx := context.Background()
	if _, err := p.Push(ctx, providers.Push{Key: "app/deleting", Value: []byte("first-value")}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.DeleteRemote(ctx, "app/deleting"); err != nil {
		t.Fatal(err)
	}
	for _, ifNotExists := range []bool{false, true} {
		b.SM.ResetCalls()
		_, err := p.Push(ctx, providers.Push{Key: "app/deleting", Value: []byte("second-value"), IfNotExists: ifNotExists})
		if providers.ClassOf(err) != providers.Invalid || err == nil || !strings.Contains(err.Error(), "app/deleting") || !strings.Contains(err.Error(), "scheduled for deletion") {
			t.Fatalf("push (IfNotExists %v) over a secret scheduled for deletion: %v; want Invalid, naming it and why", ifNotExists, err)
		}
		if c := b.SM.Calls(); c["PutSecretValue"]+c["CreateSecret"]+c["RestoreSecret"]+c["TagResource"] != 0 {
			t.Fatalf("a refused push wrote: %v", c)
		}
	}
	if _, err := b.Client().RestoreSecret(ctx, &secretsmanager.RestoreSecretInput{SecretId: awssdk.String("app/deleting")}); err != nil {
		t.Fatal(err)
	}
	if got, err := p.Push(ctx, providers.Push{Key: "app/deleting", Value: []byte("second-value")}); err != nil || got != providers.Updated {
		t.Fatalf("push after restore = %q, %v; want updated", got, err)
	}
}

func TestPushSecretsManagerMetadata(t *testing.T) {
	awstest.Isolate(t)
	b := awstest.StartSM(t)
	p := pusher(t, b, aws.Store{})
	ctx := context.Background()
	describe := func(name string) *secretsmanager.DescribeSecretOutput {
		t.Helper()
		d, err := b.Client().DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: awssdk.String(name)})
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	isString := func(name string) bool {
		t.Helper()
		g, err := b.Client().GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: awssdk.String(name)})
		if err != nil {
			t.Fatal(err)
		}
		return g.SecretString != nil
	}
	meta := pushMeta(`{"secretPushFormat":"string","kmsKeyID":"alias/team","description":"the db password","tags":{"team":"payments","env":"prod"}}`)
	if got, err := p.Push(ctx, providers.Push{Key: "app/meta", Value: []byte("meta-secret"), Metadata: meta}); err != nil || got != providers.Created {
		t.Fatalf("push = %q, %v", got, err)
	}
	d := describe("app/meta")
	if awssdk.ToString(d.KmsKeyId) != "alias/team" || awssdk.ToString(d.Description) != "the db password" || !isString("app/meta") {
		t.Errorf("created: key %s, description %q, a string %v", awssdk.ToString(d.KmsKeyId), awssdk.ToString(d.Description), isString("app/meta"))
	}
	if _, tags, _ := remote(t, b, "app/meta"); len(tags) != 3 || tags["team"] != "payments" || tags["env"] != "prod" || tags[providers.ManagedByTag] != providers.ManagedByValue {
		t.Errorf("created tags %v", tags)
	}
	// Without metadata: ESO's defaults, the value as binary.
	if _, err := p.Push(ctx, providers.Push{Key: "app/plain", Value: []byte("plain-secret")}); err != nil {
		t.Fatal(err)
	}
	if d := describe("app/plain"); awssdk.ToString(d.KmsKeyId) != "alias/aws/secretsmanager" || awssdk.ToString(d.Description) != "secret 'managed-by:external-secrets'" || isString("app/plain") {
		t.Errorf("defaults: key %s, description %q", awssdk.ToString(d.KmsKeyId), awssdk.ToString(d.Description))
	}

	// An update keeps the format; tags are made to match the metadata's.
	retagged := pushMeta(`{"secretPushFormat":"string","tags":{"team":"billing"}}`)
	b.SM.ResetCalls()
	if got, err := p.Push(ctx, providers.Push{Key: "app/meta", Value: []byte("meta-secret-2"), Metadata: retagged}); err != nil || got != providers.Updated {
		t.Fatalf("update = %q, %v", got, err)
	}
	if c := b.SM.Calls(); c["TagResource"] != 1 || c["UntagResource"] != 1 || c["PutSecretValue"] != 1 {
		t.Errorf("update calls %v, want one tag, one untag, one put", c)
	}
	if v, tags, _ := remote(t, b, "app/meta"); v != "meta-secret-2" || !isString("app/meta") || len(tags) != 2 || tags["team"] != "billing" {
		t.Errorf("after update: value matches %v, tags %v", v == "meta-secret-2", tags)
	}
	b.SM.ResetCalls()
	if got, err := p.Push(ctx, providers.Push{Key: "app/meta", Value: []byte("meta-secret-2"), Metadata: retagged}); err != nil || got != providers.Unchanged {
		t.Fatalf("unchanged = %q, %v", got, err)
	}
	if c := b.SM.Calls(); c["TagResource"]+c["UntagResource"]+c["PutSecretValue"] != 0 {
		t.Errorf("an unchanged push with matching tags wrote: %v", c)
	}
}
