package aws_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/secretsync/secretsync/internal/awstest"
	"github.com/secretsync/secretsync/internal/leaktest"
	"github.com/secretsync/secretsync/providers"
	"github.com/secretsync/secretsync/providers/aws"
)

// A remote secret of ours may hold the JSON text null: a whole-Secret
// push writes a source key as it is, and a key's value can be made from
// Git (an ExternalSecret's template). A property push into it, with or
// without Replace (the whole secret pushed by a row leaving Git), and its
// read half for diff, must answer (replace it or refuse it by name), never
// panic: a panic in a push goroutine ends the process, every namespace's
// pass with it, at every pass.
func TestAPropertyPushIntoANullSecretAnswersWithoutPanicking(t *testing.T) {
	awstest.Isolate(t)
	ctx := context.Background()
	b := awstest.StartSM(t)
	s := awstest.StartSSM(t)
	for service, p := range map[string]providers.Pusher{"secretsmanager": pusher(t, b, aws.Store{Region: "us-east-1"}), "ssm": ssmPusher(t, s)} {
		key := "/null/" + service
		if _, err := p.Push(ctx, providers.Push{Key: key, Value: []byte("null")}); err != nil {
			t.Fatal(err)
		}
		for _, replace := range [][]string{nil, {""}} {
			push := providers.Push{Key: key, Property: "user", Value: []byte("v"), Replace: replace}
			if err := noPanic(func() error {
				if would, ok := p.(providers.WouldPusher); ok {
					_, _ = would.WouldPush(ctx, push)
				}
				_, err := p.Push(ctx, push)
				return err
			}); err != nil && providers.ClassOf(err) != providers.Invalid {
				t.Fatalf("%s, replace %q: %v", service, replace, err)
			}
		}
	}
}

// noPanic runs f, turning a panic into an error.
func noPanic(f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return f()
}

// Push.Replace widens a property push only on a remote secret of ours and
// only under the update policy Replace: on one without the managed-by tag
// it is refused (NotManaged) and the value stays; under IfNotExists one
// that exists is left; without Replace a string on the way is refused by
// name; with it, the string at that path (or the whole secret) becomes the
// object the property nests in. WouldPush answers as Push, on both services,
// and no error holds a value.
func TestReplaceWritesThroughOnlyOnASecretOfOursUnderReplace(t *testing.T) {
	awstest.Isolate(t)
	ctx := context.Background()
	b := awstest.StartSM(t)
	s := awstest.StartSSM(t)
	value := map[string]func(key string) string{
		"secretsmanager": func(key string) string {
			g, err := b.Client().GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: awssdk.String(key)})
			if err != nil {
				t.Fatal(err)
			}
			if g.SecretString != nil {
				return *g.SecretString
			}
			return string(g.SecretBinary)
		},
		"ssm": func(key string) string {
			g, err := s.Client().GetParameter(ctx, &ssm.GetParameterInput{Name: awssdk.String(key), WithDecryption: awssdk.Bool(true)})
			if err != nil {
				t.Fatal(err)
			}
			return awssdk.ToString(g.Parameter.Value)
		},
	}
	for service, p := range map[string]providers.Pusher{"secretsmanager": pusher(t, b, aws.Store{Region: "us-east-1"}), "ssm": ssmPusher(t, s)} {
		would, ok := p.(providers.WouldPusher)
		if !ok {
			t.Fatalf("%s: no WouldPusher", service)
		}
		hand, ours, v, old := "/replace/hand-"+service, "/replace/ours-"+service, leaktest.Canary(), leaktest.Canary()
		if service == "ssm" {
			s.Put(t, hand, "String", old, nil)
		} else {
			b.CreateTagged(t, hand, old, nil)
		}
		if _, err := p.Push(ctx, providers.Push{Key: ours, Property: "db", Value: []byte(old)}); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			what  string
			push  providers.Push
			want  providers.Pushed
			class providers.Class
			after string
		}{
			{"not ours, whole replaced", providers.Push{Key: hand, Property: "db.user", Replace: []string{"", "db"}}, "", providers.NotManaged, old},
			{"ours, IfNotExists", providers.Push{Key: ours, Property: "db.user", Replace: []string{"db"}, IfNotExists: true}, providers.Exists, "", `{"db":"` + old + `"}`},
			{"ours, no Replace", providers.Push{Key: ours, Property: "db.user"}, "", providers.Invalid, `{"db":"` + old + `"}`},
			{"ours, a sibling path named", providers.Push{Key: ours, Property: "db.user", Replace: []string{"dbx", "db.user"}}, "", providers.Invalid, `{"db":"` + old + `"}`},
			{"ours, db replaced", providers.Push{Key: ours, Property: "db.user", Replace: []string{"db"}}, providers.Updated, "", `{"db":{"user":"` + v + `"}}`},
		} {
			c.push.Value = []byte(v)
			wdid, werr := would.WouldPush(ctx, c.push)
			did, err := p.Push(ctx, c.push)
			class := func(err error) providers.Class {
				if err == nil {
					return ""
				}
				return providers.ClassOf(err)
			}
			if did != c.want || wdid != did || class(err) != c.class || class(werr) != c.class {
				t.Fatalf("%s %s: push %q (%v), would %q (%v); want %q, class %q", service, c.what, did, err, wdid, werr, c.want, c.class)
			}
			if err != nil && (strings.Contains(err.Error(), v) || strings.Contains(err.Error(), old)) {
				t.Fatalf("%s %s: the error holds a value", service, c.what)
			}
			key := ours
			if c.push.Key == hand {
				key = hand
			}
			if value[service](key) != c.after {
				t.Fatalf("%s %s: the remote value is not as wanted", service, c.what)
			}
		}
	}
}
