package reconciler

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"

	"github.com/secretsync/secretsync/inventory"
	"github.com/secretsync/secretsync/plan"
	"github.com/secretsync/secretsync/render"
)

func (r *Reconciler) inventoryName() string { return inventory.Name(r.cfg.Instance) }

func (r *Reconciler) inventoryRef() corev1.ObjectReference {
	return corev1.ObjectReference{APIVersion: "v1", Kind: "ConfigMap", Namespace: r.cfg.InventoryNamespace, Name: r.inventoryName()}
}

// loadInventory reads the inventory ConfigMap. One that is missing or
// cannot be read as an inventory is rebuilt from the Secrets that carry
// this instance's labels, which are ownership records of their own, and
// lost says what happened, for a Warning. A missing inventory with no
// labelled Secret is a fresh install: empty, and nothing lost. wanted is
// the revision `status --wait` asks to be recorded
// (inventory.AnnotationRevisionWanted).
//
// A record read afresh (not the one this instance last wrote or kept) is
// checked row by row; keep holds its rows, otherwise only its bytes are
// kept (raw), for a pass that reads the rows again where it needs them.
func (r *Reconciler) loadInventory(ctx context.Context, keep bool) (old *record, wanted, lost string, err error) {
	name := r.cfg.InventoryNamespace + "/" + r.inventoryName()
	cm, err := r.kube.CoreV1().ConfigMaps(r.cfg.InventoryNamespace).Get(ctx, r.inventoryName(), metav1.GetOptions{})
	missing := apierrors.IsNotFound(err)
	switch {
	case missing:
		lost = "inventory configmap " + name + " is missing"
	case err != nil:
		return nil, "", "", fmt.Errorf("read inventory configmap %s: %w", name, err)
	default:
		raw, err := inventory.ReadRaw(ctx, r.kube, cm)
		if err != nil {
			lost = fmt.Sprintf("inventory configmap %s cannot be read (%v)", name, err)
			break
		}
		old = &record{}
		switch {
		case sha256.Sum256(raw) == r.decoded.digest:
			old.Record, old.ours = &inventory.Record{Inventory: r.decoded.inv}, true
		case keep:
			var inv inventory.Inventory
			inv, err = inventory.Decode(raw)
			old.Record = &inventory.Record{Inventory: inv}
		default:
			old.Record, err = inventory.Checked(raw)
		}
		if err != nil {
			lost = fmt.Sprintf("inventory configmap %s is corrupt (%v)", name, err)
			break
		}
		old.Revision = inventory.Revision(cm, old.Inventory)
		return old, cm.Annotations[inventory.AnnotationRevisionWanted], "", nil
	}
	entries, err := r.labelledSecrets(ctx)
	if err != nil {
		return nil, "", "", fmt.Errorf("%s, and rebuilding it from the labelled secrets failed: %w", lost, err)
	}
	if missing && len(entries) == 0 {
		return &record{Record: &inventory.Record{}}, "", "", nil
	}
	return &record{Record: &inventory.Record{Inventory: inventory.Inventory{Entries: entries}}}, "", lost, nil
}

// labelledSecrets lists, by metadata only, the Secrets and ConfigMap
// targets that carry this instance's labels: one LIST of each kind across
// the cluster, or one per namespace when secretsync is limited to some.
// Without the right to list ConfigMaps no ConfigMap target can exist, so a
// Forbidden there is no loss.
func (r *Reconciler) labelledSecrets(ctx context.Context) ([]inventory.Entry, error) {
	namespaces := r.cfg.Namespaces
	if len(namespaces) == 0 {
		namespaces = []string{metav1.NamespaceAll}
	}
	sel := labels.SelectorFromSet(r.labels()).String()
	var out []inventory.Entry
	for _, ns := range namespaces {
		for _, kind := range []string{"", render.KindConfigMap} {
			scope := plan.Target{Namespace: ns, Kind: kind}
			err := r.targets().ListMetadata(ctx, scope, sel, func(m metav1.PartialObjectMetadata) {
				if r.owns(kind, m.ObjectMeta) && m.Annotations[AnnotationOrphaned] == "" { // an orphan is never adopted again
					out = append(out, inventory.EntryOf(plan.Target{Namespace: m.Namespace, Name: m.Name, Kind: kind}, m.Annotations[AnnotationExternalSecret], m.Annotations[AnnotationSource]))
				}
			})
			if kind != "" && apierrors.IsForbidden(err) {
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("list %ss labelled %s: %w", scope.Noun(), sel, err)
			}
		}
	}
	slices.SortFunc(out, inventory.CompareEntries)
	return out, nil
}

// saveInventory writes inv when it differs from old; sameRows says its
// status rows are old's (statuses compared them). When only the revision
// moved (a commit that changes no Secret), it writes nothing, unless
// wanted (the ConfigMap's inventory.AnnotationRevisionWanted) asks for that
// revision: then one small patch records it.
func (r *Reconciler) saveInventory(ctx context.Context, old *record, inv inventory.Inventory, sameRows bool, wanted string) error {
	slices.SortFunc(inv.Entries, inventory.CompareEntries)
	// old.Revision is empty when no ConfigMap holds a record yet: the
	// first pass writes it whole, even with nothing in it.
	if old.Revision != "" && sameRows && old.same(inv) {
		if raw := old.Raw(); raw != nil { // the same record: keep it decoded, as if read
			held := inv
			held.Revision = old.Revision
			r.decoded = decodedInventory{digest: sha256.Sum256(raw), inv: held}
		}
		if old.Revision == inv.Revision || !inventory.RevisionMatches(inv.Revision, wanted) {
			return nil
		}
		err := r.recordRevision(ctx, inv.Revision)
		if !apierrors.IsNotFound(err) {
			return err
		}
		// The ConfigMap went away meanwhile: write it whole.
	}
	raw, err := inventory.Encode(inv)
	if err != nil {
		return err
	}
	for _, cm := range inventory.ConfigMaps(r.inventoryName(), r.cfg.InventoryNamespace, r.labels(), inv.Revision, raw, shardBytes, inventory.Summary(inv)) {
		_, err := r.kube.CoreV1().ConfigMaps(r.cfg.InventoryNamespace).Apply(ctx, cm, metav1.ApplyOptions{FieldManager: FieldManager, Force: true})
		if err != nil {
			return fmt.Errorf("write inventory configmap %s/%s: %w", r.cfg.InventoryNamespace, *cm.Name, err)
		}
	}
	r.decoded = decodedInventory{digest: sha256.Sum256(raw), inv: inv}
	return nil
}

// record is the inventory a pass started from (inventory.Record: its rows,
// or only its bytes while the pass works).
type record struct {
	*inventory.Record
	// ours: the record is the one this process last wrote or read, so its
	// memory of each ExternalSecret is current (decodedInventory).
	ours bool
}

// same says whether inv's entries and push rows are the record's; a row
// that cannot be read again is not the same (and fails the pass).
func (o *record) same(inv inventory.Inventory) bool {
	sameEntries, err := o.SameEntries(inv.Entries)
	if err != nil || !sameEntries {
		return false
	}
	pushed, err := o.Pushed()
	return err == nil && slices.Equal(pushed, inv.Pushed)
}

// shardBytes is how much of the record one ConfigMap holds (a variable so
// that tests can make shards small).
var shardBytes = inventory.ShardBytes

// decodedInventory is the record as this instance last wrote or decoded
// it, by the sha256 of its bytes: a pass that reads the same bytes again
// reuses it instead of decoding them (about 0.1 s at 10,000 entries). Any
// change of the bytes, a hand corruption included, is decoded and checked
// as before. A pass treats it as read-only.
type decodedInventory struct {
	digest [sha256.Size]byte
	inv    inventory.Inventory
}

// recordRevision moves the inventory's revision annotation to rev and
// clears the request for it.
func (r *Reconciler) recordRevision(ctx context.Context, rev string) error {
	patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": map[string]any{AnnotationRevision: rev, inventory.AnnotationRevisionWanted: nil}}})
	_, err := r.kube.CoreV1().ConfigMaps(r.cfg.InventoryNamespace).Patch(ctx, r.inventoryName(), types.MergePatchType, patch, metav1.PatchOptions{FieldManager: FieldManager})
	if err != nil {
		return fmt.Errorf("write inventory configmap %s/%s: %w", r.cfg.InventoryNamespace, r.inventoryName(), err)
	}
	return nil
}

// RecordWantedRevision answers a `status --wait --revision` that asked
// (inventory.AnnotationRevisionWanted on cm, the inventory) after the pass for that
// revision had already run without recording it: it records the last
// pass's revision if that is the one wanted (a pass that ran to its end,
// failing ExternalSecrets or not: status reports those). It waits for a
// running pass to end.
func (r *Reconciler) RecordWantedRevision(ctx context.Context, cm *corev1.ConfigMap) error {
	wanted := inventory.UnansweredRevision(cm)
	if wanted == "" {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if !inventory.RevisionMatches(r.lastRev, wanted) {
		return nil // the pass that handles it records it
	}
	return r.recordRevision(ctx, r.lastRev)
}
