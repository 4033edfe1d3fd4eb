package pushsecret

import (
	"context"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/metadata"

	"github.com/secretsync/secretsync/render"
)

var secretsResource = schema.GroupVersionResource{Version: "v1", Resource: "secrets"}

// sourceMatch is one PushSecret's source selection in its namespace: a
// Secret name, or a label selector.
type sourceMatch struct {
	name string
	sel  labels.Selector
}

func (m sourceMatch) matches(name string, lbl map[string]string) bool {
	if m.sel != nil {
		return m.sel.Matches(labels.Set(lbl))
	}
	return m.name == name
}

// watcher is the source watch's state (Watch): what the PushSecrets of
// the last pass read, by namespace, and whether a source changed since.
// Health counts as the drift watch's do: a pass that finds every watch up
// and gen where the last pass read the sources (lastGen) trusts that no
// source changed, and Due GETs none.
type watcher struct {
	mu      sync.Mutex
	sources map[string][]sourceMatch
	changed chan struct{} // the namespaces changed: the watches restart

	running    atomic.Bool
	wanted, up atomic.Int32
	gen        atomic.Int64
	lastGen    atomic.Int64
	dirty      atomic.Bool
	meta       metadata.Interface
}

// trusted reports whether the watches vouch for the sources since lastGen.
func (w *watcher) trusted() bool {
	return w.running.Load() && w.up.Load() == w.wanted.Load() && w.gen.Load() == w.lastGen.Load()
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
// in the namespaces the instance serves (allowed; empty is every one), and
// restarts the watches when the namespaces holding them changed.
func (w *watcher) indexSources(pss []*render.PushSecret, allowed []string) {
	idx := map[string][]sourceMatch{}
	for _, ps := range pss {
		s := ps.Spec.Selector.Secret
		if s == nil || len(allowed) > 0 && !slices.Contains(allowed, ps.Namespace) {
			continue // refused before it is read: never watched
		}
		m := sourceMatch{name: s.Name}
		if s.Selector != nil {
			sel, err := metav1.LabelSelectorAsSelector(s.Selector)
			if err != nil {
				continue // refused by the pass; nothing to watch
			}
			m.sel = sel
		}
		idx[ps.Namespace] = append(idx[ps.Namespace], m)
	}
	w.mu.Lock()
	same := slices.Equal(slices.Sorted(maps.Keys(idx)), slices.Sorted(maps.Keys(w.sources)))
	w.sources = idx
	w.mu.Unlock()
	if !same {
		select {
		case w.changed <- struct{}{}:
		default:
		}
	}
}

// selected reports whether a Secret's metadata matches a source of the
// last pass.
func (w *watcher) selected(ns, name string, lbl map[string]string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, m := range w.sources[ns] {
		if m.matches(name, lbl) {
			return true
		}
	}
	return false
}

// Watch watches, metadata only (never a value), the Secrets of
// each namespace where a PushSecret of the last pass reads its source, and
// calls notify when one it selects is added, changed or deleted: the next
// pass then pushes it, whatever its refreshInterval. It returns when ctx
// ends, restarting its watches when the namespaces change.
func (p *Pusher) Watch(ctx context.Context, notify func()) {
	w := &p.watch
	if w.meta == nil {
		return
	}
	w.running.Store(true)
	defer w.running.Store(false)
	for ctx.Err() == nil {
		w.mu.Lock()
		nss := slices.Sorted(maps.Keys(w.sources))
		w.mu.Unlock()
		wctx, cancel := context.WithCancel(ctx)
		var wg sync.WaitGroup
		w.wanted.Store(int32(len(nss)))
		w.gen.Add(1)
		for _, ns := range nss {
			wg.Go(func() { p.watchSources(wctx, ns, notify) })
		}
		select {
		case <-ctx.Done():
		case <-w.changed:
		}
		cancel()
		wg.Wait()
	}
}

func (p *Pusher) watchSources(ctx context.Context, ns string, notify func()) {
	w := &p.watch
	secrets := w.meta.Resource(secretsResource).Namespace(ns)
	for ctx.Err() == nil {
		// Start from now: a one-item LIST gives the resource version.
		list, err := secrets.List(ctx, metav1.ListOptions{Limit: 1})
		if err == nil {
			var wi watch.Interface
			if wi, err = secrets.Watch(ctx, metav1.ListOptions{ResourceVersion: list.ResourceVersion}); err == nil {
				p.consumeSources(wi, ns, notify)
				continue
			}
		}
		if ctx.Err() == nil {
			p.cfg.Log.Warn().Err(err).Str("namespace", ns).Msg("push source watch failed; retrying")
			select {
			case <-ctx.Done():
			case <-time.After(5 * time.Second):
			}
		}
	}
}

// consumeSources marks the PushSecrets due on each event of a source.
func (p *Pusher) consumeSources(wi watch.Interface, ns string, notify func()) {
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
		if w.selected(ns, m.Name, m.Labels) {
			w.dirty.Store(true)
			p.cfg.Log.Debug().Str("namespace", ns).Str("secret", m.Name).Str("event", string(ev.Type)).Msg("push: a source Secret changed")
			notify()
		}
	}
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}
