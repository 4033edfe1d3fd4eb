package reconciler

import (
	"bytes"
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/secretsync/secretsync/desired"
	"github.com/secretsync/secretsync/providers"
	"github.com/secretsync/secretsync/render"
)

// entry is one remote reference of an ExternalSecret: a data item
// (secretKey set) or a dataFrom extract (secretKey empty).
type entry struct {
	field     string
	store     storeKey
	ref       providers.Ref
	remote    render.RemoteRef
	secretKey string
	find      *render.Find // a dataFrom.find: ref is unset
	rewrite   []render.Rewrite
}

// query is a find entry's selection, in the provider's terms.
func (e entry) query() providers.Query {
	q := providers.Query{Tags: e.find.Tags}
	if e.find.Path != nil {
		q.Path = *e.find.Path
	}
	if e.find.Name != nil {
		q.NameRegexp = e.find.Name.RegExp
	}
	return q
}

// findKey identifies one distinct find across all ExternalSecrets.
type findKey struct {
	store storeKey
	query string
}

func (e entry) findKey() findKey {
	b, _ := json.Marshal(e.query())
	return findKey{e.store, string(b)}
}

type findResult struct {
	found []providers.Found
	err   error
}

type fetchKey struct {
	store storeKey
	ref   providers.Ref
}

// entries lists an ExternalSecret's references in the order ESO applies
// them: dataFrom first, then data, later keys winning. A reference through a
// KMS store is bound to the Secret key it is written to.
func entries(es *render.ExternalSecret, stores map[storeKey]*render.SecretStore) []entry {
	var out []entry
	for i, d := range es.Spec.DataFrom {
		if d.Find != nil {
			out = append(out, entry{
				field:   fmt.Sprintf("spec.dataFrom[%d].find", i),
				store:   storeFor(es, d.SourceRef),
				find:    d.Find,
				rewrite: d.Rewrite,
			})
			continue
		}
		out = append(out, entry{
			field:   fmt.Sprintf("spec.dataFrom[%d].extract", i),
			store:   storeFor(es, d.SourceRef),
			ref:     providers.Ref{Key: d.Extract.Key, Version: d.Extract.Version, Metadata: d.Extract.MetadataPolicy == "Fetch"},
			remote:  *d.Extract,
			rewrite: d.Rewrite,
		})
	}
	for i, d := range es.Spec.Data {
		e := entry{
			field:     fmt.Sprintf("spec.data[%d]", i),
			store:     storeFor(es, d.SourceRef),
			ref:       providers.Ref{Key: d.RemoteRef.Key, Version: d.RemoteRef.Version, Metadata: d.RemoteRef.MetadataPolicy == "Fetch"},
			remote:    d.RemoteRef,
			secretKey: d.SecretKey,
		}
		if st := stores[e.store]; st != nil && desired.IsKMS(st) {
			t := target(es)
			e.ref.Target = providers.Target{Namespace: t.namespace, Secret: t.name, Key: d.SecretKey}
		}
		out = append(out, e)
	}
	return out
}

// storeProviders builds each store's provider at most once per pass:
// building one reads its credentials from the cluster.
type storeProviders struct {
	r      *Reconciler
	stores map[storeKey]*render.SecretStore
	built  map[storeKey]builtProvider
}

type builtProvider struct {
	p   providers.Provider
	err error
}

func (r *Reconciler) storeProviders(stores map[storeKey]*render.SecretStore) *storeProviders {
	return &storeProviders{r: r, stores: stores, built: map[storeKey]builtProvider{}}
}

// get is not safe for concurrent use; the pass builds providers serially.
func (sp *storeProviders) get(ctx context.Context, sk storeKey) (providers.Provider, error) {
	b, ok := sp.built[sk]
	if !ok {
		b.p, b.err = sp.r.provider(ctx, sp.stores[sk])
		if b.err != nil {
			b.err = fmt.Errorf("store %s: %w", sk, b.err)
		}
		sp.built[sk] = b
	}
	return b.p, b.err
}

// findAll runs every distinct find once.
func (r *Reconciler) findAll(ctx context.Context, sp *storeProviders, list []*render.ExternalSecret, refs map[*render.ExternalSecret][]entry) map[findKey]findResult {
	out := map[findKey]findResult{}
	for _, es := range list {
		for _, e := range refs[es] {
			if e.find == nil {
				continue
			}
			k := e.findKey()
			if _, done := out[k]; done {
				continue
			}
			p, err := sp.get(ctx, e.store)
			if err != nil {
				out[k] = findResult{err: err}
				continue
			}
			finder, ok := p.(providers.Finder)
			if !ok {
				out[k] = findResult{err: fmt.Errorf("store %s cannot list secrets for find", e.store)}
				continue
			}
			found, err := finder.Find(ctx, e.query())
			out[k] = findResult{found: found, err: err}
		}
	}
	return out
}

// resolveAll fetches every distinct reference once. References are made
// canonical by their store's provider and grouped by provider identity, so
// stores that share a region and credentials share batches. Stores that
// cannot be built fail all their references with that error.
func (r *Reconciler) resolveAll(ctx context.Context, sp *storeProviders, keys map[fetchKey]struct{}) map[fetchKey]providers.Fetched {
	out := make(map[fetchKey]providers.Fetched, len(keys))
	byStore := map[storeKey][]providers.Ref{}
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
			c := p.Canonical(ref)
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
			mu.Lock()
			defer mu.Unlock()
			for c, askers := range g.refs {
				for _, k := range askers {
					out[k] = got[c]
				}
			}
		}()
	}
	wg.Wait()
	return out
}

// secretData assembles one ExternalSecret's keys from fetched values.
func secretData(es *render.ExternalSecret, refs []entry, found map[findKey]findResult, fetched map[fetchKey]providers.Fetched) (map[string]providers.Value, error) {
	data := map[string]providers.Value{}
	for _, e := range refs {
		if e.find != nil {
			fr := found[e.findKey()]
			if fr.err != nil {
				return nil, fmt.Errorf("%s: %w", e.field, fr.err)
			}
			kv := map[string]providers.Value{}
			for _, it := range fr.found {
				f := fetched[fetchKey{e.store, it.Ref}]
				if f.Err != nil && sourceGone(es, f.Err) {
					continue
				}
				if f.Err != nil {
					return nil, fmt.Errorf("%s: %w", e.field, f.Err)
				}
				v, err := convert(f.Value, render.RemoteRef{DecodingStrategy: e.find.DecodingStrategy})
				if err != nil {
					return nil, fmt.Errorf("%s: %s: %w", e.field, it.Name, err)
				}
				kv[it.Name] = v
			}
			kv, err := renameKeys(kv, e.rewrite, e.find.ConversionStrategy)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", e.field, err)
			}
			for k, v := range kv {
				data[k] = v
			}
			continue
		}
		f := fetched[fetchKey{e.store, e.ref}]
		if f.Err != nil && sourceGone(es, f.Err) {
			continue
		}
		if f.Err != nil {
			return nil, fmt.Errorf("%s: %w", e.field, f.Err)
		}
		var v providers.Value
		var err error
		if e.ref.Metadata && e.remote.Property != "" {
			v, err = tag(f.Value, e.remote.Property)
		} else {
			v, err = providers.Property(f.Value, e.remote.Property)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", e.field, e.ref, err)
		}
		if e.secretKey != "" {
			if v, err = convert(v, e.remote); err != nil {
				return nil, fmt.Errorf("%s: %s: %w", e.field, e.ref, err)
			}
			data[e.secretKey] = v
			continue
		}
		kv, err := providers.Extract(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", e.field, e.ref, err)
		}
		if kv, err = renameKeys(kv, e.rewrite, e.remote.ConversionStrategy); err != nil {
			return nil, fmt.Errorf("%s: %s: %w", e.field, e.ref, err)
		}
		for k, v := range kv {
			if v, err = convert(v, e.remote); err != nil {
				return nil, fmt.Errorf("%s: %s key %q: %w", e.field, e.ref, k, err)
			}
			data[k] = v
		}
	}
	if len(data) == 0 && es.Spec.Target.DeletionPolicy == "Delete" {
		return nil, errAllGone
	}
	return data, nil
}

// sourceGone reports a reference whose remote secret no longer exists under
// deletionPolicy Delete or Merge: its keys are dropped rather than the
// ExternalSecret failing. Retain (the default) keeps the last value instead.
func sourceGone(es *render.ExternalSecret, err error) bool {
	p := es.Spec.Target.DeletionPolicy
	return (p == "Delete" || p == "Merge") && providers.ClassOf(err) == providers.NotFound
}

// convert applies decodingStrategy and nullBytePolicy. Errors never quote
// the value.
func convert(v providers.Value, rr render.RemoteRef) (providers.Value, error) {
	b := v.Bytes()
	switch rr.DecodingStrategy {
	case "Base64":
		d, err := base64.StdEncoding.DecodeString(string(b))
		if err != nil {
			return providers.Value{}, errors.New("decodingStrategy Base64: value is not base64")
		}
		b = d
	case "Base64URL":
		d, err := base64.URLEncoding.DecodeString(string(b))
		if err != nil {
			return providers.Value{}, errors.New("decodingStrategy Base64URL: value is not base64url")
		}
		b = d
	case "Auto":
		if d, err := base64.StdEncoding.DecodeString(string(b)); err == nil {
			b = d
		} else if d, err := base64.URLEncoding.DecodeString(string(b)); err == nil {
			b = d
		}
	}
	if rr.NullBytePolicy == "Fail" && bytes.IndexByte(b, 0) >= 0 {
		return providers.Value{}, errors.New("nullBytePolicy Fail: value contains a null byte")
	}
	return providers.NewValue(b), nil
}

// partSize is how many ExternalSecrets to fetch are resolved together. A
// pass applies one part while it fetches the next, so a cold pass takes
// about as long as its slower half rather than the sum of both.
var partSize = 500 // a variable so that tests can make parts small

// part is a run of whole targets: every writer of a target is in the same
// part, so the checks across writers of one Secret still see them all.
type part struct {
	reused    []desiredSecret
	fresh     []*render.ExternalSecret
	fetched   map[fetchKey]providers.Fetched
	fetchTime time.Duration
}

// split groups ExternalSecrets by target, in target order, into parts of
// about size ExternalSecrets to fetch.
func split(reused []desiredSecret, fresh []*render.ExternalSecret, size int) []*part {
	byTarget := map[targetKey]*part{}
	at := func(t targetKey) *part {
		p := byTarget[t]
		if p == nil {
			p = &part{}
			byTarget[t] = p
		}
		return p
	}
	for _, d := range reused {
		p := at(d.target)
		p.reused = append(p.reused, d)
	}
	for _, es := range fresh {
		p := at(target(es))
		p.fresh = append(p.fresh, es)
	}
	targets := make([]targetKey, 0, len(byTarget))
	for t := range byTarget {
		targets = append(targets, t)
	}
	slices.SortFunc(targets, func(a, b targetKey) int {
		return cmp.Or(cmp.Compare(a.namespace, b.namespace), cmp.Compare(a.name, b.name))
	})
	var parts []*part
	cur := &part{}
	for _, t := range targets {
		p := byTarget[t]
		cur.reused = append(cur.reused, p.reused...)
		cur.fresh = append(cur.fresh, p.fresh...)
		if len(cur.fresh) >= size {
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
func (p *part) keys(refs map[*render.ExternalSecret][]entry, found map[findKey]findResult) map[fetchKey]struct{} {
	keys := map[fetchKey]struct{}{}
	for _, es := range p.fresh {
		for _, e := range refs[es] {
			if e.find == nil {
				keys[fetchKey{e.store, e.ref}] = struct{}{}
				continue
			}
			for _, it := range found[e.findKey()].found {
				keys[fetchKey{e.store, it.Ref}] = struct{}{}
			}
		}
	}
	return keys
}

// fetchParts fetches each part's values in order, one part ahead of the
// reader, and sends it on; the reader must drain the channel. A reference
// several parts need is fetched once and kept only until the last of them
// has it.
func (r *Reconciler) fetchParts(ctx context.Context, sp *storeProviders, refs map[*render.ExternalSecret][]entry, found map[findKey]findResult, parts []*part) <-chan *part {
	keys := make([]map[fetchKey]struct{}, len(parts))
	users := map[fetchKey]int{}
	for i, p := range parts {
		keys[i] = p.keys(refs, found)
		for k := range keys[i] {
			users[k]++
		}
	}
	ch := make(chan *part, 1)
	go func() {
		defer close(ch)
		kept := map[fetchKey]providers.Fetched{}
		for i, p := range parts {
			need := map[fetchKey]struct{}{}
			for k := range keys[i] {
				if _, ok := kept[k]; !ok {
					need[k] = struct{}{}
				}
			}
			start := r.now()
			maps.Copy(kept, r.resolveAll(ctx, sp, need))
			p.fetchTime = r.now().Sub(start)
			p.fetched = make(map[fetchKey]providers.Fetched, len(keys[i]))
			for k := range keys[i] {
				p.fetched[k] = kept[k]
				if users[k]--; users[k] == 0 {
					delete(kept, k)
				}
			}
			ch <- p
		}
	}()
	return ch
}
