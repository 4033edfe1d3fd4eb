package fetch

import (
	"cmp"
	"context"
	"hash/maphash"
	"maps"
	"slices"
	"time"

	"github.com/secretsync/secretsync/desired"
	"github.com/secretsync/secretsync/inventory"
	"github.com/secretsync/secretsync/plan"
	"github.com/secretsync/secretsync/providers"
	"github.com/secretsync/secretsync/render"
)

// Pending is an ExternalSecret whose values a pass fetches, with its
// references and resource version (the caller's, carried as it is),
// worked out once.
type Pending struct {
	ES      *render.ExternalSecret
	Refs    []desired.Entry
	Version [16]byte
}

// Part is a run of whole targets: every writer of a target is in the same
// part, so the checks across writers of one Secret still see them all.
// Reused are the caller's ExternalSecrets whose values are not fetched.
type Part[R any] struct {
	Reused    []R
	Fresh     []Pending
	FetchTime time.Duration // spent fetching this part's values
	found     map[findKey]findResult
	fetched   map[fetchKey]providers.Fetched
}

// Split groups ExternalSecrets by target (targetOf gives a reused one's),
// in target order, into parts of about size ExternalSecrets to fetch; the
// writers of one target stay in one part.
func Split[R any](reused []R, targetOf func(R) plan.Target, fresh []Pending, size int) []*Part[R] {
	// One sorted list of positions, not a group per target: at 50,000
	// targets those would be 50,000 small allocations.
	type item struct {
		namespace, name string
		i               int
		fresh           bool
	}
	items := make([]item, 0, len(reused)+len(fresh))
	for i, d := range reused {
		t := targetOf(d)
		items = append(items, item{t.Namespace, t.Name, i, false})
	}
	for i, f := range fresh {
		items = append(items, item{f.ES.Namespace, f.ES.TargetName(), i, true})
	}
	slices.SortStableFunc(items, func(a, b item) int {
		return cmp.Or(cmp.Compare(a.namespace, b.namespace), cmp.Compare(a.name, b.name))
	})
	var parts []*Part[R]
	cur := &Part[R]{}
	for j, it := range items {
		if it.fresh {
			cur.Fresh = append(cur.Fresh, fresh[it.i])
		} else {
			cur.Reused = append(cur.Reused, reused[it.i])
		}
		sameTarget := j+1 < len(items) && items[j+1].namespace == it.namespace && items[j+1].name == it.name
		if len(cur.Fresh) >= size && !sameTarget {
			parts = append(parts, cur)
			cur = &Part[R]{}
		}
	}
	if len(cur.Reused)+len(cur.Fresh) > 0 {
		parts = append(parts, cur)
	}
	return parts
}

// keys lists the references a part's ExternalSecrets need.
func (p *Part[R]) keys() map[fetchKey]struct{} {
	keys := map[fetchKey]struct{}{}
	for _, f := range p.Fresh {
		for _, e := range f.Refs {
			if e.Generator != nil {
				continue // made, not fetched
			}
			if e.Find == nil {
				keys[fetchKey{servedOf(e), e.Ref}] = struct{}{}
				continue
			}
			for _, it := range p.found[findKeyOf(e)].found {
				keys[fetchKey{servedOf(e), it.Ref}] = struct{}{}
			}
		}
	}
	return keys
}

// Parts runs every distinct find of the parts once, then fetches each
// part's values in order, one part ahead of the reader, and sends it on;
// the reader must drain the channel. A reference several parts need is
// fetched once and kept only until the last of them has it.
func Parts[R any](ctx context.Context, f *Fetcher, parts []*Part[R]) <-chan *Part[R] {
	found := findAll(ctx, f, parts)
	// The last part that reads each reference, by a hash of it: one number
	// per reference, rather than every part's references held at once. A
	// collision only keeps a value a little longer.
	seed := maphash.MakeSeed()
	last := map[uint64]int{}
	for i, p := range parts {
		p.found = found
		for k := range p.keys() {
			last[maphash.Comparable(seed, k)] = i
		}
	}
	ch := make(chan *Part[R], 1)
	go func() {
		defer close(ch)
		kept := map[fetchKey]providers.Fetched{}
		for i, p := range parts {
			parts[i] = nil // the reader's from here: let it go once read
			keys := p.keys()
			need := map[fetchKey]struct{}{}
			for k := range keys {
				if _, ok := kept[k]; !ok {
					need[k] = struct{}{}
				}
			}
			start := f.now()
			maps.Copy(kept, f.resolve(ctx, need))
			p.FetchTime = f.now().Sub(start)
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

// Data assembles one of the part's ExternalSecrets' keys from the finds
// and fetches, with gen its generators' values (desired.Assemble).
func (p *Part[R]) Data(pe Pending, gen map[string]map[string]providers.Value) (map[string]providers.Value, error) {
	return desired.Assemble(pe.ES, pe.Refs,
		func(e desired.Entry) ([]providers.Found, error) { fr := p.found[findKeyOf(e)]; return fr.found, fr.err },
		func(e desired.Entry, ref providers.Ref) providers.Fetched {
			return p.fetched[fetchKey{servedOf(e), ref}]
		},
		func(e desired.Entry) (map[string]providers.Value, error) { return gen[e.Field], nil })
}

// Versions lists the version ids one of the part's ExternalSecrets'
// values came from.
func (p *Part[R]) Versions(pe Pending) inventory.Versions {
	var out inventory.Versions
	add := func(e desired.Entry, ref providers.Ref, name string) {
		if f := p.fetched[fetchKey{servedOf(e), ref}]; f.VersionID != "" {
			out = out.Set(name, f.VersionID)
		}
	}
	for _, e := range pe.Refs {
		if e.Generator != nil {
			continue
		}
		if e.Find == nil {
			add(e, e.Ref, e.Ref.String())
			continue
		}
		for _, it := range p.found[findKeyOf(e)].found {
			add(e, it.Ref, it.Name)
		}
	}
	return out
}
