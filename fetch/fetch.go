// Package fetch finds and fetches the remote values of one pass's
// ExternalSecrets: every distinct find and reference once, references
// batched per provider identity, in parts of whole targets, one part ahead
// of its reader. It writes nothing and decides nothing about Secrets; a
// provider is built by the caller's Build (the reconciler builds it
// through cluster.Scoped), and every value is learned by the pass's
// redactor as it comes in.
package fetch

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/secretsync/secretsync/desired"
	"github.com/secretsync/secretsync/internal/scrub"
	"github.com/secretsync/secretsync/providers"
	"github.com/secretsync/secretsync/render"
)

// Served is a store as it serves one entry: its key, and for a referent
// store the namespace whose credentials it uses (desired.Entry.Serving).
// Providers are built, and references fetched and shared, per Served.
type Served struct {
	Store   desired.StoreKey
	Serving string
}

func (s Served) String() string {
	if s.Serving == "" {
		return s.Store.String()
	}
	return s.Store.String() + " (for namespace " + s.Serving + ")"
}

func servedOf(e desired.Entry) Served { return Served{e.Store, e.Serving} }

// Build builds the provider of a store serving ExternalSecrets of
// namespace serving ("" unless the store is render.Referent).
type Build func(ctx context.Context, st *render.SecretStore, serving string) (providers.Provider, error)

// Fetcher fetches one pass's values. It builds each store's provider at
// most once (a referent store's once per served namespace): building one
// reads its credentials from the cluster.
type Fetcher struct {
	stores map[desired.StoreKey]*render.SecretStore
	build  Build
	scrub  *scrub.Redactor
	now    func() time.Time
	built  map[Served]builtProvider
	found  map[findKey]findResult
}

type builtProvider struct {
	p   providers.Provider
	err error
}

// New returns the Fetcher of one pass: stores are the rendered stores by
// key, scrub the pass's redactor (it learns every fetched value), now the
// pass's clock (for Part.FetchTime).
func New(stores map[desired.StoreKey]*render.SecretStore, build Build, scrub *scrub.Redactor, now func() time.Time) *Fetcher {
	return &Fetcher{stores: stores, build: build, scrub: scrub, now: now, built: map[Served]builtProvider{}}
}

// provider is not safe for concurrent use; a pass builds providers serially.
func (f *Fetcher) provider(ctx context.Context, sk Served) (providers.Provider, error) {
	b, ok := f.built[sk]
	if !ok {
		b.p, b.err = f.build(ctx, f.stores[sk.Store], sk.Serving)
		if b.err != nil {
			b.err = fmt.Errorf("store %s: %w", sk, b.err)
		}
		f.built[sk] = b
	}
	return b.p, b.err
}

// findKey identifies one distinct find across all ExternalSecrets.
type findKey struct {
	store Served
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

// findAll runs every distinct find of the parts' ExternalSecrets once.
func findAll[R any](ctx context.Context, f *Fetcher, parts []*Part[R]) map[findKey]findResult {
	out := map[findKey]findResult{}
	for _, part := range parts {
		for _, pe := range part.Fresh {
			for _, e := range pe.Refs {
				if e.Find == nil {
					continue
				}
				k := findKeyOf(e)
				if _, done := out[k]; done {
					continue
				}
				p, err := f.provider(ctx, k.store)
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
	}
	return out
}
