package aws_test

import (
	"context"
	"testing"

	"github.com/secretsync/secretsync/internal/awstest"
	"github.com/secretsync/secretsync/internal/leaktest"
	"github.com/secretsync/secretsync/providers"
	"github.com/secretsync/secretsync/providers/aws"
)

// wouldPushCase is one push WouldPush is asked about before Push runs it.
type wouldPushCase struct {
	name string
	in   providers.Push
	want providers.Pushed
	// class is the refusal's, when want is "".
	class providers.Class
}

// checkWouldPush asks p.WouldPush then p.Push for each case: both give the
// same answer (or refusal), and WouldPush makes no write (writes counts
// the backend's write calls since the last reset). Its errors hold no
// value pushed.
func checkWouldPush(t *testing.T, p providers.Pusher, writes func() int, cases []wouldPushCase) {
	t.Helper()
	ctx := context.Background()
	for _, c := range cases {
		var canaries leaktest.Canaries
		canaries.Add(string(c.in.Value))
		writes()
		would, werr := p.(providers.WouldPusher).WouldPush(ctx, c.in)
		if n := writes(); n != 0 {
			t.Fatalf("%s: WouldPush made %d write calls", c.name, n)
		}
		did, err := p.Push(ctx, c.in)
		if would != c.want || did != c.want || classOf(werr) != c.class || classOf(err) != c.class {
			t.Fatalf("%s: WouldPush = %q (%v), Push = %q (%v); want %q, class %q", c.name, would, werr, did, err, c.want, c.class)
		}
		if werr != nil {
			canaries.Check(t, c.name+": the WouldPush error", werr.Error())
		}
	}
}

func classOf(err error) providers.Class {
	if err == nil {
		return ""
	}
	return providers.ClassOf(err)
}

// wouldPushCases are the decisions a push makes, in order against one
// backend where hand/made exists without the managed-by tag.
func wouldPushCases(key func(string) string) []wouldPushCase {
	value := leaktest.Canary()
	other := leaktest.Canary()
	tags := pushMeta(`{"tags":{"team":"payments"}}`)
	return []wouldPushCase{
		{"absent", providers.Push{Key: key("app/k"), Value: []byte(value)}, providers.Created, ""},
		{"same value", providers.Push{Key: key("app/k"), Value: []byte(value)}, providers.Unchanged, ""},
		{"same value, new tags", providers.Push{Key: key("app/k"), Value: []byte(value), Metadata: tags}, providers.Retagged, ""},
		{"another value", providers.Push{Key: key("app/k"), Value: []byte(other), Metadata: tags}, providers.Updated, ""},
		{"IfNotExists on one that exists", providers.Push{Key: key("app/k"), Value: []byte(value), IfNotExists: true}, providers.Exists, ""},
		{"not ours", providers.Push{Key: key("hand/made"), Value: []byte(value)}, "", providers.NotManaged},
		{"bad metadata", providers.Push{Key: key("app/new"), Value: []byte(value), Metadata: pushMeta(`{"secretPushFormat":"text","secretType":"x"}`)}, "", providers.Invalid},
	}
}

// WouldPush decides exactly as Push does, for Secrets Manager (smserver,
// kumo) and Parameter Store, and writes nothing: diff asks it.
func TestWouldPushDecidesAsPushWithoutWriting(t *testing.T) {
	awstest.Isolate(t)
	t.Run("smserver", func(t *testing.T) {
		b := awstest.StartSM(t)
		b.Create(t, "hand/made", "hand-made-value")
		writes := func() int {
			c := b.SM.Calls()
			b.SM.ResetCalls()
			return c["CreateSecret"] + c["PutSecretValue"] + c["TagResource"] + c["UntagResource"] + c["DeleteSecret"]
		}
		checkWouldPush(t, pusher(t, b, aws.Store{}), writes, wouldPushCases(func(k string) string { return k }))
	})
	t.Run("kumo", func(t *testing.T) {
		b := awstest.StartKumo(t)
		b.Create(t, "hand/made", "hand-made-value")
		// kumo has no TagResource: the cases without tags.
		var cases []wouldPushCase
		for _, c := range wouldPushCases(func(k string) string { return k }) {
			if c.want != providers.Retagged {
				c.in.Metadata = nil
				cases = append(cases, c)
			}
		}
		cases[len(cases)-1].in.Metadata = pushMeta(`{"secretPushFormat":"text"}`)
		checkWouldPush(t, pusher(t, b, aws.Store{}), func() int { return 0 }, cases)
	})
	t.Run("parameter store", func(t *testing.T) {
		s := awstest.StartSSM(t)
		s.Put(t, "/hand/made", "String", "hand-made-value", nil)
		count := func() int {
			n := 0
			for _, w := range writes(s.Requests()) {
				n += w
			}
			return n
		}
		cases := wouldPushCases(func(k string) string { return "/" + k })
		cases[len(cases)-1].in.Metadata = pushMeta(`{"secretType":"x"}`)
		checkWouldPush(t, ssmPusher(t, s), count, cases)
	})
}
