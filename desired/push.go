package desired

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/secretsync/secretsync/render"
)

// PushProblems are the reasons run refuses a PushSecret without asking AWS
// or the cluster: a namespace secretsync may not reach, or its own (where
// its Git credentials are), a store that is missing, does not serve the
// namespace, or is of a service secretsync does not push to (awsservice's
// Pushes), a store label selector that matches no store, more writes named
// in Git alone than MaxPushEntries. Both run and validate use it.
func PushProblems(ps *render.PushSecret, stores map[StoreKey]*render.SecretStore, opt Options) []Problem {
	return PushProblemsOf(ps, stores, opt, StaticRemotes(ps, stores))
}

// PushProblemsOf is PushProblems for a caller that has ps's StaticRemotes
// already (validate gives them to SharedRemotes too).
func PushProblemsOf(ps *render.PushSecret, stores map[StoreKey]*render.SecretStore, opt Options, static []PushRemote) []Problem {
	var out []Problem
	if !NamespaceAllowed(opt.Namespaces, ps.Namespace) {
		out = append(out, Problem{Field: "metadata.namespace",
			Err: fmt.Errorf("namespace %s is not one secretsync may reach (--namespaces %s)", ps.Namespace, strings.Join(opt.Namespaces, ","))})
	}
	if slices.Contains(opt.OwnNamespaces, ps.Namespace) {
		out = append(out, Problem{Field: "metadata.namespace",
			Err: fmt.Errorf("namespace %s is secretsync's own, holding its Git credentials and webhook secret, which are never pushed", ps.Namespace)})
	}
	for i, ref := range ps.Spec.SecretStoreRefs {
		field := fmt.Sprintf("spec.secretStoreRefs[%d]", i)
		if ref.LabelSelector != nil && !slices.ContainsFunc(PushStores(ps, stores), func(k StoreKey) bool { return storeSelected(ref, ps.Namespace, k, stores[k]) }) {
			out = append(out, Problem{Field: field + ".labelSelector", Err: fmt.Errorf("matches no %s in the rendered manifests", ref.StoreKind())})
		}
	}
	for _, key := range PushStores(ps, stores) {
		st := stores[key]
		if err := StoreProblem(st, key, ps.Namespace, false, opt.NamespaceLabels); err != nil {
			out = append(out, Problem{Field: "spec.secretStoreRefs", Err: err})
			continue
		}
		if s := Service(st); !s.Pushes() {
			out = append(out, Problem{Field: "spec.secretStoreRefs", Err: fmt.Errorf("%s is a %s store, which secretsync does not push to", key, s)})
		}
	}
	if n := len(static); n > MaxPushEntries {
		out = append(out, Problem{Field: "spec.secretStoreRefs", Err: fmt.Errorf("Git alone names at least %d remote secrets and properties it writes (stores × data entries and dataTo bundles), more than the %d one PushSecret may (MaxPushEntries)",
			n, MaxPushEntries)})
	}
	return out
}

// PushRemote is a remote secret a PushSecret writes, by name, and the
// property it writes ("" for the whole secret).
type PushRemote struct {
	Field     string
	Store     StoreKey
	RemoteKey string
	Property  string
}

// StaticRemotes are the remote secrets ps writes that Git alone names: its
// data entries and its dataTo bundles, in each store. dataTo without
// remoteKey names its remote secrets after the source's keys, known only
// when the source is read (PushEntries). It stops past MaxPushEntries (at
// that many and one), which PushProblems refuses.
func StaticRemotes(ps *render.PushSecret, stores map[StoreKey]*render.SecretStore) []PushRemote {
	var out []PushRemote
	for _, key := range PushStores(ps, stores) {
		for i, dt := range ps.Spec.DataTo {
			if dt.RemoteKey != "" && DataToSelects(ps, dt, key, stores) {
				out = append(out, PushRemote{Field: fmt.Sprintf("spec.dataTo[%d].remoteKey", i), Store: key, RemoteKey: dt.RemoteKey})
				if len(out) > MaxPushEntries {
					return out
				}
			}
		}
		for i, d := range ps.Spec.Data {
			out = append(out, PushRemote{Field: fmt.Sprintf("spec.data[%d].match.remoteRef.remoteKey", i), Store: key,
				RemoteKey: d.Match.RemoteRef.RemoteKey, Property: d.Match.RemoteRef.Property})
			if len(out) > MaxPushEntries {
				return out
			}
		}
	}
	return out
}

// EntryRemotes are the remote secrets and properties entries write, for
// SharedRemotes (PushEntries refused two writes of one already).
func EntryRemotes(entries []PushEntry) []PushRemote {
	out := make([]PushRemote, len(entries))
	for i, e := range entries {
		out[i] = PushRemote{Field: e.Field, Store: e.Store, RemoteKey: e.RemoteKey, Property: e.Property}
	}
	return out
}

// SharedRemotes refuses, by PushSecret, the remote secrets (awsName) that
// PushSecrets of more than one namespace push to: each
// would overwrite the other's value in turn, so a repo writer of one
// namespace could replace what another team's consumers read. Within one
// namespace, two PushSecrets may push different properties of one remote
// secret (ESO sets a property in the secret as it is), not the same
// property, nor one nested in the other, nor, either of them, the whole
// secret: they would overwrite
// each other at every pass (a new version each time, a value that flips
// under its readers). remotes says what each writes (StaticRemotes
// offline; run adds what dataTo expanded to). A remote secret is its AWS
// name in an identity (awsName): two stores whose prefixes meet reach one,
// and a store naming no region meets a store of any region.
// Both run and validate use it.
func SharedRemotes(pss []*render.PushSecret, stores map[StoreKey]*render.SecretStore, remotes func(*render.PushSecret) []PushRemote) map[string]*Problem {
	type named struct {
		PushRemote
		at   remoteName
		keys []string // at.keys
	}
	of := make(map[string][]named, len(pss))
	regions := map[string]map[string]bool{} // a name -> the regions stores name for it
	for _, ps := range pss {
		for _, r := range remotes(ps) {
			n := named{PushRemote: r, at: awsName(stores, r)}
			of[ps.ID()] = append(of[ps.ID()], n)
			if !n.at.anyRegion {
				if regions[n.at.name] == nil {
					regions[n.at.name] = map[string]bool{}
				}
				regions[n.at.name][n.at.region] = true
			}
		}
	}
	users := map[string]*remoteUsers{}
	for _, ps := range pss {
		for i := range of[ps.ID()] {
			r := &of[ps.ID()][i]
			r.keys = r.at.keys(regions)
			for _, k := range r.keys {
				if users[k] == nil {
					users[k] = &remoteUsers{nss: map[string]bool{}, props: map[string]*twoUsers{}, nested: map[string]*twoUsers{}}
				}
				users[k].add(ps, r.Property)
			}
		}
	}
	out := map[string]*Problem{}
	for _, ps := range pss {
	search:
		for _, r := range of[ps.ID()] {
			for _, k := range r.keys {
				if p := users[k].problem(ps, r.PushRemote); p != nil {
					out[ps.ID()] = p
					break search
				}
			}
		}
	}
	return out
}

// problem is why ps may not push r, which these users push too; nil when
// it may.
func (u *remoteUsers) problem(ps *render.PushSecret, r PushRemote) *Problem {
	if len(u.nss) > 1 {
		return &Problem{Field: r.Field,
			Err: fmt.Errorf("remote secret %s in %s is also pushed by a PushSecret of namespace(s) %s: refused for all of them, the remote secret is left as it is",
				r.RemoteKey, r.Store, strings.Join(slices.Sorted(maps.Keys(u.nss)), ","))}
	}
	if other, its := u.clash(ps.ID(), r.Property); other != "" {
		return &Problem{Field: r.Field,
			Err: fmt.Errorf("PushSecrets %s and %s both push remote secret %s%s in %s, and would overwrite each other at every pass: refused for both, the remote secret is left as it is",
				ps.ID(), other, r.RemoteKey, clashNote(r.Property, its), r.Store)}
	}
	return nil
}

// remoteName is where a remote secret is in AWS as far as Git shows: its
// name in an identity and its region. A store that names no region takes
// the instance's default (--aws-region, providers/aws), which Git does not
// show and validate does not know: anyRegion, it may be any of them.
type remoteName struct {
	name, region string
	anyRegion    bool
}

// keys are the names n may be, one a region: its own, or, for anyRegion,
// every region another store names for it (regions) and its own key for
// the stores that name none.
func (n remoteName) keys(regions map[string]map[string]bool) []string {
	if !n.anyRegion {
		return []string{n.region + "\x00" + n.name}
	}
	out := []string{"*\x00" + n.name}
	for _, region := range slices.Sorted(maps.Keys(regions[n.name])) {
		out = append(out, region+"\x00"+n.name)
	}
	return out
}

// awsName is the remote secret r writes: its name with the store's prefix,
// in the store's service and region, as the instance's own identity (the
// role chain the store assumes, if any) when the store names no
// credentials of its own; else (credentials of a Secret or a service
// account, whose account Git does not show) in that store alone.
func awsName(stores map[StoreKey]*render.SecretStore, r PushRemote) remoteName {
	st := stores[r.Store]
	if st == nil || st.Spec.Provider.AWS == nil {
		return remoteName{name: r.Store.String() + "\x00" + r.RemoteKey}
	}
	a := st.Spec.Provider.AWS
	name := Service(st).Canonical(a.Prefix, r.RemoteKey)
	if ownCredentials(a) {
		return remoteName{name: r.Store.String() + "\x00" + name}
	}
	return remoteName{name: roleChain(st) + "\x00" + name, region: a.Region, anyRegion: a.Region == ""}
}

// ownCredentials reports whether a store names credentials of its own (a
// Secret or a service account), whose account Git does not show.
func ownCredentials(a *render.AWSProvider) bool { return a.Auth.SecretRef != nil || a.Auth.JWT != nil }

// roleChain is the part of a store's identity Git shows when it names no
// credentials of its own: its service and the roles it assumes.
func roleChain(st *render.SecretStore) string {
	a := st.Spec.Provider.AWS
	return fmt.Sprintf("%s\x00%s\x00%s\x00%q", Service(st), a.Role, a.ExternalID, a.AdditionalRoles)
}

// AWSKey is the AWS secret remoteKey (as written) of the store key names:
// the store's Identity and the name with its prefix applied.
func AWSKey(stores map[StoreKey]*render.SecretStore, key StoreKey, remoteKey string) string {
	name := remoteKey
	if st := stores[key]; st != nil && st.Spec.Provider.AWS != nil {
		name = Service(st).Canonical(st.Spec.Provider.AWS.Prefix, remoteKey)
	}
	return Identity(stores, key) + "\x00" + name
}

// Identity is where the store key's remote names live: two stores of one
// Identity reach one AWS secret by one name (the store's prefix applied),
// as awsName compares them, a region written ("" the instance's) counted
// as written. A store with credentials of its own, or not rendered, is
// its own.
func Identity(stores map[StoreKey]*render.SecretStore, key StoreKey) string {
	st := stores[key]
	if st == nil || st.Spec.Provider.AWS == nil || ownCredentials(st.Spec.Provider.AWS) {
		return key.String()
	}
	return roleChain(st) + "\x00" + st.Spec.Provider.AWS.Region
}

// remoteUsers are the PushSecrets that push one remote secret: their
// namespaces, and (for one namespace) who writes it whole and who each
// property.
type remoteUsers struct {
	nss        map[string]bool
	all, whole twoUsers
	// props are the writers of each property; nested, of some property
	// nested in it (dots nest, as ESO sets a property: "db" holds "db.user").
	props, nested map[string]*twoUsers
}

func (u *remoteUsers) add(ps *render.PushSecret, property string) {
	u.nss[ps.Namespace] = true
	u.all.add(ps.ID())
	if property == "" {
		u.whole.add(ps.ID())
		return
	}
	addUser(u.props, property, ps.ID())
	for _, parent := range parentProperties(property) {
		addUser(u.nested, parent, ps.ID())
	}
}

func addUser(m map[string]*twoUsers, key, id string) {
	if m[key] == nil {
		m[key] = &twoUsers{}
	}
	m[key].add(id)
}

// PropertyHolds reports whether a write of property outer (dots nest, ""
// the whole secret) holds inner: the same, or nested in it ("db" holds
// "db.user"). Writes of either replace the other's value.
func PropertyHolds(outer, inner string) bool {
	return outer == "" || inner == outer || strings.HasPrefix(inner, outer+".")
}

// parentProperties are the properties property is nested in: "a" and
// "a.b" for "a.b.c".
func parentProperties(property string) []string {
	var out []string
	for i := range len(property) {
		if property[i] == '.' {
			out = append(out, property[:i])
		}
	}
	return out
}

// clash is a PushSecret other than id whose write of the remote secret
// overwrites id's write of property (the whole secret for ""), and the
// property it writes ("" for the whole secret, or when id's is the whole
// and it may write either); "" when there is none. A property overwrites
// those nested in it, and is overwritten by the one it is nested in.
func (u *remoteUsers) clash(id, property string) (other, its string) {
	switch {
	case property == "":
		return u.all.other(id), ""
	case u.whole.other(id) != "":
		return u.whole.other(id), ""
	case u.props[property].other(id) != "":
		return u.props[property].other(id), property
	case u.nested[property].other(id) != "":
		return u.nested[property].other(id), property + ".*"
	}
	for _, parent := range parentProperties(property) {
		if other := u.props[parent].other(id); other != "" {
			return other, parent
		}
	}
	return "", ""
}

// twoUsers are the first two PushSecrets (by ID) to use something: enough
// to name one other than any given one.
type twoUsers [2]string

func (t *twoUsers) add(id string) {
	switch {
	case t[0] == "":
		t[0] = id
	case t[0] != id && t[1] == "":
		t[1] = id
	}
}

func (t *twoUsers) other(id string) string {
	if t == nil {
		return ""
	}
	for _, x := range t {
		if x != "" && x != id {
			return x
		}
	}
	return ""
}

// PushGenerator is the generator a PushSecret pushes from, when its
// selector names one, and the reason it is refused: it must render from
// the same path in the PushSecret's namespace (as an ExternalSecret's).
// Both run and validate use it.
func PushGenerator(ps *render.PushSecret, gens map[GeneratorKey]*render.Generator) (*render.Generator, error) {
	if len(ps.Spec.Selector.GeneratorRef) == 0 {
		return nil, nil
	}
	ref, err := ps.Spec.Selector.Generator()
	if err != nil {
		return nil, err
	}
	k := GeneratorKey{ps.Namespace, ref.Kind, ref.Name}
	if gens[k] == nil {
		return nil, fmt.Errorf("generator %s is not in the rendered manifests; it must render from the same path, in the PushSecret's namespace", k)
	}
	return gens[k], nil
}
