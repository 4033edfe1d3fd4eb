package generators

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/secretsync/secretsync/desired"
	"github.com/secretsync/secretsync/plan"
	"github.com/secretsync/secretsync/providers"
	"github.com/secretsync/secretsync/render"
)

func generator(kind, name string) *render.Generator {
	g := &render.Generator{}
	g.Kind, g.Name = kind, name
	return g
}

func TestDueFollowsTheRefreshRuleAndRenewsTokens(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	pw := generator(render.KindPassword, "pw")
	hourly := plan.Refresh{Interval: time.Hour}
	for _, tc := range []struct {
		name    string
		g       *render.Generator
		refresh plan.Refresh
		at      time.Time
		want    bool
	}{
		{"made within the interval is kept", pw, hourly, now.Add(-time.Minute), false},
		{"made past the interval is due", pw, hourly, now.Add(-2 * time.Hour), true},
		{"a time ahead of this clock is taken as now, never due", pw, hourly, now.Add(time.Hour), false},
		{"CreatedOnce is never due", pw, plan.Refresh{Policy: "CreatedOnce", Interval: time.Minute}, now.Add(-48 * time.Hour), false},
		{"an interval of 0 is never due", pw, plan.Refresh{}, now.Add(-48 * time.Hour), false},
		{"a change of the ExternalSecret does not count", pw, plan.Refresh{Interval: time.Hour, Changed: true, Touched: true}, now.Add(-time.Minute), false},
		{"a token past its max age is due whatever the policy", generator("ECRAuthorizationToken", "ecr"), plan.Refresh{Policy: "CreatedOnce"}, now.Add(-tokenMaxAge), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Due(tc.g, tc.refresh, tc.at, now); got != tc.want {
				t.Errorf("Due = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestLegacyStateFindsTheOneStateOfTheSameSpec(t *testing.T) {
	at := time.Unix(100, 0)
	for _, tc := range []struct {
		name  string
		prev  map[string]state
		found bool
	}{
		{"under its own field", map[string]state{"spec.dataFrom[0]": {at, "s"}}, true},
		{"moved: the one state of the same spec", map[string]state{"spec.dataFrom[3]": {at, "s"}, "spec.dataFrom[1]": {at, "other"}}, true},
		{"two states of the same spec are not guessed between", map[string]state{"spec.dataFrom[2]": {at, "s"}, "spec.dataFrom[3]": {at, "s"}}, false},
		{"a state of another spec is not taken", map[string]state{"spec.dataFrom[0]": {at, "other"}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, ok := legacyState(tc.prev, "spec.dataFrom[0]", "s"); ok != tc.found {
				t.Errorf("found = %v, want %v", ok, tc.found)
			}
		})
	}
}

func TestKeepReadsBackUntilDueAndMakesAgainWhenAKeyIsMissing(t *testing.T) {
	g := generator(render.KindUUID, "id")
	key := desired.GeneratorKey{Kind: g.Kind, Name: g.Name}
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	runs := 0
	k := Kept{
		Entries:    []desired.Entry{{Field: "spec.dataFrom[0]", Generator: &key}},
		Generators: map[desired.GeneratorKey]*render.Generator{key: g},
		Refresh:    plan.Refresh{Interval: time.Hour},
		Now:        now,
		Run: func(context.Context, *render.Generator) (map[string]providers.Value, error) {
			runs++
			return map[string]providers.Value{"uuid": providers.NewValue([]byte("made"))}, nil
		},
	}
	_, note, err := Keep(context.Background(), k)
	if err != nil || runs != 1 {
		t.Fatalf("first: runs %d, %v", runs, err)
	}
	k.Live = &corev1.Secret{Data: map[string][]byte{"uuid": []byte("kept")}}
	k.Live.Annotations = map[string]string{Annotation: note}
	k.Now = now.Add(time.Minute)
	got, _, err := Keep(context.Background(), k)
	if err != nil || runs != 1 || string(got["spec.dataFrom[0]"]["uuid"].Bytes()) != "kept" {
		t.Fatalf("within the interval: runs %d, %v; want the value read back", runs, err)
	}
	k.Live.Data = map[string][]byte{}
	if _, _, err := Keep(context.Background(), k); err != nil || runs != 2 {
		t.Fatalf("with the key gone: runs %d, %v; want it made again", runs, err)
	}
}
