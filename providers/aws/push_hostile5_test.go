package aws_test

import (
	"context"
	"encoding/json"
	"maps"
	"reflect"
	"slices"
	"testing"

	"github.com/secretsync/secretsync/internal/awstest"
	"github.com/secretsync/secretsync/internal/leaktest"
	"github.com/secretsync/secretsync/providers"
	"github.com/secretsync/secretsync/providers/aws"
)

// Keep on both services, with the read half alike: a whole JSON object
// narrowed by a property push (Replace "") keeps exactly the claimed
// leaves (a nested one as a leaf, not its parent's other keys; a path
// through a string, or absent, keeps nothing) and drops the rest, numbers
// included; the same push again writes nothing (no churn while the old
// row still waits in the record); and Keep without Replace "" drops
// nothing.
func TestKeepKeepsOnlyTheClaimedLeavesAndWritesOnce(t *testing.T) {
	awstest.Isolate(t)
	ctx := context.Background()
	b := awstest.StartSM(t)
	s := awstest.StartSSM(t)
	u, sensitive, user, pass, newUser := leaktest.Canary(), leaktest.Canary(), leaktest.Canary(), leaktest.Canary(), leaktest.Canary()
	var c leaktest.Canaries
	c.Add(u, sensitive, user, pass, newUser)
	whole, _ := json.Marshal(map[string]any{"u": u, "s": sensitive, "n": 5, "db": map[string]string{"user": user, "pass": pass}})
	read := map[string]func(name string) string{
		"secretsmanager": func(name string) string { v, _, _ := remote(t, b, name); return v },
		"ssm":            func(name string) string { v, _, _, _ := parameter(t, s, name); return v },
	}
	for service, p := range map[string]providers.Pusher{"secretsmanager": pusher(t, b, aws.Store{Region: "us-east-1"}), "ssm": ssmPusher(t, s)} {
		key := "/keep/" + service
		if _, err := p.Push(ctx, providers.Push{Key: key, Value: whole}); err != nil {
			t.Fatal(err)
		}
		narrow := providers.Push{Key: key, Property: "db.user", Value: []byte(newUser), Replace: []string{""}, Keep: []string{"u", "db.user", "u.deeper", "absent"}}
		for i, want := range []providers.Pushed{providers.Updated, providers.Unchanged} {
			would, err := p.(providers.WouldPusher).WouldPush(ctx, narrow)
			if err != nil {
				c.Check(t, "the error", err.Error())
				t.Fatalf("%s: would push %d: %v", service, i, err)
			}
			did, err := p.Push(ctx, narrow)
			if err != nil {
				c.Check(t, "the error", err.Error())
				t.Fatalf("%s: push %d: %v", service, i, err)
			}
			if would != want || did != want {
				t.Fatalf("%s: push %d: would %s, did %s, want %s", service, i, would, did, want)
			}
		}
		var got map[string]any
		if err := json.Unmarshal([]byte(read[service](key)), &got); err != nil {
			t.Fatalf("%s: not a JSON object after the narrowing", service)
		}
		want := map[string]any{"u": u, "db": map[string]any{"user": newUser}}
		if !reflect.DeepEqual(got, want) {
			db, _ := got["db"].(map[string]any)
			t.Fatalf("%s: keys %q (db: %q), want u and db.user alone", service, slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(db)))
		}
		if _, err := p.Push(ctx, providers.Push{Key: key, Property: "extra", Value: []byte(u), Keep: []string{"extra"}}); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(read[service](key)), &got); err != nil || len(got) != 3 {
			t.Fatalf("%s: a Keep without Replace \"\" left keys %q, want u, db and extra", service, slices.Sorted(maps.Keys(got)))
		}
	}
}
