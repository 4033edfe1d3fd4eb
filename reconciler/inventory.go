package reconciler

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/secretsync/secretsync/inventory"
	"github.com/secretsync/secretsync/render"
)

// inventoryKey holds the inventory as gzipped JSON in the ConfigMap's
// binaryData: 10,000 entries of plain JSON would pass the 1 MiB object limit.
const inventoryKey = "inventory.json.gz"

// summaryKey holds a plain-text summary of the inventory in the
// ConfigMap's data, for kubectl: counts, and the failing ExternalSecrets
// with their reasons.
const summaryKey = "summary"

// summaryFailuresShown bounds the failing ExternalSecrets the summary
// lists; the full record stays in inventoryKey.
const summaryFailuresShown = 50

// summary is the readable part of the inventory: one line of counts, then
// one line per failing ExternalSecret (the first summaryFailuresShown).
func summary(inv Inventory) string {
	var failing []Status
	for _, st := range inv.Status {
		if !st.Ready {
			failing = append(failing, st)
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "revision: %s\nsecrets: %d\nexternalSecrets: %d\nready: %d\nfailing: %d\n",
		inv.Revision, len(inv.Entries), len(inv.Status), len(inv.Status)-len(failing), len(failing))
	for i, st := range failing {
		if i == summaryFailuresShown {
			fmt.Fprintf(&b, "... and %d more; `secretsync status` lists each\n", len(failing)-i)
			break
		}
		fmt.Fprintf(&b, "- %s (%s): %s: %s\n", st.ExternalSecret, st.Source, st.Reason, truncate(st.Message, 300))
	}
	return b.String()
}

// Inventory is what this instance has applied and may therefore prune.
// It holds names and sources, never values or hashes.
type Inventory struct {
	// Revision is the revision of the last pass that recorded the inventory.
	Revision string `json:"revision"`
	// Status has one row per ExternalSecret in the last rendered revision.
	// It goes before the entries so that `status` stops reading there.
	Status []Status `json:"status,omitempty"`
	// Pushed has one row per remote secret a PushSecret pushes to (push.go).
	Pushed  []PushRow `json:"pushed,omitempty"`
	Entries []Entry   `json:"entries"`
}

// Entry is one Secret (or ConfigMap target) secretsync applied.
type Entry = inventory.Entry

// keyOf is the target an entry records.
func keyOf(e Entry) targetKey { return targetKey{e.Namespace, e.Name, e.Kind} }

func compareEntries(a, b Entry) int { return compareKeys(keyOf(a), keyOf(b)) }

func entryOf(t targetKey, externalSecret, source string) Entry {
	return Entry{Namespace: t.namespace, Name: t.name, Kind: t.kind, ExternalSecret: externalSecret, Source: source}
}

// InventoryName is the name of an instance's inventory ConfigMap.
func InventoryName(instance string) string { return render.InventoryPrefix + instance }

func (r *Reconciler) inventoryName() string { return InventoryName(r.cfg.Instance) }

func (r *Reconciler) inventoryRef() corev1.ObjectReference {
	return corev1.ObjectReference{APIVersion: "v1", Kind: "ConfigMap", Namespace: r.cfg.InventoryNamespace, Name: r.inventoryName()}
}

// loadInventory reads the inventory ConfigMap. One that is missing or
// cannot be read as an inventory is rebuilt from the Secrets that carry
// this instance's labels, which are ownership records of their own, and
// lost says what happened, for a Warning. A missing inventory with no
// labelled Secret is a fresh install: empty, and nothing lost. wanted is
// the revision `status --wait` asks to be recorded
// (AnnotationRevisionWanted).
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
		raw, err := readRecord(ctx, r.kube, cm)
		if err != nil {
			lost = fmt.Sprintf("inventory configmap %s cannot be read (%v)", name, err)
			break
		}
		old = &record{}
		switch {
		case sha256.Sum256(raw) == r.decoded.digest:
			old.Inventory, old.ours = r.decoded.inv, true
		case keep:
			err = decodeInventory(raw, &old.Inventory)
		default:
			old.Revision, old.sorted, err = checkRecord(raw)
			old.raw = raw
		}
		if old.raw == nil {
			old.sorted = slices.IsSortedFunc(old.Status, byExternalSecret)
		}
		if err != nil {
			lost = fmt.Sprintf("inventory configmap %s is corrupt (%v)", name, err)
			break
		}
		old.Revision = InventoryRevision(cm, old.Inventory)
		return old, cm.Annotations[AnnotationRevisionWanted], "", nil
	}
	entries, err := r.labelledSecrets(ctx)
	if err != nil {
		return nil, "", "", fmt.Errorf("%s, and rebuilding it from the labelled secrets failed: %w", lost, err)
	}
	if missing && len(entries) == 0 {
		return &record{sorted: true}, "", "", nil
	}
	return &record{Inventory: Inventory{Entries: entries}, sorted: true}, "", lost, nil
}

// labelledSecrets lists, by metadata only, the Secrets and ConfigMap
// targets that carry this instance's labels: one LIST of each kind across
// the cluster, or one per namespace when secretsync is limited to some.
// Without the right to list ConfigMaps no ConfigMap target can exist, so a
// Forbidden there is no loss.
func (r *Reconciler) labelledSecrets(ctx context.Context) ([]Entry, error) {
	namespaces := r.cfg.Namespaces
	if len(namespaces) == 0 {
		namespaces = []string{metav1.NamespaceAll}
	}
	sel := labels.SelectorFromSet(r.labels()).String()
	var out []Entry
	for _, ns := range namespaces {
		for _, kind := range []string{"", render.KindConfigMap} {
			scope := targetKey{namespace: ns, kind: kind}
			err := r.listMetadata(ctx, scope, sel, func(m metav1.PartialObjectMetadata) {
				if r.owns(kind, m.ObjectMeta) && m.Annotations[AnnotationOrphaned] == "" { // an orphan is never adopted again
					out = append(out, entryOf(targetKey{m.Namespace, m.Name, kind}, m.Annotations[AnnotationExternalSecret], m.Annotations[AnnotationSource]))
				}
			})
			if kind != "" && apierrors.IsForbidden(err) {
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("list %ss labelled %s: %w", scope.noun(), sel, err)
			}
		}
	}
	slices.SortFunc(out, compareEntries)
	return out, nil
}

// saveInventory writes inv when it differs from old; sameRows says its
// status rows are old's (statuses compared them). When only the revision
// moved (a commit that changes no Secret), it writes nothing, unless
// wanted (the ConfigMap's AnnotationRevisionWanted) asks for that
// revision: then one small patch records it.
func (r *Reconciler) saveInventory(ctx context.Context, old *record, inv Inventory, sameRows bool, wanted string) error {
	slices.SortFunc(inv.Entries, compareEntries)
	// old.Revision is empty when no ConfigMap holds a record yet: the
	// first pass writes it whole, even with nothing in it.
	if old.Revision != "" && sameRows && old.sameEntries(inv.Entries) && slices.Equal(old.pushed(), inv.Pushed) {
		if old.raw != nil { // the same record: keep it decoded, as if read
			held := inv
			held.Revision = old.Revision
			r.decoded = decodedInventory{digest: sha256.Sum256(old.raw), inv: held}
		}
		if old.Revision == inv.Revision || !RevisionMatches(inv.Revision, wanted) {
			return nil
		}
		err := r.recordRevision(ctx, inv.Revision)
		if !apierrors.IsNotFound(err) {
			return err
		}
		// The ConfigMap went away meanwhile: write it whole.
	}
	raw, err := encodeInventory(inv)
	if err != nil {
		return err
	}
	// Past one ConfigMap's worth, the record is cut into shards, the others
	// written first: the main ConfigMap names how many there are and the
	// digest of the whole, so a reader never takes a half-written record
	// (loadInventory rebuilds from the labels instead).
	var shards [][]byte
	for rest := raw; len(rest) > 0; {
		n := min(len(rest), shardBytes)
		shards, rest = append(shards, rest[:n]), rest[n:]
	}
	apply := func(cm *corev1ac.ConfigMapApplyConfiguration) error {
		_, err := r.kube.CoreV1().ConfigMaps(r.cfg.InventoryNamespace).Apply(ctx, cm, metav1.ApplyOptions{FieldManager: FieldManager, Force: true})
		if err != nil {
			return fmt.Errorf("write inventory configmap %s/%s: %w", r.cfg.InventoryNamespace, *cm.Name, err)
		}
		return nil
	}
	for i, b := range shards[1:] {
		if err := apply(corev1ac.ConfigMap(shardName(r.inventoryName(), i+1), r.cfg.InventoryNamespace).
			WithLabels(r.labels()).WithBinaryData(map[string][]byte{inventoryKey: b})); err != nil {
			return err
		}
	}
	sum := sha256.Sum256(raw)
	err = apply(corev1ac.ConfigMap(r.inventoryName(), r.cfg.InventoryNamespace).
		WithLabels(r.labels()).
		WithAnnotations(map[string]string{AnnotationRevision: inv.Revision,
			annotationShards: strconv.Itoa(len(shards)), annotationDigest: hex.EncodeToString(sum[:])}).
		WithData(map[string]string{summaryKey: summary(inv)}).
		WithBinaryData(map[string][]byte{inventoryKey: shards[0]}))
	if err == nil {
		r.decoded = decodedInventory{digest: sum, inv: inv}
	}
	return err
}

// record is the inventory a pass started from. One decoded afresh is held
// as its bytes (raw) while the pass works, and read again row by row where
// the pass needs its rows (prune, statuses, the comparison before a
// write): decoded whole, 50,000 rows weigh some 25 MB beside everything
// else a pass holds at its end.
type record struct {
	Inventory // the revision; the rows too, unless raw holds them
	raw       []byte
	// sorted: the status rows are in ExternalSecret order, as secretsync
	// writes them, so they can be read alongside the new rows.
	sorted bool
	// ours: the record is the one this process last wrote or read, so its
	// memory of each ExternalSecret is current (decodedInventory).
	ours bool
	// err is the first failure to read raw again (the same bytes decoded
	// once already, so only memory can make it fail).
	err error
}

func (o *record) entries() iter.Seq[Entry] {
	if o.raw == nil {
		return slices.Values(o.Entries)
	}
	return func(yield func(Entry) bool) { o.fail(streamField(o.raw, "entries", yield)) }
}

// entryRows is entries with its read error as the last pair, for
// inventory.Stale.
func (o *record) entryRows() iter.Seq2[Entry, error] {
	return func(yield func(Entry, error) bool) {
		stopped := false
		for e := range o.entries() {
			if !yield(e, nil) {
				stopped = true
				break
			}
		}
		if o.err != nil && !stopped {
			yield(Entry{}, o.err)
		}
	}
}

func (o *record) statuses() iter.Seq[Status] {
	if o.raw == nil {
		return slices.Values(o.Status)
	}
	return func(yield func(Status) bool) { o.fail(streamField(o.raw, "status", yield)) }
}

func (o *record) fail(err error) {
	if err != nil && o.err == nil {
		o.err = err
	}
}

// sameEntries says whether the record's entries are entries, in order.
func (o *record) sameEntries(entries []Entry) bool {
	i := 0
	for e := range o.entries() {
		if i == len(entries) || e != entries[i] {
			return false
		}
		i++
	}
	return i == len(entries) && o.err == nil
}

// statusFinder finds the record's rows by ExternalSecret for ids asked in
// ascending order, reading the rows once, alongside. unpaired says whether
// a row was passed over or is left; stop ends the reading.
func (o *record) statusFinder() (find func(id string) (Status, bool), unpaired func() bool, stop func()) {
	rows := o.statuses()
	if !o.sorted { // edited by hand: sorted here, and never the same as rows written in order
		sorted := slices.SortedStableFunc(rows, byExternalSecret)
		rows = slices.Values(sorted)
	}
	next, stop := iter.Pull(rows)
	cur, ok := next()
	skipped := !o.sorted
	var last Status
	find = func(id string) (Status, bool) {
		for ok && cur.ExternalSecret < id {
			skipped = true
			cur, ok = next()
		}
		if ok && cur.ExternalSecret == id {
			last = cur
			cur, ok = next()
			return last, true
		}
		if last.ExternalSecret == id && id != "" { // asked again: an id with two rows
			return last, true
		}
		return Status{}, false
	}
	return find, func() bool { return skipped || ok }, stop
}

// decodedInventory is the record as this instance last wrote or decoded
// it, by the sha256 of its bytes: a pass that reads the same bytes again
// reuses it instead of decoding them (about 0.1 s at 10,000 entries). Any
// change of the bytes, a hand corruption included, is decoded and checked
// as before. A pass treats it as read-only.
type decodedInventory struct {
	digest [sha256.Size]byte
	inv    Inventory
}

// shardBytes is how much of the record one ConfigMap holds, under the
// 1 MiB object limit with room for the summary and metadata.
var shardBytes = 900 << 10 // a variable so that tests can make shards small

// Annotations of a sharded inventory's main ConfigMap.
const (
	annotationShards = "secretsync.io/inventory-shards"
	annotationDigest = "secretsync.io/inventory-digest"
)

func shardName(main string, i int) string { return fmt.Sprintf("%s-%d", main, i) }

// readRecord is the gzipped record an inventory ConfigMap holds, with its
// shards, checked against the digest the main ConfigMap names.
func readRecord(ctx context.Context, kube kubernetes.Interface, cm *corev1.ConfigMap) ([]byte, error) {
	raw, ok := cm.BinaryData[inventoryKey]
	if !ok {
		return nil, fmt.Errorf("no %s key", inventoryKey)
	}
	n := 1
	if v := cm.Annotations[annotationShards]; v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 {
			return nil, fmt.Errorf("%s is %q", annotationShards, v)
		}
	}
	raw = append([]byte(nil), raw...)
	for i := 1; i < n; i++ {
		shard, err := kube.CoreV1().ConfigMaps(cm.Namespace).Get(ctx, shardName(cm.Name, i), metav1.GetOptions{})
		if err != nil {
			return nil, fmt.Errorf("shard %d of %d: %w", i, n, err)
		}
		raw = append(raw, shard.BinaryData[inventoryKey]...)
	}
	if want := cm.Annotations[annotationDigest]; want != "" {
		if sum := sha256.Sum256(raw); hex.EncodeToString(sum[:]) != want {
			return nil, errors.New("its shards do not add up to the record it names (a write was cut short?)")
		}
	}
	return raw, nil
}

// sameStatus compares two rows as their JSON would (times to the second),
// without encoding 10,000 rows twice on every pass.
func sameStatus(a, b Status) bool {
	sameTime := func(a, b *metav1.Time) bool {
		return a == nil && b == nil || a != nil && b != nil && a.Unix() == b.Unix()
	}
	return sameTime(a.LastSync, b.LastSync) && sameTime(a.Refreshed, b.Refreshed) && a.Synced == b.Synced && a.ExternalSecret == b.ExternalSecret && a.Source == b.Source && a.Target == b.Target &&
		a.Ready == b.Ready && a.Reason == b.Reason && a.Message == b.Message && slices.Equal(a.Versions, b.Versions)
}

func encodeInventory(inv Inventory) ([]byte, error) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	// Row by row, as decodeInventory reads it: encoding the record as one
	// value would build all of its JSON in memory before compressing it.
	rev, err := json.Marshal(inv.Revision)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(zw, `{"revision":%s,`, rev)
	if len(inv.Status) > 0 {
		fmt.Fprint(zw, `"status":`)
		if err := encodeRows(zw, inv.Status); err != nil {
			return nil, err
		}
		fmt.Fprint(zw, `,`)
	}
	if len(inv.Pushed) > 0 {
		fmt.Fprint(zw, `"pushed":`)
		if err := encodeRows(zw, inv.Pushed); err != nil {
			return nil, err
		}
		fmt.Fprint(zw, `,`)
	}
	fmt.Fprint(zw, `"entries":`)
	if err := encodeRows(zw, inv.Entries); err != nil {
		return nil, err
	}
	fmt.Fprintln(zw, "}")
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func decodeInventory(raw []byte, inv *Inventory) error {
	return walkRecord(raw, func(field string, dec *json.Decoder) (err error) {
		switch field {
		case "revision":
			err = dec.Decode(&inv.Revision)
		case "entries":
			inv.Entries, err = decodeRows[Entry](dec)
		case "status":
			inv.Status, err = decodeRows[Status](dec)
		case "pushed":
			inv.Pushed, err = decodeRows[PushRow](dec)
		default:
			err = skipField(field, dec)
		}
		return err
	})
}

// checkRecord decodes every row of a record, as decodeInventory does, and
// keeps none: it returns the record's revision and whether its status rows
// are in ExternalSecret order.
func checkRecord(raw []byte) (revision string, sorted bool, err error) {
	sorted = true
	last := ""
	err = walkRecord(raw, func(field string, dec *json.Decoder) (err error) {
		switch field {
		case "revision":
			err = dec.Decode(&revision)
		case "entries":
			_, err = streamRows(dec, func(*Entry) error { return nil })
		case "pushed":
			_, err = streamRows(dec, func(*PushRow) error { return nil })
		case "status":
			_, err = streamRows(dec, func(st *Status) error {
				sorted = sorted && last <= st.ExternalSecret
				last = st.ExternalSecret
				return nil
			})
		default:
			err = skipField(field, dec)
		}
		return err
	})
	return revision, sorted, err
}

func byExternalSecret(a, b Status) int { return strings.Compare(a.ExternalSecret, b.ExternalSecret) }

// walkRecord reads a record's top-level object, handing the decoder to
// field at each field, which must read its value. Row by row: decoding
// the record as one value would hold all of its JSON (megabytes at 10,000
// rows) in the decoder's buffer.
func walkRecord(raw []byte, field func(name string, dec *json.Decoder) error) error {
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		return err
	}
	dec := json.NewDecoder(io.LimitReader(zr, 64<<20))
	if err := expectDelim(dec, '{'); err != nil {
		return err
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return err
		}
		name, _ := t.(string)
		if err := field(name, dec); err != nil {
			return err
		}
	}
	return expectDelim(dec, '}')
}

// skipField reads past a field's value; a list of rows a row at a time.
func skipField(name string, dec *json.Decoder) error {
	if name == "entries" || name == "status" || name == "pushed" {
		_, err := streamRows(dec, func(*json.RawMessage) error { return nil })
		return err
	}
	var skip json.RawMessage
	return dec.Decode(&skip)
}

// errStopped ends a walk whose reader has what it wanted.
var errStopped = errors.New("stopped")

// streamField hands yield the rows of one list field of a record, one at
// a time, until it returns false. It reads no further than that field:
// the record was checked whole when it was loaded.
func streamField[T any](raw []byte, name string, yield func(T) bool) error {
	err := walkRecord(raw, func(field string, dec *json.Decoder) error {
		if field != name {
			return skipField(field, dec)
		}
		_, err := streamRows(dec, func(row *T) error {
			if !yield(*row) {
				return errStopped
			}
			return nil
		})
		if err != nil {
			return err
		}
		return errStopped
	})
	if errors.Is(err, errStopped) {
		return nil
	}
	return err
}

// encodeRows writes rows as a JSON array (null when there are none, as
// encoding/json writes a nil slice).
func encodeRows[T any](w io.Writer, rows []T) error {
	if rows == nil {
		_, err := io.WriteString(w, "null")
		return err
	}
	enc := json.NewEncoder(w)
	io.WriteString(w, "[")
	for i := range rows {
		if i > 0 {
			io.WriteString(w, ",")
		}
		if err := enc.Encode(rows[i]); err != nil {
			return err
		}
	}
	_, err := io.WriteString(w, "]")
	return err
}

// decodeRows reads a JSON array (or null) into a slice.
func decodeRows[T any](dec *json.Decoder) ([]T, error) {
	out := []T{} // [] is an empty list, not null, as encoding/json reads it
	null, err := streamRows(dec, func(row *T) error {
		out = append(out, *row)
		return nil
	})
	if null {
		return nil, err
	}
	return out, err
}

// streamRows reads a JSON array (or null) one element at a time, handing
// each to each, and stops at the first error each returns.
func streamRows[T any](dec *json.Decoder, each func(*T) error) (null bool, err error) {
	t, err := dec.Token()
	if err != nil || t == nil {
		return t == nil, err
	}
	if t != json.Delim('[') {
		return false, fmt.Errorf("want an array, have %v", t)
	}
	for dec.More() {
		var row T
		if err := dec.Decode(&row); err != nil {
			return false, err
		}
		if err := each(&row); err != nil {
			return false, err
		}
	}
	return false, expectDelim(dec, ']')
}

func expectDelim(dec *json.Decoder, d json.Delim) error {
	t, err := dec.Token()
	if err != nil {
		return err
	}
	if t != d {
		return fmt.Errorf("want %v, have %v", d, t)
	}
	return nil
}

// recordRevision moves the inventory's revision annotation to rev and
// clears the request for it.
func (r *Reconciler) recordRevision(ctx context.Context, rev string) error {
	patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": map[string]any{AnnotationRevision: rev, AnnotationRevisionWanted: nil}}})
	_, err := r.kube.CoreV1().ConfigMaps(r.cfg.InventoryNamespace).Patch(ctx, r.inventoryName(), types.MergePatchType, patch, metav1.PatchOptions{FieldManager: FieldManager})
	if err != nil {
		return fmt.Errorf("write inventory configmap %s/%s: %w", r.cfg.InventoryNamespace, r.inventoryName(), err)
	}
	return nil
}

// RecordWantedRevision answers a `status --wait --revision` that asked
// (AnnotationRevisionWanted on cm, the inventory) after the pass for that
// revision had already run without recording it: it records the last
// pass's revision if that is the one wanted (a pass that ran to its end,
// failing ExternalSecrets or not: status reports those). It waits for a
// running pass to end.
func (r *Reconciler) RecordWantedRevision(ctx context.Context, cm *corev1.ConfigMap) error {
	wanted := UnansweredRevision(cm)
	if wanted == "" {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if !RevisionMatches(r.lastRev, wanted) {
		return nil // the pass that handles it records it
	}
	return r.recordRevision(ctx, r.lastRev)
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

// InventoryRevision is the last revision the instance recorded: the
// ConfigMap's annotation, which moves with every write of the record and
// when `status --wait --revision` asks (AnnotationRevisionWanted), else
// the record's.
func InventoryRevision(cm *corev1.ConfigMap, inv Inventory) string {
	if rev := cm.Annotations[AnnotationRevision]; rev != "" {
		return rev
	}
	return inv.Revision
}

// ReadStatus reads the status rows of an inventory ConfigMap's record,
// with its shards, for `secretsync status`, handing each to each as it is
// decoded. It reads no further than the rows (the entries go after them).
// It returns the revision the instance last recorded.
func ReadStatus(ctx context.Context, kube kubernetes.Interface, cm *corev1.ConfigMap, each func(Status)) (revision string, err error) {
	return readStatusRows(ctx, kube, cm, func(_ string, st *Status) error {
		each(*st)
		return nil
	})
}

// ReadStatusRows is ReadStatus for `status -o json`: each row as the
// record holds it (the JSON encoding/json writes for a Status), decoded no
// further, with the revision as far as it is known (the record writes it
// first), so that a caller can write the rows out as they come.
func ReadStatusRows(ctx context.Context, kube kubernetes.Interface, cm *corev1.ConfigMap, each func(revision string, row json.RawMessage) error) (revision string, err error) {
	return readStatusRows(ctx, kube, cm, func(revision string, row *json.RawMessage) error {
		return each(revision, *row)
	})
}

// readStatusRows reads a record's status rows as T, one at a time, and
// the revision the instance last recorded.
func readStatusRows[T any](ctx context.Context, kube kubernetes.Interface, cm *corev1.ConfigMap, each func(revision string, row *T) error) (string, error) {
	raw, err := readRecord(ctx, kube, cm)
	if err != nil {
		return "", err
	}
	var inv Inventory
	err = walkRecord(raw, func(field string, dec *json.Decoder) (err error) {
		switch field {
		case "revision":
			return dec.Decode(&inv.Revision)
		case "status":
			revision := InventoryRevision(cm, inv)
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
	return InventoryRevision(cm, inv), err
}

// ReadInventory reads an inventory ConfigMap's record, with its shards,
// for tools.
func ReadInventory(ctx context.Context, kube kubernetes.Interface, cm *corev1.ConfigMap) (Inventory, error) {
	var inv Inventory
	raw, err := readRecord(ctx, kube, cm)
	if err != nil {
		return inv, err
	}
	return inv, decodeInventory(raw, &inv)
}
