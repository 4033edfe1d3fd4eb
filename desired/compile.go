package desired

import (
	"errors"
	"fmt"
	"strings"

	"github.com/secretsync/secretsync/render"
)

// Options are what Compile needs to know about where the manifests run.
type Options struct {
	// Namespaces secretsync may write to; empty allows all.
	Namespaces []string
	// NamespaceLabels reads namespace labels for store conditions; nil
	// offline (review), where a namespaceSelector counts as a match.
	NamespaceLabels NamespaceLabels
	// OwnNamespaces are secretsync's own, where nothing may merge
	// (ForcedWriteProblem) nor push from (PushProblems); none when unknown.
	OwnNamespaces []string
}

// Item is one ExternalSecret as run treats it: its references, and the
// problems for which run refuses it without asking AWS.
type Item struct {
	ES       *render.ExternalSecret
	Entries  []Entry
	Problems []Problem
}

// Problem is one reason an ExternalSecret is refused.
type Problem struct {
	Field string // where in the manifest; empty for the object as a whole
	Err   error
	// BrokenStore, when set, is a store the rendered set holds only as an
	// error: the problem is that store's, reported once on the store.
	BrokenStore *StoreKey
}

func (p Problem) Error() string {
	if p.Field == "" {
		return p.Err.Error()
	}
	return p.Field + ": " + p.Err.Error()
}

// Compile decides, for every ExternalSecret of set, what run will do
// without asking AWS: the namespaces it may write to, the stores each
// entry names (present, decoded, allowed to serve it, KMS rules) and the
// writers of one Secret. Both run and validate use it.
func Compile(set *render.Set, opt Options) []Item {
	c := NewCompiler(set, opt)
	items := make([]Item, 0, len(set.ExternalSecrets))
	for _, es := range set.ExternalSecrets {
		items = append(items, c.Item(es))
	}
	return items
}

// Compiler is Compile one ExternalSecret at a time: a pass compiles each
// as it reaches it, so that it never holds the references of the whole
// set at once (at 50,000 ExternalSecrets they are tens of MiB).
type Compiler struct {
	opt        Options
	stores     map[StoreKey]*render.SecretStore
	broken     map[StoreKey]bool
	brokenGen  map[GeneratorKey]bool
	conflicts  map[*render.ExternalSecret]Conflict
	generators map[GeneratorKey]*render.Generator
}

// NewCompiler indexes set's stores, generators, errors and conflicts.
func NewCompiler(set *render.Set, opt Options) *Compiler {
	c := &Compiler{opt: opt, stores: IndexStores(set), broken: map[StoreKey]bool{}, brokenGen: map[GeneratorKey]bool{},
		conflicts: map[*render.ExternalSecret]Conflict{}, generators: IndexGenerators(set)}
	for _, e := range set.Errors {
		if IsStoreKind(e.Kind) {
			c.broken[StoreKeyOf(e.Kind, e.Namespace, e.Name)] = true
		}
		c.brokenGen[GeneratorKey{e.Namespace, e.Kind, e.Name}] = true
	}
	for _, cf := range Conflicts(set) {
		for _, es := range cf.Writers {
			if _, seen := c.conflicts[es]; !seen {
				c.conflicts[es] = cf
			}
		}
	}
	return c
}

// Item compiles one ExternalSecret of the set.
func (c *Compiler) Item(es *render.ExternalSecret) Item {
	opt, stores, broken, brokenGen, conflicts, generators := c.opt, c.stores, c.broken, c.brokenGen, c.conflicts, c.generators
	it := Item{ES: es, Entries: Entries(es, stores)}
	if !NamespaceAllowed(opt.Namespaces, es.Namespace) {
		it.Problems = append(it.Problems, Problem{Field: "metadata.namespace",
			Err: fmt.Errorf("namespace %s is not one secretsync may write to (--namespaces %s)", es.Namespace, strings.Join(opt.Namespaces, ","))})
	}
	if err := ForcedWriteProblem(es, opt.OwnNamespaces, ""); err != nil {
		it.Problems = append(it.Problems, Problem{Field: "spec.target.creationPolicy", Err: err})
	}
	if cf, ok := conflicts[es]; ok {
		it.Problems = append(it.Problems, Problem{Field: "spec.target", Err: cf})
	}
	type use struct {
		store    StoreKey
		dataFrom bool
	}
	seen := map[use]bool{} // one problem per store and kind of entry
	for _, e := range it.Entries {
		if e.Generator != nil {
			if brokenGen[*e.Generator] {
				it.Problems = append(it.Problems, Problem{Field: e.Field, Err: fmt.Errorf("generator %s is invalid; its own error says why", e.Generator)})
				continue
			}
			if err := GeneratorProblem(es, *e.Generator, generators); err != nil {
				it.Problems = append(it.Problems, Problem{Field: e.Field, Err: err})
			}
			continue
		}
		if st := stores[e.Store]; st != nil && e.SecretKey != "" {
			if err := Service(st).RefProblem(e.Remote.Property, e.Remote.Version, e.Remote.MetadataPolicy == "Fetch"); err != nil {
				it.Problems = append(it.Problems, Problem{Field: e.Field + ".remoteRef", Err: err})
			}
		}
		u := use{e.Store, e.SecretKey == ""}
		if seen[u] {
			continue
		}
		seen[u] = true
		if broken[e.Store] {
			k := e.Store
			it.Problems = append(it.Problems, Problem{Field: e.Field, BrokenStore: &k,
				Err: errors.New(k.String() + " is invalid; its own error says why")})
			continue
		}
		if err := StoreProblem(stores[e.Store], e.Store, es.Namespace, e.SecretKey == "", opt.NamespaceLabels); err != nil {
			it.Problems = append(it.Problems, Problem{Field: e.Field, Err: err})
		}
	}
	return it
}
