package aws_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/secretsync/secretsync/internal/awstest"
	"github.com/secretsync/secretsync/providers"
	"github.com/secretsync/secretsync/providers/aws"
)

// propertiesOf is the remote secret name's JSON object, or fails.
func propertiesOf(t *testing.T, b awstest.Backend, name string) map[string]string {
	t.Helper()
	v, _, _ := remote(t, b, name)
	got := map[string]string{}
	if err := json.Unmarshal([]byte(v), &got); err != nil {
		t.Fatalf("%s holds no JSON object of strings", name)
	}
	return got
}

// Pushes of different properties of one remote secret that does not exist
// yet, made at the same time through the providers of one Factory (the
// PushSecrets of a pass, pushed concurrently), all end in it: none fails
// on ResourceExistsException (two CreateSecret) and none writes over
// another's property (read, merge, write interleaved). Each round is a new
// secret, so each round starts with the create race.
func TestConcurrentPropertyPushesToOneNewSecretKeepEveryProperty(t *testing.T) {
	awstest.Isolate(t)
	b := awstest.StartSM(t)
	b.SM.SetLatency(time.Millisecond) // widens the window between the read and the write, as a remote region does
	f := aws.NewFactory(aws.Options{Endpoint: b.URL, DefaultRegion: awstest.Region})
	ctx := context.Background()
	const writers, rounds = 6, 15
	for round := range rounds {
		name := fmt.Sprintf("race/%d", round)
		errs := make([]error, writers)
		var wg sync.WaitGroup
		for i := range writers {
			wg.Go(func() {
				p, err := f.Provider(ctx, aws.Store{})
				if err == nil {
					_, err = p.(providers.Pusher).Push(ctx, providers.Push{Key: name, Property: fmt.Sprintf("p%d", i), Value: fmt.Appendf(nil, "race-value-%d", i)})
				}
				errs[i] = err
			})
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("round %d: push of property p%d failed: %v", round, i, err)
			}
		}
		got := propertiesOf(t, b, name)
		for i := range writers {
			if got[fmt.Sprintf("p%d", i)] != fmt.Sprintf("race-value-%d", i) {
				t.Fatalf("round %d: property p%d lost; %s holds properties %v", round, i, name, keysOf(got))
			}
		}
	}
}

// Two processes (two Factories, no lock shared) push two properties of one
// new secret, both finding it missing before either creates it: the one
// whose CreateSecret meets ResourceExistsException reads what the other
// created and writes its property into it, rather than failing.
func TestPropertyPushThatLosesTheCreateRaceMergesIntoTheWinner(t *testing.T) {
	awstest.Isolate(t)
	b := awstest.StartSM(t)
	var mu sync.Mutex
	creates := 0
	both := make(chan struct{})
	// The first two CreateSecret calls wait for each other: both pushes
	// found the secret missing, and neither create is served before the
	// other is sent.
	b.SM.SetFault(func(op, _ string) error {
		if op != "CreateSecret" {
			return nil
		}
		mu.Lock()
		creates++
		n := creates
		if n == 2 {
			close(both)
		}
		mu.Unlock()
		if n <= 2 {
			select {
			case <-both:
			case <-time.After(10 * time.Second):
			}
		}
		return nil
	})
	ctx := context.Background()
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Go(func() {
			p := pusher(t, b, aws.Store{}) // its own Factory: another process
			_, errs[i] = p.Push(ctx, providers.Push{Key: "race/two", Property: fmt.Sprintf("p%d", i), Value: fmt.Appendf(nil, "race-value-%d", i)})
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("push of property p%d failed: %v", i, err)
		}
	}
	if c := b.SM.Calls(); c["CreateSecret"] != 2 {
		t.Fatalf("calls %v: want both pushes to have tried to create", c)
	}
	if got := propertiesOf(t, b, "race/two"); got["p0"] != "race-value-0" || got["p1"] != "race-value-1" {
		t.Fatalf("race/two holds properties %v, want p0 and p1", keysOf(got))
	}
}

func keysOf(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// The same for Parameter Store (kumo): pushes of different properties of
// one new parameter through the providers of one Factory, at the same
// time, all end in it and none fails on ParameterAlreadyExists. (Fewer
// rounds: the provider holds writes to 3 a second.)
func TestConcurrentPropertyPushesToOneNewParameterKeepEveryProperty(t *testing.T) {
	awstest.Isolate(t)
	s := awstest.StartSSM(t)
	_, f := ssmProvider(t, s, "")
	ctx := context.Background()
	const writers, rounds = 3, 3
	for round := range rounds {
		name := fmt.Sprintf("/push-race/%d", round)
		errs := make([]error, writers)
		var wg sync.WaitGroup
		for i := range writers {
			wg.Go(func() {
				p, err := f.Provider(ctx, aws.Store{Service: "ParameterStore"})
				if err == nil {
					_, err = p.(providers.Pusher).Push(ctx, providers.Push{Key: name, Property: fmt.Sprintf("p%d", i), Value: fmt.Appendf(nil, "race-value-%d", i)})
				}
				errs[i] = err
			})
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("round %d: push of property p%d failed: %v", round, i, err)
			}
		}
		v, _, _, _ := parameter(t, s, name)
		got := map[string]string{}
		if err := json.Unmarshal([]byte(v), &got); err != nil {
			t.Fatalf("round %d: %s holds no JSON object of strings", round, name)
		}
		for i := range writers {
			if got[fmt.Sprintf("p%d", i)] != fmt.Sprintf("race-value-%d", i) {
				t.Fatalf("round %d: property p%d lost; %s holds properties %v", round, i, name, keysOf(got))
			}
		}
	}
}
