package inventory

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/secretsync/secretsync/render"
)

// The keys of an inventory ConfigMap.
const (
	// DataKey holds the record as gzipped JSON in binaryData: 10,000
	// entries of plain JSON would pass the 1 MiB object limit.
	DataKey = "inventory.json.gz"
	// SummaryKey holds a plain-text summary in data, for kubectl.
	SummaryKey = "summary"
	// AnnotationRevision is the revision the instance last recorded (it
	// moves with every write, and when status --wait asks).
	AnnotationRevision = "secretsync.io/revision"
	// AnnotationRevisionWanted asks the instance to record a revision (a
	// commit prefix) once it has handled it, for `status --wait
	// --revision`. Without it a commit that changes no Secret writes
	// nothing at all.
	AnnotationRevisionWanted = "secretsync.io/revision-wanted"
	// AnnotationShards and AnnotationDigest, on a sharded record's main
	// ConfigMap: how many ConfigMaps hold it, and the sha256 of the whole.
	AnnotationShards = "secretsync.io/inventory-shards"
	AnnotationDigest = "secretsync.io/inventory-digest"
)

// ShardBytes is how much of the record one ConfigMap holds, under the
// 1 MiB object limit with room for the summary and metadata.
const ShardBytes = 900 << 10

// Name is the name of an instance's inventory ConfigMap.
func Name(instance string) string { return render.InventoryPrefix + instance }

func shardName(main string, i int) string { return fmt.Sprintf("%s-%d", main, i) }

// ConfigMaps are the ConfigMaps that hold raw (an encoded record) as the
// inventory name in namespace: past shardBytes, the shards first, then the
// main one (raw, as Encode writes it, is never empty), which names how many there are and the digest of the whole, so
// that a reader never takes a half-written record. summary goes in the
// main one's data.
func ConfigMaps(name, namespace string, labels map[string]string, revision string, raw []byte, shardBytes int, summary string) []*corev1ac.ConfigMapApplyConfiguration {
	var shards [][]byte
	for rest := raw; len(rest) > 0; {
		n := min(len(rest), shardBytes)
		shards, rest = append(shards, rest[:n]), rest[n:]
	}
	var out []*corev1ac.ConfigMapApplyConfiguration
	for i, b := range shards[1:] {
		out = append(out, corev1ac.ConfigMap(shardName(name, i+1), namespace).
			WithLabels(labels).WithBinaryData(map[string][]byte{DataKey: b}))
	}
	sum := sha256.Sum256(raw)
	return append(out, corev1ac.ConfigMap(name, namespace).
		WithLabels(labels).
		WithAnnotations(map[string]string{AnnotationRevision: revision,
			AnnotationShards: strconv.Itoa(len(shards)), AnnotationDigest: hex.EncodeToString(sum[:])}).
		WithData(map[string]string{SummaryKey: summary}).
		WithBinaryData(map[string][]byte{DataKey: shards[0]}))
}

// ReadRaw is the gzipped record an inventory ConfigMap holds, with its
// shards, checked against the digest the main ConfigMap names.
func ReadRaw(ctx context.Context, kube kubernetes.Interface, cm *corev1.ConfigMap) ([]byte, error) {
	raw, ok := cm.BinaryData[DataKey]
	if !ok {
		return nil, fmt.Errorf("no %s key", DataKey)
	}
	n := 1
	if v := cm.Annotations[AnnotationShards]; v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 {
			return nil, fmt.Errorf("%s is %q", AnnotationShards, v)
		}
	}
	raw = append([]byte(nil), raw...)
	for i := 1; i < n; i++ {
		shard, err := kube.CoreV1().ConfigMaps(cm.Namespace).Get(ctx, shardName(cm.Name, i), metav1.GetOptions{})
		if err != nil {
			return nil, fmt.Errorf("shard %d of %d: %w", i, n, err)
		}
		raw = append(raw, shard.BinaryData[DataKey]...)
	}
	if want := cm.Annotations[AnnotationDigest]; want != "" {
		if sum := sha256.Sum256(raw); hex.EncodeToString(sum[:]) != want {
			return nil, errors.New("its shards do not add up to the record it names (a write was cut short?)")
		}
	}
	return raw, nil
}

// UnansweredRevision is the revision `status --wait` asks the inventory cm
// to record and that it does not record yet, or "".
func UnansweredRevision(cm *corev1.ConfigMap) string {
	wanted := cm.Annotations[AnnotationRevisionWanted]
	if RevisionMatches(cm.Annotations[AnnotationRevision], wanted) {
		return ""
	}
	return wanted
}

// RevisionMatches says whether a revision (ref@sha1:commit) is the one
// wanted: a prefix of the whole or of the commit.
func RevisionMatches(have, want string) bool {
	if have == "" || want == "" {
		return false
	}
	_, commit, _ := strings.Cut(have, "@sha1:")
	return strings.HasPrefix(have, want) || strings.HasPrefix(commit, want)
}

// Revision is the last revision the instance recorded: the
// ConfigMap's annotation, which moves with every write of the record and
// when `status --wait --revision` asks (AnnotationRevisionWanted), else
// the record's.
func Revision(cm *corev1.ConfigMap, inv Inventory) string {
	if rev := cm.Annotations[AnnotationRevision]; rev != "" {
		return rev
	}
	return inv.Revision
}

// ReadStatus reads the status rows of an inventory ConfigMap's record,
// with its shards, for `secretsync status`, handing each to each as it is
// decoded, and each push row to pushed (nil: none wanted) before the
// first. It reads no further than the rows (the entries go after them).
// It returns the revision the instance last recorded.
func ReadStatus(ctx context.Context, kube kubernetes.Interface, cm *corev1.ConfigMap, pushed func(PushRow), each func(Status)) (revision string, err error) {
	return readStatusRows(ctx, kube, cm, pushed, func(_ string, st *Status) error {
		each(*st)
		return nil
	})
}

// ReadStatusRows is ReadStatus for `status -o json`: each row as the
// record holds it (the JSON encoding/json writes for a Status), decoded no
// further, with the revision as far as it is known (the record writes it
// first), so that a caller can write the rows out as they come.
func ReadStatusRows(ctx context.Context, kube kubernetes.Interface, cm *corev1.ConfigMap, pushed func(PushRow), each func(revision string, row json.RawMessage) error) (revision string, err error) {
	return readStatusRows(ctx, kube, cm, pushed, func(revision string, row *json.RawMessage) error {
		return each(revision, *row)
	})
}

// readStatusRows reads a record's push rows and then its status rows as
// T, one at a time, in one walk, and the revision the instance last
// recorded. A record written before the push rows went first has them
// after the status rows: those are read first in a walk of their own.
func readStatusRows[T any](ctx context.Context, kube kubernetes.Interface, cm *corev1.ConfigMap, pushed func(PushRow), each func(revision string, row *T) error) (string, error) {
	raw, err := ReadRaw(ctx, kube, cm)
	if err != nil {
		return "", err
	}
	if pushed == nil {
		pushed = func(PushRow) {}
	}
	var inv Inventory
	sawPushed := false
	err = walkRecord(raw, func(field string, dec *json.Decoder) (err error) {
		switch field {
		case "revision":
			return dec.Decode(&inv.Revision)
		case "pushed":
			sawPushed = true
			_, err := streamRows(dec, func(row *PushRow) error { pushed(*row); return nil })
			return err
		case "status":
			if !sawPushed {
				if err := streamField(raw, "pushed", func(row PushRow) bool { pushed(row); return true }); err != nil {
					return err
				}
			}
			revision := Revision(cm, inv)
			if _, err := streamRows(dec, func(row *T) error { return each(revision, row) }); err != nil {
				return err
			}
			return errStopped
		default:
			return skipField(field, dec)
		}
	})
	if errors.Is(err, errStopped) {
		err = nil
	}
	return Revision(cm, inv), err
}

// ReadInventory reads an inventory ConfigMap's record, with its shards,
// for tools.
func ReadInventory(ctx context.Context, kube kubernetes.Interface, cm *corev1.ConfigMap) (Inventory, error) {
	var inv Inventory
	raw, err := ReadRaw(ctx, kube, cm)
	if err != nil {
		return inv, err
	}
	return inv, decodeInto(raw, &inv)
}

// ReadPushed hands each the push rows of an inventory ConfigMap's record,
// with its shards, for `secretsync status`.
func ReadPushed(ctx context.Context, kube kubernetes.Interface, cm *corev1.ConfigMap, each func(PushRow)) error {
	raw, err := ReadRaw(ctx, kube, cm)
	if err != nil {
		return err
	}
	return streamField(raw, "pushed", func(row PushRow) bool { each(row); return true })
}
