package pushsecret

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/secretsync/secretsync/desired"
	"github.com/secretsync/secretsync/internal/scrub"
	"github.com/secretsync/secretsync/inventory"
	"github.com/secretsync/secretsync/providers"
	"github.com/secretsync/secretsync/render"
)

// decide is the one decision run executes and diff prints, from what was
// read alone: each case gives a plan, a state and rows, and checks the
// step's kind, its actions and whether it counts a failure.
func TestDecideChoosesEachPushSecretsStepFromWhatWasRead(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	ps := &render.PushSecret{Meta: render.Meta{Namespace: "ns", Name: "p"}, Source: "p.yaml"}
	entry := desired.PushEntry{Store: desired.StoreKeyOf("SecretStore", "ns", "aws"), RemoteKey: "app/k", Value: providers.NewValue([]byte("v"))}
	checked := metav1.NewTime(now.Add(-time.Minute))
	row := inventory.PushRow{PushSecret: "ns/p", Store: "SecretStore/ns/aws", RemoteKey: "app/k", RemoteName: "app/k", Ready: true, Synced: "s1", Checked: &checked, LastPush: &checked}
	unnamed := row
	unnamed.RemoteName = "" // recorded before rows kept their remote name
	planned := func() *pushPlan {
		return &pushPlan{entries: []desired.PushEntry{entry}, synced: "s1", sum: [32]byte{1}, sourced: true}
	}
	failedErr := errors.New("PushSecret ns/p (p.yaml): AccessDenied")
	backingOff := &state{synced: "s1", sum: [32]byte{1}, failures: 2, retryAt: now.Add(time.Minute), err: failedErr}
	pushed := &state{synced: "s1", sum: [32]byte{1}, last: now.Add(-time.Minute), interval: time.Hour}
	a := func(kind ActionKind, would, reason string) Action {
		return Action{Kind: kind, PushSecret: "ns/p", Store: "SecretStore/ns/aws", RemoteKey: "app/k", Would: would, Reason: reason}
	}
	for _, c := range []struct {
		name     string
		pl       *pushPlan
		prev     *state
		old      []inventory.PushRow
		kind     ActionKind
		want     []Action
		failures int
	}{
		{name: "a new PushSecret is pushed", pl: planned(), kind: push, want: []Action{a(push, "", "")}},
		{name: "one pushed, the same values, not due, is kept without a call", pl: planned(), prev: pushed, old: []inventory.PushRow{row},
			kind: Keep, want: []Action{a(Keep, "", "")}},
		{name: "after a restart its rows vouch for it", pl: planned(), old: []inventory.PushRow{row}, kind: Keep, want: []Action{a(Keep, "", "")}},
		{name: "after a restart rows without their remote name vouch for nothing", pl: planned(), old: []inventory.PushRow{unnamed}, kind: push, want: []Action{a(push, "", "")}},
		{name: "one touched by an AWS event is pushed", pl: planned(), prev: &state{synced: "s1", sum: [32]byte{1}, last: now, interval: time.Hour, touched: true},
			old: []inventory.PushRow{row}, kind: push, want: []Action{a(push, "", "")}},
		{name: "one whose refreshInterval passed is pushed", pl: planned(), prev: &state{synced: "s1", sum: [32]byte{1}, last: now.Add(-2 * time.Hour), interval: time.Hour},
			old: []inventory.PushRow{row}, kind: push, want: []Action{a(push, "", "")}},
		{name: "one backing off is left, calling nothing", pl: planned(), prev: backingOff, old: []inventory.PushRow{row}, kind: Leave,
			want: []Action{a(Leave, "", "retried at 2026-01-01T12:01:00Z, after 2 failed push(es) in a row")}, failures: 2},
		{name: "one backing off whose source changed is pushed", pl: &pushPlan{entries: []desired.PushEntry{entry}, synced: "s2", sourced: true}, prev: backingOff,
			old: []inventory.PushRow{row}, kind: push, want: []Action{a(push, "", "")}},
		{name: "one whose plan failed is refused, keeping its rows", pl: &pushPlan{err: errors.New("source Secret ns/src not found"), synced: "s1"}, old: []inventory.PushRow{row},
			kind: Refused, want: []Action{a(Refused, wouldPush, "source Secret ns/src not found")}, failures: 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := decide(ps, c.pl, c.prev, c.old, nil, scrub.New(), now)
			if s.kind != c.kind {
				t.Fatalf("kind %s, want %s", s.kind, c.kind)
			}
			if d := cmp.Diff(c.want, s.actions(ps.ID())); d != "" {
				t.Fatalf("actions (-want +got):\n%s", d)
			}
			if s.state == nil || s.state.failures != c.failures {
				t.Fatalf("state %+v, want %d failures", s.state, c.failures)
			}
		})
	}
}

// A push step's action is what its provider answers, the same function
// for Push's answer (run) and WouldPush's (diff); a deletion's is what
// DeleteRemote or Owner found.
func TestAProvidersAnswerResolvesAnAction(t *testing.T) {
	base := Action{Kind: push, PushSecret: "ns/p", RemoteKey: "app/k"}
	notOurs := &providers.Error{Class: providers.NotManaged, Err: errors.New("exists without the tag")}
	for _, c := range []struct {
		did  providers.Pushed
		err  error
		want ActionKind
	}{
		{providers.Created, nil, Create}, {providers.Updated, nil, Update}, {providers.Retagged, nil, Retag},
		{providers.Unchanged, nil, Keep}, {providers.Exists, nil, Leave},
		{"", notOurs, Refused}, {"", &providers.Error{Class: providers.Invalid, Err: errors.New("scheduled for deletion")}, Refused},
		{"", errors.New("AccessDenied"), Failed},
	} {
		if got := resolved(base, c.did, c.err); got.Kind != c.want {
			t.Errorf("%q, %v: %s, want %s", c.did, c.err, got.Kind, c.want)
		}
	}
	row := inventory.PushRow{PushSecret: "ns/p", Store: "SecretStore/ns/aws", RemoteKey: "app/k"}
	for _, c := range []struct {
		err  error
		want Action
	}{
		{nil, Action{Kind: Delete, PushSecret: "ns/p", Store: "SecretStore/ns/aws", RemoteKey: "app/k"}},
		{refusal("render reported 1 error"), Action{Kind: Refused, PushSecret: "ns/p", Store: "SecretStore/ns/aws", RemoteKey: "app/k", Would: wouldDelete, Reason: "render reported 1 error"}},
		{errUnnamed, Action{Kind: Refused, PushSecret: "ns/p", Store: "SecretStore/ns/aws", RemoteKey: "app/k", Would: wouldDelete, Reason: errUnnamed.Error()}},
		{errStoreGone, Action{Kind: Refused, PushSecret: "ns/p", Store: "SecretStore/ns/aws", RemoteKey: "app/k", Would: wouldDelete, Reason: errStoreGone.Error()}},
		{notOurs, Action{Kind: Refused, PushSecret: "ns/p", Store: "SecretStore/ns/aws", RemoteKey: "app/k", Would: wouldDelete, Reason: reasonNotOurs}},
		{errors.New("throttled"), Action{Kind: Failed, PushSecret: "ns/p", Store: "SecretStore/ns/aws", RemoteKey: "app/k", Would: wouldDelete, Reason: "throttled"}},
	} {
		if d := cmp.Diff(c.want, deleteAction(row, c.err)); d != "" {
			t.Errorf("%v (-want +got):\n%s", c.err, d)
		}
	}
}
