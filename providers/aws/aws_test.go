package aws_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/secretsync/secretsync/internal/awstest"
	"github.com/secretsync/secretsync/internal/smserver"
	"github.com/secretsync/secretsync/providers"
	"github.com/secretsync/secretsync/providers/aws"
)

// The provider tests run against both servers: ours and kumo, an
// independent implementation, for the calls kumo serves (CreateSecret,
// PutSecretValue, GetSecretValue by name, ARN, stage and version id).
func backends(t *testing.T) []awstest.Backend {
	return []awstest.Backend{awstest.StartSM(t), awstest.StartKumo(t)}
}

func resolveOne(t *testing.T, p providers.Provider, ref providers.Ref) providers.Fetched {
	t.Helper()
	ref = p.Canonical(ref)
	got := p.Resolve(context.Background(), []providers.Ref{ref})
	f, ok := got[ref]
	if !ok {
		t.Fatalf("no result for %s", ref)
	}
	return f
}

func provider(t *testing.T, b awstest.Backend, st aws.Store) providers.Provider {
	t.Helper()
	p, err := aws.NewFactory(aws.Options{Endpoint: b.URL, DefaultRegion: awstest.Region}).Provider(context.Background(), st)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestGetSecretValueSemantics(t *testing.T) {
	awstest.Isolate(t)
	for _, b := range backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			arn, v1 := b.Create(t, "app/db", `{"user":"u1","nested":{"pw":"p1"}}`)
			v2 := b.Put(t, "app/db", `{"user":"u2","nested":{"pw":"p2"}}`)
			b.CreateBinary(t, "app/cert", []byte{0, 1, 2, 0xff})
			p := provider(t, b, aws.Store{})

			cases := []struct {
				name     string
				ref      providers.Ref
				property string
				want     string
				version  string
			}{
				{"by name, the current version", providers.Ref{Key: "app/db"}, "user", "u2", v2},
				{"by ARN", providers.Ref{Key: arn}, "nested.pw", "p2", v2},
				{"the whole value without a property", providers.Ref{Key: "app/db"}, "", `{"user":"u2","nested":{"pw":"p2"}}`, v2},
				{"a stage", providers.Ref{Key: "app/db", Version: "AWSPREVIOUS"}, "user", "u1", v1},
				{"a version id", providers.Ref{Key: "app/db", Version: "uuid/" + v1}, "nested.pw", "p1", v1},
				{"a binary secret", providers.Ref{Key: "app/cert"}, "", "\x00\x01\x02\xff", ""},
			}
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					f := resolveOne(t, p, c.ref)
					if f.Err != nil {
						t.Fatal(f.Err)
					}
					v, err := providers.Property(f.Value, c.property)
					if err != nil {
						t.Fatal(err)
					}
					if string(v.Bytes()) != c.want {
						t.Fatalf("value differs from the seeded one (lengths %d, want %d)", v.Len(), len(c.want))
					}
					if c.version != "" && f.VersionID != c.version {
						t.Fatalf("version id = %q, want %q", f.VersionID, c.version)
					}
				})
			}

			t.Run("a missing secret is NotFound and names the reference", func(t *testing.T) {
				f := resolveOne(t, p, providers.Ref{Key: "app/missing"})
				if providers.ClassOf(f.Err) != providers.NotFound || !strings.Contains(f.Err.Error(), "app/missing") {
					t.Fatalf("err = %v (class %s)", f.Err, providers.ClassOf(f.Err))
				}
			})
			t.Run("the store prefix is applied to names, not ARNs", func(t *testing.T) {
				p := provider(t, b, aws.Store{Prefix: "app/"})
				if f := resolveOne(t, p, providers.Ref{Key: "db"}); f.Err != nil {
					t.Fatalf("prefixed name: %v", f.Err)
				}
				if f := resolveOne(t, p, providers.Ref{Key: arn}); f.Err != nil {
					t.Fatalf("ARN with a prefix store: %v", f.Err)
				}
			})
		})
	}
}

func TestErrorsAreClassified(t *testing.T) {
	awstest.Isolate(t)
	b := awstest.StartSM(t)
	b.Create(t, "denied", "x")
	b.Create(t, "throttled", "x")
	b.Create(t, "broken", "x")
	b.SM.SetFault(func(op, id string) error {
		switch id {
		case "denied":
			return smserver.ErrDenied
		case "throttled":
			return smserver.ErrThrottled
		case "broken":
			return smserver.ErrInternal
		}
		return nil
	})
	p := provider(t, b, aws.Store{})
	for id, want := range map[string]providers.Class{
		"denied":    providers.AccessDenied,
		"throttled": providers.Throttled,
		"broken":    providers.Unavailable,
	} {
		t.Run(fmt.Sprintf("%s is %s", id, want), func(t *testing.T) {
			f := resolveOne(t, p, providers.Ref{Key: id})
			if got := providers.ClassOf(f.Err); got != want {
				t.Fatalf("class = %s, want %s (err %v)", got, want, f.Err)
			}
			var pe *providers.Error
			if !errors.As(f.Err, &pe) || pe.Ref != "secretsmanager:"+id {
				t.Fatalf("error does not name the reference: %v", f.Err)
			}
		})
	}
	t.Run("throttling is retried with backoff before it is reported", func(t *testing.T) {
		b.SM.ResetCalls()
		resolveOne(t, p, providers.Ref{Key: "throttled"})
		if n := b.SM.Calls()["BatchGetSecretValue"]; n < 2 {
			t.Fatalf("BatchGetSecretValue called %d times; want retries", n)
		}
	})
}

func TestStaticCredentialsFromTheStore(t *testing.T) {
	awstest.Isolate(t)
	b := awstest.StartSM(t)
	b.Create(t, "k", "v")
	b.SM.RequireAccessKeys("AKIDSTORE")
	creds := func(id string) *aws.Credentials {
		return &aws.Credentials{AccessKeyID: providers.NewValue([]byte(id)), SecretAccessKey: providers.NewValue([]byte("sk"))}
	}
	f := aws.NewFactory(aws.Options{Endpoint: b.URL, DefaultRegion: awstest.Region})
	ok, _ := f.Provider(context.Background(), aws.Store{Credentials: creds("AKIDSTORE")})
	if got := resolveOne(t, ok, providers.Ref{Key: "k"}); got.Err != nil {
		t.Fatalf("with the store's keys: %v", got.Err)
	}
	wrong, _ := f.Provider(context.Background(), aws.Store{Credentials: creds("AKIDOTHER")})
	if got := resolveOne(t, wrong, providers.Ref{Key: "k"}); providers.ClassOf(got.Err) != providers.AccessDenied {
		t.Fatalf("with other keys: %v", got.Err)
	}
	chain, _ := f.Provider(context.Background(), aws.Store{})
	if got := resolveOne(t, chain, providers.Ref{Key: "k"}); providers.ClassOf(got.Err) != providers.AccessDenied {
		t.Fatalf("the default chain's keys were accepted where the store's are required: %v", got.Err)
	}
}

func TestCurrentVersionsAreFetchedTwentyPerCall(t *testing.T) {
	awstest.Isolate(t)
	b := awstest.StartSM(t)
	var refs []providers.Ref
	for i := range 45 {
		name := fmt.Sprintf("s/%02d", i)
		b.Create(t, name, "v-"+name)
		refs = append(refs, providers.Ref{Key: name})
	}
	b.Put(t, "s/00", "rotated")
	refs = append(refs, providers.Ref{Key: "s/00", Version: "AWSPREVIOUS"}, providers.Ref{Key: "s/01", Version: "AWSCURRENT"}, providers.Ref{Key: "s/missing"})
	b.SM.ResetCalls()
	f := aws.NewFactory(aws.Options{Endpoint: b.URL, DefaultRegion: awstest.Region})
	p, _ := f.Provider(context.Background(), aws.Store{})
	got := p.Resolve(context.Background(), refs)

	if diff := cmp.Diff(map[string]int{"BatchGetSecretValue": 3, "GetSecretValue": 1}, b.SM.Calls()); diff != "" {
		t.Fatalf("calls (-want +got):\n%s", diff)
	}
	for _, ref := range refs[:45] {
		if got[ref].Err != nil || string(got[ref].Value.Bytes()) != "v-"+ref.Key && ref.Key != "s/00" {
			t.Fatalf("%s: wrong value or error %v", ref, got[ref].Err)
		}
	}
	if string(got[refs[0]].Value.Bytes()) != "rotated" || string(got[refs[45]].Value.Bytes()) != "v-s/00" {
		t.Fatal("current and previous versions mixed up")
	}
	if providers.ClassOf(got[refs[47]].Err) != providers.NotFound {
		t.Fatalf("a missing id in a batch: %v", got[refs[47]].Err)
	}
	if f.Calls().Total() != 4 || f.Calls().CostUSD() <= 0 {
		t.Fatalf("calls counted: %s", f.Calls())
	}
}

func TestARefusedBatchFallsBackToGetSecretValue(t *testing.T) {
	awstest.Isolate(t)
	b := awstest.StartSM(t)
	b.Create(t, "a", "1")
	b.Create(t, "b", "2")
	b.SM.SetFault(func(op, id string) error {
		if op == "BatchGetSecretValue" && id == "" {
			return smserver.ErrDenied // the least-privilege policy grants no batch
		}
		return nil
	})
	p := provider(t, b, aws.Store{})
	refs := []providers.Ref{{Key: "a"}, {Key: "b"}}
	for pass := range 2 {
		b.SM.ResetCalls()
		got := p.Resolve(context.Background(), refs)
		if got[refs[0]].Err != nil || got[refs[1]].Err != nil {
			t.Fatalf("pass %d: %v %v", pass, got[refs[0]].Err, got[refs[1]].Err)
		}
		want := map[string]int{"GetSecretValue": 2}
		if pass == 0 {
			want["BatchGetSecretValue"] = 1
		}
		if diff := cmp.Diff(want, b.SM.Calls()); diff != "" {
			t.Fatalf("pass %d calls (-want +got):\n%s", pass, diff)
		}
	}
}

func TestPerSecretDenialInABatchIsThatSecretsError(t *testing.T) {
	awstest.Isolate(t)
	b := awstest.StartSM(t)
	b.Create(t, "ok", "1")
	b.Create(t, "no", "2")
	b.SM.SetFault(func(op, id string) error {
		if id == "no" {
			return smserver.ErrDenied
		}
		return nil
	})
	p := provider(t, b, aws.Store{})
	got := p.Resolve(context.Background(), []providers.Ref{{Key: "ok"}, {Key: "no"}})
	if got[providers.Ref{Key: "ok"}].Err != nil || providers.ClassOf(got[providers.Ref{Key: "no"}].Err) != providers.AccessDenied {
		t.Fatalf("ok: %v; no: %v", got[providers.Ref{Key: "ok"}].Err, got[providers.Ref{Key: "no"}].Err)
	}
}

// TestRetrySettingsSetTheSDKsAttempts: a store's retrySettings give each
// call as many attempts as ESO's AWS provider gives it (maxRetries, 3
// when unset), counted at the server while every call is throttled; a
// store without them keeps the SDK's default. Stores alike but for their
// retrySettings do not share a client.
func TestRetrySettingsSetTheSDKsAttempts(t *testing.T) {
	awstest.Isolate(t)
	b := awstest.StartSM(t)
	b.Create(t, "throttled", "x")
	b.SM.SetFault(func(op, id string) error { return smserver.ErrThrottled })
	f := aws.NewFactory(aws.Options{Endpoint: b.URL, DefaultRegion: awstest.Region})
	for _, c := range []struct {
		name  string
		retry *aws.Retry
		want  int
	}{
		{"no retrySettings: the SDK's default", nil, 3},
		{"maxRetries 5, retryInterval 1ms", &aws.Retry{MaxAttempts: 5, Interval: time.Millisecond}, 5},
		{"maxRetries 1: no retry", &aws.Retry{MaxAttempts: 1}, 1},
		{"maxRetries 2 with the SDK's backoff", &aws.Retry{MaxAttempts: 2}, 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			p, err := f.Provider(context.Background(), aws.Store{Retry: c.retry})
			if err != nil {
				t.Fatal(err)
			}
			b.SM.ResetCalls()
			got := resolveOne(t, p, providers.Ref{Key: "throttled"})
			if providers.ClassOf(got.Err) != providers.Throttled {
				t.Fatalf("err = %v, want throttled", got.Err)
			}
			if n := b.SM.Calls()["BatchGetSecretValue"]; n != c.want {
				t.Fatalf("BatchGetSecretValue attempts = %d, want %d", n, c.want)
			}
		})
	}
}
