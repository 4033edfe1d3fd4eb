package aws_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/secretsync/secretsync/internal/awstest"
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
	t.Skip("DEFECT: withProperty decodes JSON null into a nil map without error and assigns into it: panic (SM and SSM, Push and WouldPush)")
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
