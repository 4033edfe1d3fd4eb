// Package desired decides what an ExternalSecret means, in one place for
// `run` (the reconciler) and the review commands (`validate`, `plan`): its
// creation policy, which store serves it, and which ExternalSecrets would
// write one Secret. It is pure: no cluster and no AWS call. What needs the
// cluster (namespace labels) comes in through a function.
package desired

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/secretsync/secretsync/providers/aws/awsservice"
	"github.com/secretsync/secretsync/render"
)

// ESO's target.creationPolicy values.
const (
	PolicyOwner         = "Owner"         // create, own, prune when it leaves Git
	PolicyOrphan        = "Orphan"        // create and update; never delete
	PolicyMerge         = "Merge"         // add our keys to an existing Secret; never create or delete
	PolicyNone          = "None"          // resolve and report only
	PolicyCreateOrMerge = "CreateOrMerge" // create if missing, else merge; never delete
)

// CreationPolicy is target.creationPolicy, Owner when unset.
func CreationPolicy(es *render.ExternalSecret) string {
	if p := es.Spec.Target.CreationPolicy; p != "" {
		return p
	}
	return PolicyOwner
}

// Merges reports a policy that writes only its keys into a Secret it does
// not own, under a field manager of its own.
func Merges(es *render.ExternalSecret) bool {
	p := CreationPolicy(es)
	return p == PolicyMerge || p == PolicyCreateOrMerge
}

// ForcedWriteProblem is why a merging ExternalSecret (Merge,
// CreateOrMerge: writes into a Secret secretsync does not own) may not
// write its target: never in secretsync's own namespaces (own: where its
// Git credentials, webhook secret and inventory are; none offline), and
// never into a service-account token Secret (liveType: the live target's
// type, "" when absent or not read yet).
func ForcedWriteProblem(es *render.ExternalSecret, own []string, liveType string) error {
	if !Merges(es) {
		return nil
	}
	if slices.Contains(own, es.Namespace) {
		return fmt.Errorf("creationPolicy %s is refused in namespace %s: it is secretsync's own, holding its Git credentials, webhook secret and inventory", CreationPolicy(es), es.Namespace)
	}
	if liveType == render.SecretTypeServiceAccountToken {
		return fmt.Errorf("creationPolicy %s is refused: the Secret is a service-account token (type %s), which secretsync never writes into", CreationPolicy(es), liveType)
	}
	return nil
}

// Owning reports a policy that writes the whole Secret under our labels.
func Owning(es *render.ExternalSecret) bool {
	p := CreationPolicy(es)
	return p == PolicyOwner || p == PolicyOrphan
}

// Target names the object an ExternalSecret writes: namespace/name for a
// Secret, and "namespace/name (ConfigMap)" for a ConfigMap target, so that
// a Secret and a ConfigMap of one name are two targets.
func Target(es *render.ExternalSecret) string {
	t := es.Namespace + "/" + es.TargetName()
	if es.TargetKind() == render.KindConfigMap {
		t += " (" + render.KindConfigMap + ")"
	}
	return t
}

// noun is the kind of es's target as messages name it.
func noun(es *render.ExternalSecret) string { return strings.ToLower(es.TargetKind()) }

// Service is st's AWS service ("" without provider.aws). What a service
// means (ciphertext in Git, what it refuses, the names it reads) is asked
// of it: providers/aws/awsservice owns that, not desired.
func Service(st *render.SecretStore) awsservice.Service {
	if st.Spec.Provider.AWS == nil {
		return ""
	}
	return awsservice.Service(st.Spec.Provider.AWS.Service)
}

// NamespaceLabels returns a namespace's labels. Offline callers pass nil:
// a namespaceSelector then counts as a match, to be enforced at run time.
type NamespaceLabels func(namespace string) (labels.Set, error)

// Serves reports whether st may serve an ExternalSecret in namespace ns. A
// SecretStore serves only its own namespace; a ClusterSecretStore with
// conditions serves a namespace that matches any of them.
func Serves(st *render.SecretStore, ns string, nsLabels NamespaceLabels) (bool, error) {
	if st.Kind != render.KindClusterSecretStore {
		return st.Namespace == ns, nil
	}
	if len(st.Spec.Conditions) == 0 {
		return true, nil
	}
	for _, c := range st.Spec.Conditions {
		for _, n := range c.Namespaces {
			if n == ns {
				return true, nil
			}
		}
		for _, expr := range c.NamespaceRegexes {
			if re, err := regexp.Compile(expr); err == nil && re.MatchString(ns) {
				return true, nil
			}
		}
		if c.NamespaceSelector == nil {
			continue
		}
		if nsLabels == nil {
			return true, nil
		}
		sel, err := metav1.LabelSelectorAsSelector(c.NamespaceSelector)
		if err != nil {
			return false, err
		}
		set, err := nsLabels(ns)
		if err != nil {
			return false, fmt.Errorf("read namespace %s for the store's namespaceSelector: %w", ns, err)
		}
		if sel.Matches(set) {
			return true, nil
		}
	}
	return false, nil
}

// StoreProblem says why the store key names cannot serve one entry of an
// ExternalSecret in namespace ns, or returns nil. st is nil when the store
// is not in the rendered manifests; dataFrom marks an entry of
// spec.dataFrom.
func StoreProblem(st *render.SecretStore, key StoreKey, ns string, dataFrom bool, nsLabels NamespaceLabels) error {
	id := key.String()
	switch {
	case st == nil:
		return fmt.Errorf("%s is not in the rendered manifests", id)
	case dataFrom && Service(st).DataFromProblem() != nil:
		return fmt.Errorf("%s is %w", id, Service(st).DataFromProblem())
	}
	allowed, err := Serves(st, ns, nsLabels)
	if err != nil {
		return fmt.Errorf("%s: %w", id, err)
	}
	if !allowed {
		return fmt.Errorf("%s does not serve namespace %s: no condition of the store matches it", id, ns)
	}
	return nil
}

// Conflict is one Secret that several ExternalSecrets would write in a way
// that cannot hold: two writing it whole, or two writing one key. Every
// writer in Writers is refused.
type Conflict struct {
	Target  string // namespace/name
	Writers []*render.ExternalSecret
	Why     string
}

func (c Conflict) Error() string {
	return fmt.Sprintf("%s %s is written by %d ExternalSecrets, and %s: %s", noun(c.Writers[0]), c.Target, len(c.Writers), c.Why, Names(c.Writers))
}

// Conflicts finds, per Secret, the writers that would fight over it: every
// owning writer when there are two or more, and the writers of a key that
// spec.data gives to two merging ExternalSecrets. Keys known only from
// AWS (dataFrom) are checked at run time. Sorted by target.
func Conflicts(set *render.Set) []Conflict {
	byTarget := map[string][]*render.ExternalSecret{}
	for _, es := range set.ExternalSecrets {
		if CreationPolicy(es) != PolicyNone {
			byTarget[Target(es)] = append(byTarget[Target(es)], es)
		}
	}
	var out []Conflict
	for t, writers := range byTarget {
		var owners []*render.ExternalSecret
		keys := map[string][]*render.ExternalSecret{}
		for _, es := range writers {
			if Owning(es) {
				owners = append(owners, es)
				continue
			}
			for _, d := range es.Spec.Data {
				keys[d.SecretKey] = append(keys[d.SecretKey], es)
			}
		}
		if len(owners) > 1 {
			out = append(out, Conflict{Target: t, Writers: owners, Why: "each writes it whole"})
		}
		for k, ws := range keys {
			if len(ws) > 1 {
				out = append(out, Conflict{Target: t, Writers: ws, Why: fmt.Sprintf("each writes key %q", k)})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Target != out[j].Target {
			return out[i].Target < out[j].Target
		}
		return out[i].Why < out[j].Why
	})
	return out
}

// Names lists ExternalSecrets as "namespace/name (file)", for messages.
func Names(list []*render.ExternalSecret) string {
	parts := make([]string, len(list))
	for i, es := range list {
		parts[i] = es.Namespace + "/" + es.Name + " (" + es.Source + ")"
	}
	return strings.Join(parts, ", ")
}
