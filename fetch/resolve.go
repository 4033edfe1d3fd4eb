package fetch

import (
	"context"
	"sync"

	"github.com/secretsync/secretsync/providers"
)

// fetchKey is one reference as one store serves it.
type fetchKey struct {
	store Served
	ref   providers.Ref
}

// resolve fetches every distinct reference once. References are made
// canonical by their store's provider and grouped by provider identity, so
// stores that share a region and credentials share batches (a referent
// store's namespaces share one only when their credentials are the same
// keys: the same AWS identity). Stores that cannot be built fail all their
// references with that error.
func (f *Fetcher) resolve(ctx context.Context, keys map[fetchKey]struct{}) map[fetchKey]providers.Fetched {
	out := make(map[fetchKey]providers.Fetched, len(keys))
	byStore := map[Served][]providers.Ref{}
	for k := range keys {
		byStore[k.store] = append(byStore[k.store], k.ref)
	}
	type group struct {
		p    providers.Provider
		refs map[providers.Ref][]fetchKey // canonical ref -> who asked
	}
	groups := map[string]*group{}
	for sk, refs := range byStore {
		p, err := f.provider(ctx, sk)
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
			for _, fe := range got {
				if fe.Err == nil {
					f.scrub.Add(fe.Value.Bytes())
				}
			}
			mu.Lock()
			defer mu.Unlock()
			for c, askers := range g.refs {
				fe := got[c]
				fe.Err = f.scrub.Error(fe.Err)
				for _, k := range askers {
					out[k] = fe
				}
			}
		}()
	}
	wg.Wait()
	return out
}
