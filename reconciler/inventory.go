package reconciler

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"sort"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
)

// inventoryKey holds the inventory as gzipped JSON in the ConfigMap's
// binaryData: 10,000 entries of plain JSON would pass the 1 MiB object limit.
const inventoryKey = "inventory.json.gz"

// Inventory is what this instance has applied and may therefore prune.
// It holds names and sources, never values or hashes.
type Inventory struct {
	// Revision is the revision of the pass that last changed the entries.
	Revision string  `json:"revision"`
	Entries  []Entry `json:"entries"`
	// Status has one row per ExternalSecret in the last rendered revision.
	Status []Status `json:"status,omitempty"`
}

// Entry is one Secret secretsync applied.
type Entry struct {
	Namespace      string `json:"namespace"`
	Name           string `json:"name"`
	ExternalSecret string `json:"externalSecret"`
	Source         string `json:"source"`
}

func (e Entry) key() targetKey { return targetKey{e.Namespace, e.Name} }

type targetKey struct{ namespace, name string }

func (k targetKey) String() string { return k.namespace + "/" + k.name }

func (r *Reconciler) inventoryName() string { return "secretsync-inventory-" + r.cfg.Instance }

// loadInventory reads the inventory ConfigMap; a missing one is empty.
func (r *Reconciler) loadInventory(ctx context.Context) (Inventory, error) {
	cm, err := r.kube.CoreV1().ConfigMaps(r.cfg.InventoryNamespace).Get(ctx, r.inventoryName(), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return Inventory{}, nil
	}
	if err != nil {
		return Inventory{}, fmt.Errorf("read inventory configmap %s/%s: %w", r.cfg.InventoryNamespace, r.inventoryName(), err)
	}
	var inv Inventory
	if raw, ok := cm.BinaryData[inventoryKey]; ok {
		if err := decodeInventory(raw, &inv); err != nil {
			return Inventory{}, fmt.Errorf("inventory configmap %s/%s is corrupt: %w", r.cfg.InventoryNamespace, r.inventoryName(), err)
		}
	}
	return inv, nil
}

// saveInventory writes inv when its entries differ from old.
func (r *Reconciler) saveInventory(ctx context.Context, old, inv Inventory) error {
	sort.Slice(inv.Entries, func(i, j int) bool {
		return inv.Entries[i].key().String() < inv.Entries[j].key().String()
	})
	if slices.Equal(old.Entries, inv.Entries) && sameJSON(old.Status, inv.Status) {
		return nil
	}
	raw, err := encodeInventory(inv)
	if err != nil {
		return err
	}
	cm := corev1ac.ConfigMap(r.inventoryName(), r.cfg.InventoryNamespace).
		WithLabels(r.labels()).
		WithBinaryData(map[string][]byte{inventoryKey: raw})
	_, err = r.kube.CoreV1().ConfigMaps(r.cfg.InventoryNamespace).Apply(ctx, cm, metav1.ApplyOptions{FieldManager: FieldManager, Force: true})
	if err != nil {
		return fmt.Errorf("write inventory configmap %s/%s: %w", r.cfg.InventoryNamespace, r.inventoryName(), err)
	}
	return nil
}

func sameJSON(a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return bytes.Equal(ja, jb)
}

func encodeInventory(inv Inventory) ([]byte, error) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if err := json.NewEncoder(zw).Encode(inv); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func decodeInventory(raw []byte, inv *Inventory) error {
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		return err
	}
	return json.NewDecoder(io.LimitReader(zr, 64<<20)).Decode(inv)
}

// DecodeInventory reads an inventory ConfigMap's binaryData, for tools.
func DecodeInventory(binaryData map[string][]byte) (Inventory, error) {
	var inv Inventory
	raw, ok := binaryData[inventoryKey]
	if !ok {
		return inv, fmt.Errorf("no %s key", inventoryKey)
	}
	return inv, decodeInventory(raw, &inv)
}
