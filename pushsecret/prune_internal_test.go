package pushsecret

import (
	"context"
	"slices"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/secretsync/secretsync/internal/scrub"
	"github.com/secretsync/secretsync/inventory"
	"github.com/secretsync/secretsync/render"
)

// An inventory whose push rows could not all be read again refuses every
// remote deletion: the rows it lost may be the ones a deletion would
// spare. No end-to-end test reaches this guard, since the record's bytes
// decoded once already; prune is called with Unreadable set instead.
// Without the guard, the delete is tried (and fails here on a store that
// is not in the render), so nothing says the prune was skipped.
func TestPushPruneRefusesEveryDeletionWhenTheInventoryIsUnreadable(t *testing.T) {
	pushedAt := metav1.NewTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	old := []inventory.PushRow{{PushSecret: "ns/p", Store: "SecretStore/ns/aws", RemoteKey: "del/a", Delete: true, LastPush: &pushedAt}}
	r := &run{Pusher: New(Config{Guard: inventory.PruneGuard}),
		Pass: Pass{Set: &render.Set{PushSecrets: []*render.PushSecret{{}}}, Old: old, Unreadable: true, Redactor: scrub.New()}}
	var out Outcome
	kept := r.prune(context.Background(), nil, &out)
	if !slices.Equal(kept, old) || out.PruneSkipped != "inventory unreadable" || out.Deleted != 0 {
		t.Fatalf("kept %+v, skipped %q, deleted %d; want every row kept, skipped for the unreadable inventory", kept, out.PruneSkipped, out.Deleted)
	}
	if want := []string{"remote SecretStore/ns/aws del/a"}; !slices.Equal(out.PruneRefused, want) {
		t.Fatalf("refused %q, want %q", out.PruneRefused, want)
	}
}
