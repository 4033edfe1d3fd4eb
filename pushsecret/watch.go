package pushsecret

import (
	"context"
	"crypto/sha256"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/metadata"

	"github.com/secretsync/secretsync/cluster"
	"github.com/secretsync/secretsync/desired"
	"github.com/secretsync/secretsync/render"
)

var secretsResource = schema.GroupVersionResource{Version: "v1", Resource: "secrets"}

// maxFilteredWatches bounds the server-side filtered watches of one
// namespace: a namespace whose PushSecrets name more Secrets and selectors
// than this gets one watch of all its Secrets instead.
const maxFilteredWatches = 8

// maxSourceWatches bounds the source watches of every namespace together:
// a namespace need not exist to be watched, so a repo writer's PushSecret
// in each of thousands of namespaces would open as many long-lived
// watches on the API server. Past it none is opened and the watch vouches
// for nothing: Due reads the sources on each poll, as without a watch.
const maxSourceWatches = 1000

// sourceMatch is one PushSecret's source selection in its namespace: a
// Secret name, or a label selector (as written, and parsed); asker is that
// PushSecret, whose scope the watch reads the Secret through.
type sourceMatch struct {
	name     string
	selector *metav1.LabelSelector
	sel      labels.Selector
	asker    render.Asker
}

func (m sourceMatch) matches(name string, lbl map[string]string) bool {
	if m.sel != nil {
		return m.sel.Matches(labels.Set(lbl))
	}
	return m.name == name
}

// watchUnit is one watch of a namespace's Secrets, filtered by the API
// server: by one source's name (field) or label selector (label), or
// neither (every Secret of the namespace, when it needs more than
// maxFilteredWatches).
type watchUnit struct {
	ns, field, label string
}

// covers reports whether u's watch sees the Secrets m selects.
func (u watchUnit) covers(m sourceMatch) bool {
	switch {
	case u.field == "" && u.label == "":
		return true
	case m.sel != nil:
		return u.label == m.sel.String()
	}
	return u.field == nameField(m.name)
}

func nameField(name string) string {
	return fields.OneTermEqualSelector("metadata.name", name).String()
}

// unitsOf are the watches that see every Secret ms select in ns.
func unitsOf(ns string, ms []sourceMatch) []watchUnit {
	set := map[watchUnit]bool{}
	for _, m := range ms {
		u := watchUnit{ns: ns, field: nameField(m.name)}
		if m.sel != nil {
			u = watchUnit{ns: ns, label: m.sel.String()}
		}
		if u.field == "" && u.label == "" { // a selector of every Secret
			return []watchUnit{{ns: ns}}
		}
		set[u] = true
	}
	if len(set) > maxFilteredWatches {
		return []watchUnit{{ns: ns}}
	}
	return slices.SortedFunc(maps.Keys(set), func(a, b watchUnit) int {
		return strings.Compare(a.field+"\x00"+a.label, b.field+"\x00"+b.label)
	})
}

// watcher is the source watch's state (Watch): what the PushSecrets of
// the last pass read, by namespace, the watches that see them, what the
// watch last read of each source, and whether a source changed since.
// Health counts as the drift watch's do: a pass that finds every watch up
// and gen where the last pass read the sources (lastGen) trusts that no
// source changed, and Due GETs none.
type watcher struct {
	mu      sync.Mutex
	sources map[string][]sourceMatch
	units   []watchUnit
	// known holds, by namespace/name, what the watch last read of each
	// source Secret: an event that leaves it as it was (a write of
	// annotations or managedFields only) asks for no pass.
	known   map[string]seenSource
	changed chan struct{} // the watches changed: they restart
	// own are secretsync's own namespaces: their PushSecrets are refused,
	// so never watched.
	own []string

	running    atomic.Bool
	over       atomic.Bool // more than maxSourceWatches: none is opened
	wanted, up atomic.Int32
	gen        atomic.Int64
	lastGen    atomic.Int64
	dirty      atomic.Bool
	meta       metadata.Interface
}

// trusted reports whether the watches vouch for the sources since lastGen.
func (w *watcher) trusted() bool {
	return w.running.Load() && !w.over.Load() && w.up.Load() == w.wanted.Load() && w.gen.Load() == w.lastGen.Load()
}

// SetMetadataClient gives the Pusher the metadata-only client its source
// watch uses (Watch); without one that watch does not run and Due reads
// every source on each poll.
func (p *Pusher) SetMetadataClient(m metadata.Interface) { p.watch.meta = m }

// WatchUp reports every source watch the last pass asked for running.
func (p *Pusher) WatchUp() bool {
	w := &p.watch
	return w.running.Load() && w.wanted.Load() > 0 && w.up.Load() == w.wanted.Load()
}

// indexSources records, after a pass, the sources its PushSecrets select
// in the namespaces the instance serves (allowed; empty is every one) and
// not its own, and restarts the watches when the sources changed.
func (w *watcher) indexSources(pss []*render.PushSecret, allowed []string) {
	idx := map[string][]sourceMatch{}
	for _, ps := range pss {
		s := ps.Spec.Selector.Secret
		if s == nil || !desired.NamespaceAllowed(allowed, ps.Namespace) || slices.Contains(w.own, ps.Namespace) {
			continue // refused before it is read: never watched
		}
		m := sourceMatch{name: s.Name, asker: asker(ps)}
		if s.Selector != nil {
			sel, err := metav1.LabelSelectorAsSelector(s.Selector)
			if err != nil {
				continue // refused by the pass; nothing to watch
			}
			m.selector, m.sel = s.Selector, sel
		}
		idx[ps.Namespace] = append(idx[ps.Namespace], m)
	}
	var units []watchUnit
	for _, ns := range slices.Sorted(maps.Keys(idx)) {
		units = append(units, unitsOf(ns, idx[ns])...)
	}
	w.over.Store(len(units) > maxSourceWatches)
	if w.over.Load() {
		units = nil
	}
	w.mu.Lock()
	same := slices.Equal(units, w.units) && selections(idx) == selections(w.sources)
	w.sources, w.units = idx, units
	w.mu.Unlock()
	if !same {
		select {
		case w.changed <- struct{}{}:
		default:
		}
	}
}

// selections is idx's selections in one comparable form.
func selections(idx map[string][]sourceMatch) string {
	var b strings.Builder
	for _, ns := range slices.Sorted(maps.Keys(idx)) {
		for _, m := range idx[ns] {
			sel := ""
			if m.sel != nil {
				sel = m.sel.String()
			}
			fmt.Fprintf(&b, "%s\x00%s\x00%s\x00%q\x01", ns, m.asker.Name, m.name, sel)
		}
	}
	return b.String()
}

// seenSource is what the watch read of a source Secret: a digest of its
// type and data, and the selections it was in (one Secret may be the
// source of several PushSecrets: joining or leaving any one changes what
// that one pushes, with the same data).
type seenSource struct {
	sum [32]byte
	by  string
}

// selecting returns a PushSecret that selects a Secret with this metadata
// among the last pass's sources, if any, and every selection it is in.
func (w *watcher) selecting(ns, name string, lbl map[string]string) (who render.Asker, by string, selected bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	var b strings.Builder
	for i, m := range w.sources[ns] {
		if m.matches(name, lbl) {
			if !selected {
				who, selected = m.asker, true
			}
			fmt.Fprintf(&b, "%d,", i)
		}
	}
	return who, b.String(), selected
}

// Watch watches, metadata only, the Secrets the PushSecrets of the last
// pass read, each namespace's filtered by the API server (unitsOf), and
// calls notify when one is added to or leaves a selection, is deleted,
// or its data changes: the next pass then pushes it, whatever its
// refreshInterval. It returns when ctx ends, restarting its watches when
// the sources change.
func (p *Pusher) Watch(ctx context.Context, notify func()) {
	w := &p.watch
	if w.meta == nil {
		return
	}
	w.running.Store(true)
	defer w.running.Store(false)
	for ctx.Err() == nil {
		w.mu.Lock()
		units := w.units
		w.known = map[string]seenSource{}
		w.mu.Unlock()
		wctx, cancel := context.WithCancel(ctx)
		var wg sync.WaitGroup
		w.wanted.Store(int32(len(units)))
		w.gen.Add(1)
		for _, u := range units {
			wg.Go(func() { p.watchUnit(wctx, u, notify) })
		}
		select {
		case <-ctx.Done():
		case <-w.changed:
		}
		cancel()
		wg.Wait()
	}
}

// watchUnit runs u's watch until ctx ends. Each start reads the sources
// it sees (learn) after the LIST that gives the version it watches from,
// so no change falls between; a change before that is Due's to find (the
// start bumps gen, so the next Due reads every source).
func (p *Pusher) watchUnit(ctx context.Context, u watchUnit, notify func()) {
	w := &p.watch
	secrets := w.meta.Resource(secretsResource).Namespace(u.ns)
	opts := metav1.ListOptions{FieldSelector: u.field, LabelSelector: u.label}
	for ctx.Err() == nil {
		first := opts
		first.Limit = 1
		list, err := secrets.List(ctx, first)
		if err == nil {
			p.learn(ctx, u)
			from := opts
			from.ResourceVersion = list.ResourceVersion
			var wi watch.Interface
			if wi, err = secrets.Watch(ctx, from); err == nil {
				p.consumeSources(ctx, wi, u.ns, notify)
				continue
			}
		}
		if ctx.Err() == nil {
			p.cfg.Log.Warn().Err(err).Str("namespace", u.ns).Msg("push source watch failed; retrying")
			sleep(ctx, 5*time.Second)
		}
	}
}

// learn reads, through each PushSecret's scope, the sources u sees, and
// keeps the digest of each one found.
func (p *Pusher) learn(ctx context.Context, u watchUnit) {
	w := &p.watch
	w.mu.Lock()
	ms := slices.Clone(w.sources[u.ns])
	w.mu.Unlock()
	for _, m := range ms {
		if !u.covers(m) {
			continue
		}
		found, err := readSources(ctx, cluster.NewScoped(p.cfg.Kube, m.asker, nil), m.name, m.selector)
		if err != nil {
			continue // unknown: its first event asks for a pass
		}
		for i := range found {
			_, by, _ := w.selecting(u.ns, found[i].Name, found[i].Labels)
			w.mu.Lock()
			w.known[u.ns+"/"+found[i].Name] = seenSource{digestOf(&found[i]), by}
			w.mu.Unlock()
		}
	}
}

// digestOf is a digest of what a PushSecret reads of a Secret: its type
// and data. It stays in memory, in the watch's state alone.
func digestOf(s *corev1.Secret) [32]byte {
	h := sha256.New()
	fmt.Fprintf(h, "%d:%s", len(s.Type), s.Type)
	for _, k := range slices.Sorted(maps.Keys(s.Data)) {
		fmt.Fprintf(h, "%d:%s%d:", len(k), k, len(s.Data[k]))
		h.Write(s.Data[k])
	}
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// consumeSources marks the PushSecrets due on each event that changes a
// source (sourceChanged).
func (p *Pusher) consumeSources(ctx context.Context, wi watch.Interface, ns string, notify func()) {
	w := &p.watch
	w.up.Add(1)
	w.gen.Add(1)
	defer func() {
		wi.Stop()
		w.up.Add(-1)
		w.gen.Add(1) // a gap: the next poll reads the sources again
	}()
	for ev := range wi.ResultChan() {
		m, ok := ev.Object.(*metav1.PartialObjectMetadata)
		if !ok || ev.Type == watch.Bookmark {
			continue
		}
		if p.sourceChanged(ctx, ns, m, ev.Type == watch.Deleted) {
			w.dirty.Store(true)
			p.cfg.Log.Debug().Str("namespace", ns).Str("secret", m.Name).Str("event", string(ev.Type)).Msg("push: a source Secret changed")
			notify()
		}
	}
}

// sourceChanged reports whether an event of Secret m of ns changes what a
// PushSecret reads: it joins or leaves a selection (a filtered watch says
// Deleted when a Secret stops matching), is deleted, or its type or data
// differ from what the watch last read, read again through the selecting
// PushSecret's scope. An event that changed only its metadata (secretsync's
// own apply of an ExternalSecret target with the same data, annotations,
// managedFields) changes nothing.
func (p *Pusher) sourceChanged(ctx context.Context, ns string, m *metav1.PartialObjectMetadata, deleted bool) bool {
	w := &p.watch
	key := ns + "/" + m.Name
	who, by, selected := w.selecting(ns, m.Name, m.Labels)
	w.mu.Lock()
	old, known := w.known[key]
	w.mu.Unlock()
	forget := func() {
		w.mu.Lock()
		delete(w.known, key)
		w.mu.Unlock()
	}
	switch {
	case deleted:
		forget()
		return known || selected
	case !selected:
		forget()
		return known
	}
	s, err := cluster.NewScoped(p.cfg.Kube, who, nil).SecretObject(ctx, "", m.Name)
	switch {
	case apierrors.IsNotFound(err): // gone since: its Deleted event follows
		forget()
		return known
	case err != nil: // unread: ask for the pass, which reads it (unless the watch is ending)
		forget()
		return ctx.Err() == nil
	}
	seen := seenSource{digestOf(s), by}
	w.mu.Lock()
	w.known[key] = seen
	w.mu.Unlock()
	return !known || old != seen
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}
