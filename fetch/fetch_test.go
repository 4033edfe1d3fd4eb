package fetch_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/secretsync/secretsync/desired"
	"github.com/secretsync/secretsync/fetch"
	"github.com/secretsync/secretsync/internal/leaktest"
	"github.com/secretsync/secretsync/internal/scrub"
	"github.com/secretsync/secretsync/plan"
	"github.com/secretsync/secretsync/providers"
	"github.com/secretsync/secretsync/render"
)

// backend is a fake remote: values and errors by canonical key, and every
// batch and find it was asked for.
type backend struct {
	values  map[string]string
	errs    map[string]error
	mu      sync.Mutex
	batches [][]string
	finds   []string
}

// provider is a store's view of a backend: refs get the store's prefix;
// providers of one id share batches.
type provider struct {
	b      *backend
	id     string
	prefix string
}

func (p *provider) ID() string { return p.id }

func (p *provider) Canonical(r providers.Ref) providers.Ref {
	r.Key = p.prefix + r.Key
	return r
}

func (p *provider) Resolve(_ context.Context, refs []providers.Ref) map[providers.Ref]providers.Fetched {
	out := map[providers.Ref]providers.Fetched{}
	var keys []string
	for _, r := range refs {
		keys = append(keys, r.Key)
		switch v, ok := p.b.values[r.Key]; {
		case p.b.errs[r.Key] != nil:
			out[r] = providers.Fetched{Err: p.b.errs[r.Key]}
		case ok:
			out[r] = providers.Fetched{Value: providers.NewValue([]byte(v)), VersionID: "v-" + r.Key}
		default:
			out[r] = providers.Fetched{Err: &providers.Error{Class: providers.NotFound, Ref: r.Key, Err: errors.New("gone")}}
		}
	}
	slices.Sort(keys)
	p.b.mu.Lock()
	defer p.b.mu.Unlock()
	p.b.batches = append(p.b.batches, keys)
	return out
}

// finder is a provider that lists the backend's keys under a path.
type finder struct{ provider }

func (f *finder) Find(_ context.Context, q providers.Query) ([]providers.Found, error) {
	f.b.finds = append(f.b.finds, q.Path)
	var out []providers.Found
	for k := range f.b.values {
		if strings.HasPrefix(k, f.prefix+q.Path) {
			out = append(out, providers.Found{Name: strings.ReplaceAll(strings.TrimPrefix(k, f.prefix), "/", "_"), Ref: providers.Ref{Key: k, Found: true}})
		}
	}
	return out, nil
}

func store(ns, name string) (desired.StoreKey, *render.SecretStore) {
	st := &render.SecretStore{}
	st.Kind, st.Namespace, st.Name = render.KindSecretStore, ns, name
	st.Spec.Provider.AWS = &render.AWSProvider{Service: "SecretsManager"}
	return desired.StoreKey{Kind: render.KindSecretStore, Namespace: ns, Name: name}, st
}

// pending is an ExternalSecret of namespace ns whose data key i is
// remote key keys[i] through store, written to Secret target.
func pending(stores map[desired.StoreKey]*render.SecretStore, ns, name, storeName, target string, keys ...string) fetch.Pending {
	es := &render.ExternalSecret{}
	es.Namespace, es.Name = ns, name
	es.Spec.SecretStoreRef = render.SecretStoreRef{Name: storeName}
	es.Spec.Target.Name = target
	for i, k := range keys {
		es.Spec.Data = append(es.Spec.Data, render.Data{SecretKey: fmt.Sprintf("k%d", i), RemoteRef: render.RemoteRef{Key: k}})
	}
	return fetch.Pending{ES: es, Refs: desired.Entries(es, stores)}
}

// builder builds one provider per store name from providers; a store
// missing from it cannot be built. It counts its builds.
type builder struct {
	providers map[string]providers.Provider
	built     []string
}

func (b *builder) build(_ context.Context, st *render.SecretStore, serving string) (providers.Provider, error) {
	b.built = append(b.built, st.Name+"/"+serving)
	if p, ok := b.providers[st.Name]; ok {
		return p, nil
	}
	return nil, errors.New("no credentials")
}

// result is one ExternalSecret's assembled data (values as strings), or
// its error, and its versions.
type result struct {
	data     map[string]string
	err      error
	versions string
}

// fetchAll splits fresh into parts of size and reads every part, as the
// reconciler does; it returns each ExternalSecret's result by name and
// the names of each part, in the order they came.
func fetchAll(f *fetch.Fetcher, fresh []fetch.Pending, size int) (map[string]result, [][]string) {
	out := map[string]result{}
	var parts [][]string
	for p := range fetch.Parts(context.Background(), f, fetch.Split(nil, func(string) plan.Target { return plan.Target{} }, fresh, size)) {
		var names []string
		for _, pe := range p.Fresh {
			names = append(names, pe.ES.Name)
			data, err := p.Data(pe, nil)
			r := result{err: err, versions: fmt.Sprint(p.Versions(pe))}
			if err == nil {
				r.data = map[string]string{}
				for k, v := range data {
					r.data[k] = string(v.Bytes())
				}
			}
			out[pe.ES.Name] = r
		}
		parts = append(parts, names)
	}
	return out, parts
}

// TestAProviderErrorIsScrubbedOfAValueFromItsOwnBatch: a provider's error
// that quotes a value fetched in the same batch reaches the
// ExternalSecret without it, as the redactor learns the batch's values
// before it scrubs the batch's errors.
func TestAProviderErrorIsScrubbedOfAValueFromItsOwnBatch(t *testing.T) {
	canary := leaktest.Canary()
	sk, st := store("apps", "aws")
	stores := map[desired.StoreKey]*render.SecretStore{sk: st}
	b := &backend{values: map[string]string{"k/a": canary},
		errs: map[string]error{"k/b": &providers.Error{Class: providers.Invalid, Ref: "k/b", Err: errors.New("refused beside " + canary)}}}
	bl := &builder{providers: map[string]providers.Provider{"aws": &provider{b: b, id: "one"}}}
	redactor := scrub.New()
	fresh := []fetch.Pending{pending(stores, "apps", "reads-b", "aws", "", "k/b"), pending(stores, "apps", "reads-a", "aws", "", "k/a")}
	got, _ := fetchAll(fetch.New(stores, bl.build, redactor, time.Now), fresh, 10)
	if len(b.batches) != 1 {
		t.Fatalf("%d batches, want the two references in one", len(b.batches))
	}
	var seeded leaktest.Canaries
	seeded.Add(canary)
	err := got["reads-b"].err
	if err == nil {
		t.Fatal("reads-b did not fail")
	}
	seeded.Check(t, "the error of reads-b", err.Error())
	var pe *providers.Error
	if !strings.Contains(err.Error(), "refused beside "+scrub.Marker) || !errors.As(err, &pe) || pe.Class != providers.Invalid {
		t.Fatalf("the error of reads-b lost its cause or its class: %s", seeded.Mask(err.Error()))
	}
	if got["reads-a"].data["k0"] != canary {
		t.Fatalf("reads-a did not get its value")
	}
}

// TestAReferenceSeveralPartsNeedIsFetchedOnce: with parts of one
// ExternalSecret, each reference is asked of the provider once, in one
// batch per part, and every part that needs a shared value has it (kept
// until the last of them); each ExternalSecret's versions name its values'.
func TestAReferenceSeveralPartsNeedIsFetchedOnce(t *testing.T) {
	sk, st := store("apps", "aws")
	stores := map[desired.StoreKey]*render.SecretStore{sk: st}
	b := &backend{values: map[string]string{"k/a": "value-a", "k/b": "value-b", "k/c": "value-c", "k/shared": "value-shared"}}
	bl := &builder{providers: map[string]providers.Provider{"aws": &provider{b: b, id: "one"}}}
	fresh := []fetch.Pending{
		pending(stores, "apps", "a", "aws", "", "k/a", "k/shared"),
		pending(stores, "apps", "b", "aws", "", "k/b"),
		pending(stores, "apps", "c", "aws", "", "k/c", "k/shared"),
	}
	got, parts := fetchAll(fetch.New(stores, bl.build, scrub.New(), time.Now), fresh, 1)
	if fmt.Sprint(parts) != "[[a] [b] [c]]" {
		t.Fatalf("parts %v, want one ExternalSecret each, in target order", parts)
	}
	if fmt.Sprint(b.batches) != "[[k/a k/shared] [k/b] [k/c]]" {
		t.Fatalf("batches %v: want each reference once, one batch per part", b.batches)
	}
	for name, want := range map[string]string{"a": "map[k0:value-a k1:value-shared]", "b": "map[k0:value-b]", "c": "map[k0:value-c k1:value-shared]"} {
		if r := got[name]; r.err != nil || fmt.Sprint(r.data) != want {
			t.Errorf("%s: data %v, error %v; want %s", name, r.data, r.err, want)
		}
	}
	if v := got["c"].versions; !strings.Contains(v, "v-k/shared") || !strings.Contains(v, "v-k/c") {
		t.Errorf("versions of c: %s", v)
	}
	if len(bl.built) != 1 {
		t.Errorf("the store was built %d times in one pass: %v", len(bl.built), bl.built)
	}
}

// TestEveryWriterOfATargetIsInOnePart: a part is cut only between
// targets, so the writers of one Secret (fetched or reused) meet in one
// part however small the parts; parts come in target order.
func TestEveryWriterOfATargetIsInOnePart(t *testing.T) {
	stores := map[desired.StoreKey]*render.SecretStore{}
	fresh := []fetch.Pending{
		pending(stores, "b", "m1", "aws", "merged"),
		pending(stores, "a", "z", "aws", ""),
		pending(stores, "b", "m2", "aws", "merged"),
		pending(stores, "b", "other", "aws", ""),
	}
	reused := []plan.Target{{Namespace: "b", Name: "merged"}, {Namespace: "a", Name: "y"}}
	var got []string
	for _, p := range fetch.Split(reused, func(t plan.Target) plan.Target { return t }, fresh, 1) {
		var names []string
		for _, r := range p.Reused {
			names = append(names, "reused "+r.String())
		}
		for _, f := range p.Fresh {
			names = append(names, f.ES.Namespace+"/"+f.ES.Name)
		}
		got = append(got, strings.Join(names, ", "))
	}
	want := []string{"reused a/y, a/z", "reused b/merged, b/m1, b/m2", "b/other"}
	if !slices.Equal(got, want) {
		t.Fatalf("parts:\n%q\nwant\n%q", got, want)
	}
}

// TestStoresOfOneIdentityShareABatch: references through two stores
// whose providers have one identity go in one batch, each made canonical
// by its own store; a store that cannot be built fails each of its
// references with that error, naming the store, and costs no batch.
func TestStoresOfOneIdentityShareABatch(t *testing.T) {
	stores := map[desired.StoreKey]*render.SecretStore{}
	for _, name := range []string{"team-a", "team-b", "broken"} {
		sk, st := store("apps", name)
		stores[sk] = st
	}
	b := &backend{values: map[string]string{"a/db": "value-a", "b/db": "value-b"}}
	bl := &builder{providers: map[string]providers.Provider{
		"team-a": &provider{b: b, id: "same", prefix: "a/"},
		"team-b": &provider{b: b, id: "same", prefix: "b/"},
	}}
	fresh := []fetch.Pending{
		pending(stores, "apps", "x", "team-a", "", "db"),
		pending(stores, "apps", "y", "team-b", "", "db"),
		pending(stores, "apps", "z", "broken", "", "db"),
	}
	got, _ := fetchAll(fetch.New(stores, bl.build, scrub.New(), time.Now), fresh, 10)
	if fmt.Sprint(b.batches) != "[[a/db b/db]]" {
		t.Fatalf("batches %v, want one with both stores' canonical references", b.batches)
	}
	if got["x"].data["k0"] != "value-a" || got["y"].data["k0"] != "value-b" {
		t.Fatalf("x %v, y %v", got["x"].data, got["y"].data)
	}
	if err := got["z"].err; err == nil || !strings.Contains(err.Error(), "store SecretStore/apps/broken: no credentials") {
		t.Fatalf("z: %v", err)
	}
}

// TestAReferentStoreIsBuiltAndFetchedPerServedNamespace: one store
// serving two namespaces (desired.Entry.Serving) is built once for each,
// and the same reference is fetched for each through its own provider:
// no namespace gets the other's value.
func TestAReferentStoreIsBuiltAndFetchedPerServedNamespace(t *testing.T) {
	sk, st := store("", "shared")
	st.Kind, sk.Kind = render.KindClusterSecretStore, render.KindClusterSecretStore
	stores := map[desired.StoreKey]*render.SecretStore{sk: st}
	b := &backend{values: map[string]string{"one/db": "value-one", "two/db": "value-two"}}
	perNamespace := map[string]providers.Provider{
		"one": &provider{b: b, id: "as-one", prefix: "one/"},
		"two": &provider{b: b, id: "as-two", prefix: "two/"},
	}
	var built []string
	build := func(_ context.Context, _ *render.SecretStore, serving string) (providers.Provider, error) {
		built = append(built, serving)
		return perNamespace[serving], nil
	}
	var fresh []fetch.Pending
	for _, ns := range []string{"one", "two"} {
		for _, name := range []string{"x", "y"} {
			pe := pending(stores, ns, name, "shared", "", "db")
			pe.ES.Spec.SecretStoreRef.Kind = render.KindClusterSecretStore
			pe.Refs = desired.Entries(pe.ES, stores)
			pe.Refs[0].Serving = ns // what desired.Entries gives a referent store
			fresh = append(fresh, pe)
		}
	}
	f := fetch.New(stores, build, scrub.New(), time.Now)
	var got []string
	for p := range fetch.Parts(context.Background(), f, fetch.Split(nil, func(string) plan.Target { return plan.Target{} }, fresh, 10)) {
		for _, pe := range p.Fresh {
			data, err := p.Data(pe, nil)
			got = append(got, fmt.Sprintf("%s/%s=%s %v", pe.ES.Namespace, pe.ES.Name, data["k0"].Bytes(), err))
		}
	}
	if want := "[one/x=value-one <nil> one/y=value-one <nil> two/x=value-two <nil> two/y=value-two <nil>]"; fmt.Sprint(got) != want {
		t.Fatalf("got %v, want %s", got, want)
	}
	if slices.Sort(built); fmt.Sprint(built) != "[one two]" {
		t.Fatalf("built for %v, want once per served namespace", built)
	}
}

// TestADistinctFindRunsOnce: two ExternalSecrets with the same find
// cause one Find; each gets every secret found, and its versions name
// them; a store whose provider cannot list fails its find by name.
func TestADistinctFindRunsOnce(t *testing.T) {
	stores := map[desired.StoreKey]*render.SecretStore{}
	for _, name := range []string{"aws", "nolist"} {
		sk, st := store("apps", name)
		stores[sk] = st
	}
	b := &backend{values: map[string]string{"app/one": "value-one", "app/two": "value-two", "other/x": "value-x"}}
	bl := &builder{providers: map[string]providers.Provider{
		"aws":    &finder{provider{b: b, id: "one"}},
		"nolist": &provider{b: b, id: "two"},
	}}
	withFind := func(name, storeName string) fetch.Pending {
		pe := pending(stores, "apps", name, storeName, "")
		path := "app/"
		pe.ES.Spec.DataFrom = []render.DataFrom{{Find: &render.Find{Path: &path}}}
		pe.Refs = desired.Entries(pe.ES, stores)
		return pe
	}
	fresh := []fetch.Pending{withFind("x", "aws"), withFind("y", "aws"), withFind("z", "nolist")}
	got, _ := fetchAll(fetch.New(stores, bl.build, scrub.New(), time.Now), fresh, 1)
	if len(b.finds) != 1 {
		t.Fatalf("%d finds, want 1", len(b.finds))
	}
	for _, name := range []string{"x", "y"} {
		r := got[name]
		if fmt.Sprint(r.data) != "map[app_one:value-one app_two:value-two]" || !strings.Contains(r.versions, "app_one") || !strings.Contains(r.versions, "app_two") {
			t.Errorf("%s: data %v, versions %s, error %v", name, r.data, r.versions, r.err)
		}
	}
	if err := got["z"].err; err == nil || !strings.Contains(err.Error(), "store SecretStore/apps/nolist cannot list secrets for find") {
		t.Fatalf("z: %v", err)
	}
}
