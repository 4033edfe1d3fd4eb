package reconciler

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"hash/maphash"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/secretsync/secretsync/desired"
	"github.com/secretsync/secretsync/providers"
	"github.com/secretsync/secretsync/render"
)

// served is a store as it serves one entry: its key, and for a referent
// store the namespace whose credentials it uses (desired.Entry.Serving).
// Providers are built, and references fetched and shared, per served.
type served struct {
	store   desired.StoreKey
	serving string
}

func (s served) String() string {
	if s.serving == "" {
		return s.store.String()
	}
	return s.store.String() + " (for namespace " + s.serving + ")"
}

func servedOf(e desired.Entry) served { return served{e.Store, e.Serving} }

// findKey identifies one distinct find across all ExternalSecrets.
type findKey struct {
	store served
	query string
}

func findKeyOf(e desired.Entry) findKey {
	b, _ := json.Marshal(e.Query())
	return findKey{servedOf(e), string(b)}
}

type findResult struct {
	found []providers.Found
	err   error
}

type fetchKey struct {
	store served
	ref   providers.Ref
}

// storeProviders builds each store's provider at most once per pass (a
// referent store's once per served namespace): building one reads its
// credentials from the cluster.
type storeProviders struct {
	r      *Reconciler
	stores map[desired.StoreKey]*render.SecretStore
	built  map[served]builtProvider
}

type builtProvider struct {
	p   providers.Provider
	err error
}

func (r *Reconciler) storeProviders(stores map[desired.StoreKey]*render.SecretStore) *storeProviders {
	return &storeProviders{r: r, stores: stores, built: map[served]builtProvider{}}
}

// get is not safe for concurrent use; the pass builds providers serially.
func (sp *storeProviders) get(ctx context.Context, sk served) (providers.Provider, error) {
	b, ok := sp.built[sk]
	if !ok {
		b.p, b.err = sp.r.provider(ctx, sp.stores[sk.store], sk.serving)
		if b.err != nil {
			b.err = fmt.Errorf("store %s: %w", sk, b.err)
		}
		sp.built[sk] = b
	}
	return b.p, b.err
}

// findAll runs every distinct find once.
func (r *Reconciler) findAll(ctx context.Context, sp *storeProviders, list []pending) map[findKey]findResult {
	out := map[findKey]findResult{}
	for _, f := range list {
		for _, e := range f.refs {
			if e.Find == nil {
				continue
			}
			k := findKeyOf(e)
			if _, done := out[k]; done {
				continue
			}
			p, err := sp.get(ctx, k.store)
			if err != nil {
				out[k] = findResult{err: err}
				continue
			}
			finder, ok := p.(providers.Finder)
			if !ok {
				out[k] = findResult{err: fmt.Errorf("store %s cannot list secrets for find", e.Store)}
				continue
			}
			found, err := finder.Find(ctx, e.Query())
			out[k] = findResult{found: found, err: err}
		}
	}
	return out
}

// resolveAll fetches every distinct reference once. References are made
// canonical by their store's provider and grouped by provider identity, so
// stores that share a region and credentials share batches (a referent
// store's namespaces share one only when their credentials are the same
// keys: the same AWS identity). Stores that cannot be built fail all their
// references with that error.
func (r *Reconciler) resolveAll(ctx context.Context, sp *storeProviders, keys map[fetchKey]struct{}) map[fetchKey]providers.Fetched {
	out := make(map[fetchKey]providers.Fetched, len(keys))
	byStore := map[served][]providers.Ref{}
	for k := range keys {
		byStore[k.store] = append(byStore[k.store], k.ref)
	}
	type group struct {
		p    providers.Provider
		refs map[providers.Ref][]fetchKey // canonical ref -> who asked
	}
	groups := map[string]*group{}
	for sk, refs := range byStore {
		p, err := sp.get(ctx, sk)
		if err != nil {
			for _, ref := range refs {
				out[fetchKey{sk, ref}] = providers.Fetched{Err: err}
			}
			continue
		}
		g := groups[p.ID()]
		if g == nil {
			g = &group{p: p, refs: map[providers.Ref][]fetchKey{}}
			groups[p.ID()] = g
		}
		for _, ref := range refs {
			c := ref
			if !ref.Found {
				c = p.Canonical(ref)
			}
			g.refs[c] = append(g.refs[c], fetchKey{sk, ref})
		}
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, g := range groups {
		wg.Add(1)
		go func() {
			defer wg.Done()
			refs := make([]providers.Ref, 0, len(g.refs))
			for c := range g.refs {
				refs = append(refs, c)
			}
			got := g.p.Resolve(ctx, refs)
			// The values first, so that an error the provider returned
			// beside them is scrubbed of them too, before anything wraps it.
			for _, f := range got {
				if f.Err == nil {
					r.scrub.Add(f.Value.Bytes())
				}
			}
			mu.Lock()
			defer mu.Unlock()
			for c, askers := range g.refs {
				f := got[c]
				f.Err = r.scrub.Error(f.Err)
				for _, k := range askers {
					out[k] = f
				}
			}
		}()
	}
	wg.Wait()
	return out
}

// secretData assembles one ExternalSecret's keys from this pass's finds
// and fetches (desired.Assemble).
func secretData(es *render.ExternalSecret, refs []desired.Entry, found map[findKey]findResult, fetched map[fetchKey]providers.Fetched, gen map[string]map[string]providers.Value) (map[string]providers.Value, error) {
	return desired.Assemble(es, refs,
		func(e desired.Entry) ([]providers.Found, error) { fr := found[findKeyOf(e)]; return fr.found, fr.err },
		func(e desired.Entry, ref providers.Ref) providers.Fetched { return fetched[fetchKey{servedOf(e), ref}] },
		func(e desired.Entry) (map[string]providers.Value, error) { return gen[e.Field], nil })
}

// partSize is how many ExternalSecrets to fetch are resolved together. A
// pass applies one part while it fetches the next, so a cold pass takes
// about as long as its slower half rather than the sum of both.
var partSize = 500 // a variable so that tests can make parts small

// part is a run of whole targets: every writer of a target is in the same
// part, so the checks across writers of one Secret still see them all.
type part struct {
	reused    []desiredSecret
	fresh     []pending
	fetched   map[fetchKey]providers.Fetched
	fetchTime time.Duration
}

// pending is an ExternalSecret whose values a pass fetches, with its
// references and resource version, worked out once.
type pending struct {
	es      *render.ExternalSecret
	refs    []desired.Entry
	version resourceVersion
}

// split groups ExternalSecrets by target, in target order, into parts of
// about size ExternalSecrets to fetch; the writers of one target stay in
// one part.
func split(reused []desiredSecret, fresh []pending, size int) []*part {
	// One sorted list of positions, not a group per target: at 50,000
	// targets those would be 50,000 small allocations.
	type item struct {
		t     targetKey
		i     int
		fresh bool
	}
	items := make([]item, 0, len(reused)+len(fresh))
	for i, d := range reused {
		items = append(items, item{d.target, i, false})
	}
	for i, f := range fresh {
		items = append(items, item{target(f.es), i, true})
	}
	slices.SortStableFunc(items, func(a, b item) int {
		return cmp.Or(cmp.Compare(a.t.namespace, b.t.namespace), cmp.Compare(a.t.name, b.t.name))
	})
	var parts []*part
	cur := &part{}
	for j, it := range items {
		if it.fresh {
			cur.fresh = append(cur.fresh, fresh[it.i])
		} else {
			cur.reused = append(cur.reused, reused[it.i])
		}
		sameTarget := j+1 < len(items) && items[j+1].t.namespace == it.t.namespace && items[j+1].t.name == it.t.name
		if len(cur.fresh) >= size && !sameTarget {
			parts = append(parts, cur)
			cur = &part{}
		}
	}
	if len(cur.reused)+len(cur.fresh) > 0 {
		parts = append(parts, cur)
	}
	return parts
}

// keys lists the references a part's ExternalSecrets need.
func (p *part) keys(found map[findKey]findResult) map[fetchKey]struct{} {
	keys := map[fetchKey]struct{}{}
	for _, f := range p.fresh {
		for _, e := range f.refs {
			if e.Generator != nil {
				continue // made, not fetched (generate.go)
			}
			if e.Find == nil {
				keys[fetchKey{servedOf(e), e.Ref}] = struct{}{}
				continue
			}
			for _, it := range found[findKeyOf(e)].found {
				keys[fetchKey{servedOf(e), it.Ref}] = struct{}{}
			}
		}
	}
	return keys
}

// fetchParts fetches each part's values in order, one part ahead of the
// reader, and sends it on; the reader must drain the channel. A reference
// several parts need is fetched once and kept only until the last of them
// has it.
func (r *Reconciler) fetchParts(ctx context.Context, sp *storeProviders, found map[findKey]findResult, parts []*part) <-chan *part {
	// The last part that reads each reference, by a hash of it: one number
	// per reference, rather than every part's references held at once. A
	// collision only keeps a value a little longer.
	seed := maphash.MakeSeed()
	last := map[uint64]int{}
	for i, p := range parts {
		for k := range p.keys(found) {
			last[maphash.Comparable(seed, k)] = i
		}
	}
	ch := make(chan *part, 1)
	go func() {
		defer close(ch)
		kept := map[fetchKey]providers.Fetched{}
		for i, p := range parts {
			parts[i] = nil // the reader's from here: let it go once read
			keys := p.keys(found)
			need := map[fetchKey]struct{}{}
			for k := range keys {
				if _, ok := kept[k]; !ok {
					need[k] = struct{}{}
				}
			}
			start := r.now()
			maps.Copy(kept, r.resolveAll(ctx, sp, need))
			p.fetchTime = r.now().Sub(start)
			p.fetched = make(map[fetchKey]providers.Fetched, len(keys))
			for k := range keys {
				p.fetched[k] = kept[k]
				if last[maphash.Comparable(seed, k)] == i {
					delete(kept, k)
				}
			}
			ch <- p
		}
	}()
	return ch
}
