package reconciler

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/secretsync/secretsync/desired"
	"github.com/secretsync/secretsync/inventory"
	"github.com/secretsync/secretsync/providers"
	"github.com/secretsync/secretsync/render"
)

// PushRow is one remote secret (and property) a PushSecret pushes to, as
// the inventory records it: names, never values. The rows of PushSecrets
// that leave Git are what deletionPolicy Delete deletes.
type PushRow struct {
	PushSecret string `json:"pushSecret"` // namespace/name
	Source     string `json:"source"`     // the manifest's file
	Secret     string `json:"secret"`     // the source Secret, namespace/name
	Store      string `json:"store"`      // desired.StoreKey's form
	RemoteKey  string `json:"remoteKey"`  // as written, before the store's prefix
	Property   string `json:"property,omitempty"`
	Delete     bool   `json:"delete,omitempty"` // deletionPolicy Delete
	// LastPush is when secretsync last wrote the remote secret for it.
	LastPush *metav1.Time `json:"lastPush,omitempty"`
	Ready    bool         `json:"ready"`
	Reason   string       `json:"reason,omitempty"`
	Message  string       `json:"message,omitempty"`
}

func (p PushRow) key() string {
	return p.PushSecret + "\x00" + p.Store + "\x00" + p.RemoteKey + "\x00" + p.Property
}

// remote is the remote secret itself: two rows on one remote key (two
// properties, or a key moved between PushSecrets) share it.
func (p PushRow) remote() string { return p.Store + "\x00" + p.RemoteKey }

func comparePushRows(a, b PushRow) int { return strings.Compare(a.key(), b.key()) }

// pushState is what the last push of a PushSecret left in memory: the
// digest of its spec and of the values it pushed, and when. A PushSecret
// whose digest is the same is pushed again only when its refreshInterval
// has passed; one never pushed since this process started is pushed (the
// provider compares before it writes, so that costs reads, not writes).
type pushState struct {
	sum      [32]byte
	last     time.Time
	interval time.Duration
	ok       bool
	// The source Secret and its resourceVersion when it was read: a pass
	// that would otherwise be skipped reads it (one GET) and runs when it
	// changed, so a changed source is pushed by the next poll.
	srcNS, srcName, srcRV string
}

// pushDefaultInterval is ESO's default refreshInterval for a PushSecret.
const pushDefaultInterval = time.Hour

func pushInterval(ps *render.PushSecret) time.Duration {
	if ps.Spec.RefreshInterval == nil {
		return pushDefaultInterval
	}
	return ps.Spec.RefreshInterval.Duration
}

// pushDue reports whether some PushSecret's refresh has come, or one failed:
// a pass then runs even when nothing else changed.
func (r *Reconciler) pushDue(ctx context.Context) bool {
	now := r.now()
	for _, st := range r.pushStates {
		if !st.ok || st.interval > 0 && !now.Before(st.last.Add(st.interval)) {
			return true
		}
	}
	for _, st := range r.pushStates {
		// Read as pushValues read it: the same scope, the same Secret.
		src, err := r.scoped(render.Asker{Kind: render.KindPushSecret, Namespace: st.srcNS, Name: st.srcName}).secret(ctx, "", st.srcName)
		if err != nil || src.ResourceVersion != st.srcRV {
			return true
		}
	}
	return false
}

// pushRef is the object a PushSecret's Events are about.
func pushRef(ps string) corev1.ObjectReference {
	ns, name, _ := strings.Cut(ps, "/")
	return corev1.ObjectReference{APIVersion: render.Group + "/v1alpha1", Kind: render.KindPushSecret, Namespace: ns, Name: name}
}

// pushAll pushes every PushSecret that is due and returns the rows for the
// inventory: the pushed ones, those carried over, and those whose deletion
// was refused or failed (so that a later pass tries again).
func (r *Reconciler) pushAll(ctx context.Context, set *render.Set, rec *record, res *Result) []PushRow {
	old := rec.pushed()
	stores := desired.IndexStores(set)
	oldBy := map[string][]PushRow{}
	for _, row := range old {
		oldBy[row.PushSecret] = append(oldBy[row.PushSecret], row)
	}
	states := make(map[string]*pushState, len(set.PushSecrets))
	var next []PushRow
	nsLabels := r.namespaceLabels(ctx)
	shared := desired.SharedRemotes(set.PushSecrets)
	for _, ps := range set.PushSecrets {
		rows := r.pushOne(ctx, ps, stores, nsLabels, oldBy[ps.ID()], states, shared[ps.ID()], res)
		next = append(next, rows...)
	}
	r.pushStates = states
	next = append(next, r.pushPrune(ctx, set, stores, old, rec.err != nil, next, res)...)
	slices.SortFunc(next, comparePushRows)
	return next
}

// pushValues reads the PushSecret's source Secret through the single scope
// (its own namespace) and returns the value of each data entry, and a
// digest of the spec and those values.
func (r *Reconciler) pushValues(ctx context.Context, ps *render.PushSecret) ([][]byte, [32]byte, string, error) {
	name := ps.Spec.Selector.Secret.Name
	src, err := r.scoped(render.Asker{Kind: render.KindPushSecret, Namespace: ps.Namespace, Name: ps.Name}).secret(ctx, "", name)
	if err != nil {
		if apierrors.IsNotFound(err) {
			return nil, [32]byte{}, "", fmt.Errorf("source Secret %s/%s not found", ps.Namespace, name)
		}
		return nil, [32]byte{}, "", fmt.Errorf("read source Secret %s/%s: %w", ps.Namespace, name, err)
	}
	// A cluster credential never leaves the cluster, as secretsync never
	// writes one (render.PrivilegedSecret): a repo writer who cannot read
	// the namespace's Secrets must not copy its tokens out to AWS.
	if t := src.Type; t == corev1.SecretTypeServiceAccountToken || t == corev1.SecretTypeBootstrapToken {
		return nil, [32]byte{}, "", fmt.Errorf("source Secret %s/%s is refused: its type %s holds a credential to this cluster, which secretsync never pushes", ps.Namespace, name, t)
	}
	for _, v := range src.Data {
		r.scrub.Add(v)
	}
	h := sha256.New()
	spec, _ := json.Marshal(ps.Spec)
	h.Write(spec)
	values := make([][]byte, len(ps.Spec.Data))
	for i, d := range ps.Spec.Data {
		key := d.Match.SecretKey
		if key == "" {
			// The whole Secret as a JSON object of strings, as ESO pushes it.
			all := make(map[string]string, len(src.Data))
			for k, v := range src.Data {
				all[k] = string(v)
			}
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			if err := enc.Encode(all); err != nil {
				return nil, [32]byte{}, "", err
			}
			values[i] = bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
			r.scrub.Add(values[i])
		} else {
			v, ok := src.Data[key]
			if !ok {
				return nil, [32]byte{}, "", fmt.Errorf("spec.data[%d]: source Secret %s/%s has no key %s", i, ps.Namespace, name, key)
			}
			values[i] = v
		}
		fmt.Fprintf(h, "\x00%d\x00", len(values[i]))
		h.Write(values[i])
	}
	var sum [32]byte
	h.Sum(sum[:0])
	return values, sum, src.ResourceVersion, nil
}

func (r *Reconciler) pushOne(ctx context.Context, ps *render.PushSecret, stores map[desired.StoreKey]*render.SecretStore, nsLabels desired.NamespaceLabels,
	old []PushRow, states map[string]*pushState, shared *desired.Problem, res *Result) []PushRow {
	id := ps.ID()
	rows := make([]PushRow, 0, len(ps.Spec.SecretStoreRefs)*len(ps.Spec.Data))
	for _, ref := range ps.Spec.SecretStoreRefs {
		key := desired.StoreKeyOf(ref.StoreKind(), ps.Namespace, ref.Name)
		for _, d := range ps.Spec.Data {
			rows = append(rows, PushRow{PushSecret: id, Source: ps.Source, Secret: ps.Namespace + "/" + ps.Spec.Selector.Secret.Name,
				Store: key.String(), RemoteKey: d.Match.RemoteRef.RemoteKey, Property: d.Match.RemoteRef.Property, Delete: ps.Deletes()})
		}
	}
	last := map[string]PushRow{}
	for _, o := range old {
		last[o.key()] = o
	}
	fail := func(err error) []PushRow {
		err = res.fail(ApplyFailed, fmt.Errorf("PushSecret %s (%s): %w", id, ps.Source, err))
		states[id] = &pushState{interval: pushInterval(ps)}
		for i := range rows {
			rows[i].LastPush = last[rows[i].key()].LastPush
			rows[i].Reason, rows[i].Message = string(ApplyFailed), err.Error()
		}
		r.event(ctx, pushRef(id), corev1.EventTypeWarning, "PushFailed", err.Error())
		return rows
	}
	if probs := desired.PushProblems(ps, stores, desired.Options{Namespaces: r.cfg.Namespaces, NamespaceLabels: nsLabels}); len(probs) > 0 {
		errs := make([]error, len(probs))
		for i, p := range probs {
			errs[i] = p
		}
		return fail(errors.Join(errs...))
	}
	if shared != nil {
		return fail(*shared)
	}
	values, sum, rv, err := r.pushValues(ctx, ps)
	if err != nil {
		return fail(err)
	}
	prev := r.pushStates[id]
	now := r.now()
	interval := pushInterval(ps)
	if prev != nil && prev.ok && prev.sum == sum && (interval == 0 || now.Before(prev.last.Add(interval))) {
		prev.srcRV = rv
		states[id] = prev
		for i := range rows {
			rows[i] = last[rows[i].key()]
		}
		return rows
	}
	var errs []error
	i := 0
	for _, ref := range ps.Spec.SecretStoreRefs {
		key := desired.StoreKeyOf(ref.StoreKind(), ps.Namespace, ref.Name)
		pusher, perr := r.pusher(ctx, stores[key], key, ps.Namespace)
		for j, d := range ps.Spec.Data {
			row := &rows[i]
			i++
			row.LastPush = last[row.key()].LastPush
			if perr != nil {
				errs = append(errs, perr)
				row.Reason, row.Message = string(ApplyFailed), res.scrub.String(perr.Error())
				continue
			}
			remoteKey := pusher.(providers.Provider).Canonical(providers.Ref{Key: d.Match.RemoteRef.RemoteKey}).Key
			did, err := pusher.Push(ctx, providers.Push{Key: remoteKey, Property: d.Match.RemoteRef.Property, Value: values[j], IfNotExists: ps.Updates() == render.PushIfNotExists})
			if err != nil {
				err = fmt.Errorf("push spec.data[%d] to %s: %w", j, key, err)
				errs = append(errs, err)
				row.Reason, row.Message = string(ApplyFailed), res.scrub.String(err.Error())
				continue
			}
			row.Ready, row.Reason = true, string(did)
			if did == providers.Created || did == providers.Updated {
				t := metav1.NewTime(now)
				row.LastPush = &t
				res.Pushed++
				r.event(ctx, pushRef(id), corev1.EventTypeNormal, "Pushed", fmt.Sprintf("%s %s in %s from Secret %s", did, remoteKey, key, row.Secret))
			}
		}
	}
	if len(errs) > 0 {
		err := res.fail(ApplyFailed, fmt.Errorf("PushSecret %s (%s): %w", id, ps.Source, errors.Join(errs...)))
		r.event(ctx, pushRef(id), corev1.EventTypeWarning, "PushFailed", err.Error())
	}
	states[id] = &pushState{sum: sum, last: now, ok: len(errs) == 0, interval: interval,
		srcNS: ps.Namespace, srcName: ps.Spec.Selector.Secret.Name, srcRV: rv}
	return rows
}

// pusher is the provider that writes to the store key names, for a
// PushSecret of namespace ns.
func (r *Reconciler) pusher(ctx context.Context, st *render.SecretStore, key desired.StoreKey, ns string) (providers.Pusher, error) {
	// A store that fails PushProblems is refused before any push; one that
	// left Git since is still missing here.
	if st == nil || !desired.Service(st).Pushes() {
		return nil, fmt.Errorf("%s is not a SecretsManager store in the rendered manifests", key)
	}
	p, err := r.provider(ctx, st, ns)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	pusher, ok := p.(providers.Pusher)
	if !ok {
		return nil, fmt.Errorf("%s cannot be written to", key)
	}
	return pusher, nil
}

// pushPrune deletes, under deletionPolicy Delete, the remote secrets of
// rows no PushSecret in Git pushes any more, behind the guards of Secret
// prune (inventory.PruneGuard: an unreadable record, a render with errors,
// a revision with no PushSecret while the inventory holds pushes, the
// budget). It returns the rows to keep: those
// it was refused or failed to delete. A remote secret some current row
// still pushes to is never deleted.
func (r *Reconciler) pushPrune(ctx context.Context, set *render.Set, stores map[desired.StoreKey]*render.SecretStore, old []PushRow, unreadable bool, current []PushRow, res *Result) []PushRow {
	now := map[string]bool{}
	inUse := map[string]bool{}
	for _, row := range current {
		now[row.key()] = true
		inUse[row.remote()] = true
	}
	var candidates []PushRow
	for _, row := range old {
		// LastPush nil: secretsync never wrote it (IfNotExists found it, or
		// every push failed), so it is not ours to delete.
		if !now[row.key()] && row.Delete && row.LastPush != nil && !inUse[row.remote()] {
			candidates = append(candidates, row)
		}
	}
	verdict := r.pruneGuard(inventory.Prune{Noun: "PushSecret", Unreadable: unreadable,
		RenderErrors: len(set.Errors), Candidates: len(candidates), Recorded: len(old), Rendered: len(set.PushSecrets)})
	if !verdict.Allowed() {
		if verdict.Failure {
			res.fail(PruneFailed, fmt.Errorf("remote delete refused: %s", verdict.Reason))
		}
		if res.PruneSkipped == "" {
			res.PruneSkipped = verdict.Reason
		}
		for _, row := range candidates {
			res.PruneRefused = append(res.PruneRefused, "remote "+row.Store+" "+row.RemoteKey)
		}
		return candidates
	}
	var keep []PushRow
	deleted := map[string]bool{}
	for _, row := range candidates {
		if deleted[row.remote()] {
			continue
		}
		ns, _, _ := strings.Cut(row.PushSecret, "/")
		key := storeKeyOfString(row.Store)
		pusher, err := r.pusher(ctx, stores[key], key, ns)
		if err == nil {
			remoteKey := pusher.(providers.Provider).Canonical(providers.Ref{Key: row.RemoteKey}).Key
			var gone bool
			gone, err = pusher.DeleteRemote(ctx, remoteKey)
			if err == nil {
				deleted[row.remote()] = true
				if !gone {
					res.PushDeleted++
					r.event(ctx, pushRef(row.PushSecret), corev1.EventTypeNormal, "PushDeleted", fmt.Sprintf("deleted %s in %s: PushSecret %s (deletionPolicy Delete) no longer pushes it", remoteKey, row.Store, row.PushSecret))
				}
				continue
			}
			if providers.ClassOf(err) == providers.NotManaged {
				// Never ours to delete: reported once, then forgotten.
				res.fail(PruneFailed, fmt.Errorf("remote delete of %s in %s for PushSecret %s refused: %w", row.RemoteKey, row.Store, row.PushSecret, err))
				continue
			}
		}
		res.fail(PruneFailed, fmt.Errorf("remote delete of %s in %s for PushSecret %s: %w", row.RemoteKey, row.Store, row.PushSecret, err))
		keep = append(keep, row)
	}
	return keep
}

// storeKeyOfString reads back StoreKey.String.
func storeKeyOfString(s string) desired.StoreKey {
	parts := strings.Split(s, "/")
	if len(parts) == 2 {
		return desired.StoreKeyOf(parts[0], "", parts[1])
	}
	if len(parts) == 3 {
		return desired.StoreKeyOf(parts[0], parts[1], parts[2])
	}
	return desired.StoreKey{}
}

// pushed is the record's push rows.
func (o *record) pushed() []PushRow {
	if o.raw == nil {
		return o.Pushed
	}
	var rows []PushRow
	o.fail(streamField(o.raw, "pushed", func(row PushRow) bool { rows = append(rows, row); return true }))
	return rows
}

// ReadPushed hands each the push rows of an inventory ConfigMap's record,
// with its shards, for `secretsync status`.
func ReadPushed(ctx context.Context, kube kubernetes.Interface, cm *corev1.ConfigMap, each func(PushRow)) error {
	raw, err := readRecord(ctx, kube, cm)
	if err != nil {
		return err
	}
	return streamField(raw, "pushed", func(row PushRow) bool { each(row); return true })
}
