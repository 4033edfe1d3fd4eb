package pushsecret

import (
	"fmt"
	"testing"

	"github.com/secretsync/secretsync/desired"
	"github.com/secretsync/secretsync/render"
)

// A writer of one namespace links PushSecrets by one "hub" remote secret
// (each pushes a property of it) and gives each MaxPushEntries entries of
// secrets of its own. Grouping whole PushSecrets by any secret they share
// chained them all into one sequential run, unbounded; the pass's turns
// order only the entries on the hub, each waiting for the previous
// PushSecret's alone, and leave every other entry free.
func TestTurnsNeverChainMoreThanTheEntriesOfASharedSecret(t *testing.T) {
	store := desired.StoreKeyOf(render.KindSecretStore, "a", "aws")
	const pushSecrets = 5
	steps := make([]step, pushSecrets)
	for i := range steps {
		entries := []desired.PushEntry{{Store: store, RemoteKey: "hub", Property: fmt.Sprintf("p%d", i)}}
		for j := range desired.MaxPushEntries - 1 {
			entries = append(entries, desired.PushEntry{Store: store, RemoteKey: fmt.Sprintf("own/%d/%d", i, j)})
		}
		steps[i] = step{kind: push, entries: entries}
	}
	r := &run{stores: map[desired.StoreKey]*render.SecretStore{}}
	tr := newTurns(steps, r.entryKey)
	hub := r.entryKey(steps[0].entries[0])
	if len(tr.prev) != pushSecrets-1 {
		t.Fatalf("%d waits, want %d (each PushSecret after the first waits once, on the hub)", len(tr.prev), pushSecrets-1)
	}
	for k, j := range tr.prev {
		if k.key != hub || j != k.step-1 {
			t.Fatalf("step %d waits on step %d for %q; want only the hub, on the step before", k.step, j, k.key)
		}
	}
}
