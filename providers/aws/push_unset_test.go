package aws_test

import (
	"context"
	"encoding/json"
	"maps"
	"strings"
	"testing"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/secretsync/secretsync/internal/awstest"
	"github.com/secretsync/secretsync/internal/leaktest"
	"github.com/secretsync/secretsync/providers"
	"github.com/secretsync/secretsync/providers/aws"
)

// unsetter is p as a PropertyDeleter.
func unsetter(t *testing.T, p providers.Pusher) providers.PropertyDeleter {
	t.Helper()
	u, ok := p.(providers.PropertyDeleter)
	if !ok {
		t.Fatal("the provider cannot take properties out")
	}
	return u
}

// jsonKeys is the JSON object value as strings, nil if it is none.
func jsonKeys(value string) map[string]any {
	var m map[string]any
	if json.Unmarshal([]byte(value), &m) != nil {
		return nil
	}
	return m
}

// DeleteProperties takes pushed properties out of a Secrets Manager
// secret of ours (dots nest; an object left empty goes), keeps the other
// keys and the string form, deletes a secret left with no key, and
// refuses a secret without the managed-by tag, changing nothing.
func TestSecretsManagerDeletePropertiesKeepsTheRestAndDeletesAnEmptySecret(t *testing.T) {
	awstest.Isolate(t)
	b := awstest.StartSM(t)
	p := pusher(t, b, aws.Store{Region: "us-east-1"})
	u := unsetter(t, p)
	ctx := context.Background()
	user, pass := leaktest.Canary(), leaktest.Canary()
	for prop, v := range map[string]string{"db.user": user, "pass": pass} {
		if _, err := p.Push(ctx, providers.Push{Key: "unset/json", Property: prop, Value: []byte(v)}); err != nil {
			t.Fatal(err)
		}
	}
	if did, err := u.DeleteProperties(ctx, "unset/json", []string{"db.user", "absent"}); err != nil || did != providers.UnsetProperties {
		t.Fatalf("take out db.user = %q, %v", did, err)
	}
	if v, _, _ := remote(t, b, "unset/json"); !maps.Equal(jsonKeys(v), map[string]any{"pass": pass}) {
		t.Fatalf("after db.user: keys of %d bytes are not pass alone", len(v))
	}
	if did, err := u.DeleteProperties(ctx, "unset/json", []string{"db.user"}); err != nil || did != providers.UnsetNothing {
		t.Fatalf("take out db.user again = %q, %v; want nothing", did, err)
	}
	if did, err := u.DeleteProperties(ctx, "unset/json", []string{"pass"}); err != nil || did != providers.UnsetDeleted {
		t.Fatalf("take out the last key = %q, %v; want the secret deleted", did, err)
	}
	if o, err := p.(providers.Owner).Owner(ctx, "unset/json"); err != nil || o.Exists && !o.Deleting {
		t.Fatalf("owner after the last key: %+v, %v; want it gone or scheduled for deletion", o, err)
	}
	b.CreateTagged(t, "unset/hand", `{"pass":"by-hand"}`, nil)
	if _, err := u.DeleteProperties(ctx, "unset/hand", []string{"pass"}); providers.ClassOf(err) != providers.NotManaged {
		t.Fatalf("a secret not ours: %v, want NotManaged", err)
	}
	if v, _, _ := remote(t, b, "unset/hand"); v != `{"pass":"by-hand"}` {
		t.Fatal("a secret not ours was changed")
	}
}

// DeleteProperties on a parameter of ours puts its JSON without the
// properties with the type, key and tier it has (an Advanced SecureString
// stays one, under its own key), deletes one left with no key, and
// refuses a parameter without the managed-by tag.
func TestParameterStoreDeletePropertiesKeepsTypeKeyAndTier(t *testing.T) {
	awstest.Isolate(t)
	s := awstest.StartSSM(t)
	p := ssmPusher(t, s)
	u := unsetter(t, p)
	ctx := context.Background()
	meta := pushMeta(`{"secretType":"SecureString","kmsKeyID":"alias/team","tier":{"type":"Advanced"}}`)
	user, pass := leaktest.Canary(), leaktest.Canary()
	for prop, v := range map[string]string{"user": user, "pass": pass} {
		if _, err := p.Push(ctx, providers.Push{Key: "/unset/db", Property: prop, Value: []byte(v), Metadata: meta}); err != nil {
			t.Fatal(err)
		}
	}
	s.Requests()
	if did, err := u.DeleteProperties(ctx, "/unset/db", []string{"user"}); err != nil || did != providers.UnsetProperties {
		t.Fatalf("take out user = %q, %v", did, err)
	}
	body := putBody(t, s.Requests())
	// kumo keeps no KeyId (DEVELOPERS.md), so the key is sent as AWS
	// describes it and not checked here.
	if body["Type"] != "SecureString" || body["Tier"] != "Advanced" || body["Overwrite"] != true {
		t.Errorf("PutParameter type %v, tier %v, overwrite %v; want the parameter's own, overwritten", body["Type"], body["Tier"], body["Overwrite"])
	}
	if v, typ, _, _ := parameter(t, s, "/unset/db"); typ != "SecureString" || !maps.Equal(jsonKeys(v), map[string]any{"pass": pass}) {
		t.Fatalf("after user: type %s, keys not pass alone", typ)
	}
	if did, err := u.DeleteProperties(ctx, "/unset/db", []string{"pass"}); err != nil || did != providers.UnsetDeleted {
		t.Fatalf("take out the last key = %q, %v; want the parameter deleted", did, err)
	}
	if g, err := s.Client().GetParameters(ctx, &ssm.GetParametersInput{Names: []string{"/unset/db"}}); err != nil || len(g.Parameters) != 0 {
		t.Fatalf("the parameter is still there (%v)", err)
	}
	if _, err := s.Client().PutParameter(ctx, &ssm.PutParameterInput{Name: awssdk.String("/unset/hand"), Value: awssdk.String(`{"pass":"by-hand"}`), Type: "String"}); err != nil {
		t.Fatal(err)
	}
	if _, err := u.DeleteProperties(ctx, "/unset/hand", []string{"pass"}); providers.ClassOf(err) != providers.NotManaged {
		t.Fatalf("a parameter not ours: %v, want NotManaged", err)
	}
}

// WouldDeleteProperties (diff's) answers what DeleteProperties then does,
// on Secrets Manager and Parameter Store alike, with read calls only: the
// properties taken out, nothing (a property already gone, an absent
// secret), the secret deleted with its last key, and a secret not ours
// refused.
func TestWouldDeletePropertiesAnswersAsDeletePropertiesWithReadsOnly(t *testing.T) {
	awstest.Isolate(t)
	ctx := context.Background()
	b := awstest.StartSM(t)
	s := awstest.StartSSM(t)
	writes := map[string]func() []string{
		"secretsmanager": func() []string {
			var w []string
			for op, n := range b.SM.Calls() {
				if n > 0 && !strings.HasPrefix(op, "Get") && !strings.HasPrefix(op, "Describe") && !strings.HasPrefix(op, "List") && !strings.HasPrefix(op, "BatchGet") {
					w = append(w, op)
				}
			}
			b.SM.ResetCalls()
			return w
		},
		"ssm": func() []string {
			var w []string
			for _, r := range s.Requests() {
				if !strings.HasPrefix(r.Operation, "Get") && !strings.HasPrefix(r.Operation, "Describe") && !strings.HasPrefix(r.Operation, "List") {
					w = append(w, r.Operation)
				}
			}
			return w
		},
	}
	for service, p := range map[string]providers.Pusher{"secretsmanager": pusher(t, b, aws.Store{Region: "us-east-1"}), "ssm": ssmPusher(t, s)} {
		u := unsetter(t, p)
		key := "/would/" + service
		for prop, v := range map[string]string{"user": leaktest.Canary(), "pass": leaktest.Canary()} {
			if _, err := p.Push(ctx, providers.Push{Key: key, Property: prop, Value: []byte(v)}); err != nil {
				t.Fatal(err)
			}
		}
		hand := "/would/hand-" + service
		if service == "ssm" {
			if _, err := s.Client().PutParameter(ctx, &ssm.PutParameterInput{Name: awssdk.String(hand), Value: awssdk.String(`{"pass":"by-hand"}`), Type: "String"}); err != nil {
				t.Fatal(err)
			}
			// kumo's Parameter Store is the process's: other tests list it whole.
			t.Cleanup(func() { _, _ = s.Client().DeleteParameter(ctx, &ssm.DeleteParameterInput{Name: awssdk.String(hand)}) })
		} else {
			b.CreateTagged(t, hand, `{"pass":"by-hand"}`, nil)
		}
		for _, step := range []struct {
			key   string
			props []string
			want  providers.Unset
		}{
			{key, []string{"user", "absent"}, providers.UnsetProperties},
			{key, []string{"user"}, providers.UnsetNothing},
			{key, []string{"pass"}, providers.UnsetDeleted},
			{"/would/absent", []string{"pass"}, providers.UnsetNothing},
			{hand, []string{"pass"}, ""},
		} {
			writes[service]()
			would, werr := u.WouldDeleteProperties(ctx, step.key, step.props)
			if w := writes[service](); len(w) > 0 {
				t.Fatalf("%s %s %v: WouldDeleteProperties wrote %v", service, step.key, step.props, w)
			}
			did, err := u.DeleteProperties(ctx, step.key, step.props)
			if would != step.want || did != step.want || providers.ClassOf(werr) != providers.ClassOf(err) || (step.want == "") != (providers.ClassOf(err) == providers.NotManaged) {
				t.Fatalf("%s %s %v: would %q (%v), did %q (%v), want %q", service, step.key, step.props, would, werr, did, err, step.want)
			}
		}
	}
}
