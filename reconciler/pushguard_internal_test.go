package reconciler

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
// decoded once already; pushPrune is called with unreadable set instead.
// Without the guard, the delete is tried (and fails here on a store that
// is not in the render), so nothing says the prune was skipped.
func TestPushPruneRefusesEveryDeletionWhenTheInventoryIsUnreadable(t *testing.T) {
	pushedAt := metav1.NewTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	old := []inventory.PushRow{{PushSecret: "ns/p", Store: "SecretStore/ns/aws", RemoteKey: "del/a", Delete: true, LastPush: &pushedAt}}
	set := &render.Set{PushSecrets: []*render.PushSecret{{}}}
	res := Result{scrub: scrub.New()}
	kept := (&Reconciler{}).pushPrune(context.Background(), set, nil, old, true, nil, &res)
	if !slices.Equal(kept, old) || res.PruneSkipped != "inventory unreadable" || res.PushDeleted != 0 {
		t.Fatalf("kept %+v, skipped %q, deleted %d; want every row kept, skipped for the unreadable inventory", kept, res.PruneSkipped, res.PushDeleted)
	}
	if want := []string{"remote SecretStore/ns/aws del/a"}; !slices.Equal(res.PruneRefused, want) {
		t.Fatalf("refused %q, want %q", res.PruneRefused, want)
	}
}
