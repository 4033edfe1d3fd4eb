package pushsecret

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/secretsync/secretsync/cluster"
	"github.com/secretsync/secretsync/desired"
	"github.com/secretsync/secretsync/internal/scrub"
	"github.com/secretsync/secretsync/providers/aws/awsservice"
	"github.com/secretsync/secretsync/render"
)

// policies reads the resource policy text each of entries' metadata names
// (a Secrets Manager push's resourcePolicy.policySourceRef), each source
// once, in ps's own namespace through its scope (cluster.Scoped: a
// reference naming no namespace reads the asker's, and nothing else can be
// named), and returns them with a digest of them for syncedOf ("" when
// none). A missing object or key, or a text AWS would not take (too long,
// no JSON object), refuses the PushSecret: its errors name the field and
// the object, never the text.
func (r *run) policies(ctx context.Context, ps *render.PushSecret, entries []desired.PushEntry) (map[awsservice.PolicySource]string, string, error) {
	var out map[awsservice.PolicySource]string
	c := cluster.NewScoped(r.cfg.Kube, asker(ps), r.Redactor)
	for _, e := range entries {
		src := r.policySource(e)
		if src == nil {
			continue
		}
		if _, ok := out[*src]; ok {
			continue
		}
		text, err := readPolicy(ctx, c, r.Redactor, ps.Namespace, *src)
		if err != nil {
			return nil, "", fmt.Errorf("%s.metadata.spec.resourcePolicy.policySourceRef: %w", e.Field, err)
		}
		if out == nil {
			out = map[awsservice.PolicySource]string{}
		}
		out[*src] = text
	}
	if out == nil {
		return nil, "", nil
	}
	h := sha256.New()
	for _, src := range slices.SortedFunc(maps.Keys(out), func(a, b awsservice.PolicySource) int {
		return strings.Compare(a.String(), b.String())
	}) {
		fmt.Fprintf(h, "%s\x00%d\x00%s\x00", src, len(out[src]), out[src])
	}
	return out, hex.EncodeToString(h.Sum(nil)[:16]), nil
}

// onePolicyPerSecret refuses a PushSecret whose entry pushes a remote
// secret (of one store) that an earlier entry of the pass, of it or of an
// earlier PushSecret, pushes with a policy that differs: each would put its
// own at every push or refresh, for ever. The error names the other entry
// (and its PushSecret), never the text.
func (r *run) onePolicyPerSecret(pss []*render.PushSecret, plans []pushPlan) {
	type target struct {
		store desired.StoreKey
		key   string
	}
	type first struct{ ps, field, text string }
	seen := map[target]first{}
	for i, ps := range pss {
		pl := &plans[i]
		if pl.err != nil || pl.policies == nil {
			continue
		}
		mine := map[target]first{}
		for _, e := range pl.entries {
			text := r.policyOf(e, pl.policies)
			if text == nil {
				continue
			}
			t := target{e.Store, e.RemoteKey}
			if f, ok := mine[t]; ok && !awsservice.SamePolicy([]byte(f.text), []byte(*text)) {
				pl.err = fmt.Errorf("%s.metadata.spec.resourcePolicy.policySourceRef: another policy than %s's for the same remote secret %s of %s: one secret has one resource policy",
					e.Field, f.field, e.RemoteKey, e.Store)
				break
			}
			if f, ok := seen[t]; ok && !awsservice.SamePolicy([]byte(f.text), []byte(*text)) {
				pl.err = fmt.Errorf("%s.metadata.spec.resourcePolicy.policySourceRef: another policy than %s's of PushSecret %s for the same remote secret %s of %s: one secret has one resource policy",
					e.Field, f.field, f.ps, e.RemoteKey, e.Store)
				break
			}
			if _, ok := mine[t]; !ok {
				mine[t] = first{ps.ID(), e.Field, *text}
			}
		}
		if pl.err == nil {
			maps.Copy(seen, mine)
		}
	}
}

// policySource is the policy source e's metadata names through its
// store's service, or nil.
func (r *run) policySource(e desired.PushEntry) *awsservice.PolicySource {
	st := r.stores[e.Store]
	if st == nil || len(e.Metadata) == 0 {
		return nil
	}
	return desired.Service(st).PolicySource(e.Metadata)
}

// readPolicy reads the text at src's key in the PushSecret's own
// namespace ns (c's asker: the read names no namespace) and checks it.
func readPolicy(ctx context.Context, c cluster.Scoped, red *scrub.Redactor, ns string, src awsservice.PolicySource) (string, error) {
	var data map[string]string
	var err error
	if src.Kind == awsservice.PolicyKindSecret {
		data, err = secretData(ctx, c, src.Name, red)
	} else {
		data, err = c.ConfigMap(ctx, "", src.Name)
	}
	switch {
	case apierrors.IsNotFound(err):
		return "", fmt.Errorf("%s %s/%s not found", src.Kind, ns, src.Name)
	case err != nil:
		return "", fmt.Errorf("%s %s/%s: %w", src.Kind, ns, src.Name, err)
	}
	text, ok := data[src.Key]
	if !ok {
		return "", fmt.Errorf("%s %s/%s has no key %s", src.Kind, ns, src.Name, src.Key)
	}
	if err := awsservice.CheckPolicy([]byte(text)); err != nil {
		return "", fmt.Errorf("the policy at key %s of %s %s/%s %w", src.Key, src.Kind, ns, src.Name, err)
	}
	return text, nil
}

// policyOf is the policy text e's push sends (providers.Push.ResourcePolicy):
// nil when its metadata names none.
func (r *run) policyOf(e desired.PushEntry, policies map[awsservice.PolicySource]string) *string {
	src := r.policySource(e)
	if src == nil {
		return nil
	}
	text, ok := policies[*src]
	if !ok {
		return nil
	}
	return &text
}

// secretData is the data of the Secret name of c's asker's namespace,
// taught to red; a cluster credential (a service account or bootstrap
// token) is refused, as a push source is.
func secretData(ctx context.Context, c cluster.Scoped, name string, red *scrub.Redactor) (map[string]string, error) {
	sec, err := c.SecretObject(ctx, "", name)
	if err != nil {
		return nil, err
	}
	if t := sec.Type; t == corev1.SecretTypeServiceAccountToken || t == corev1.SecretTypeBootstrapToken {
		return nil, fmt.Errorf("is refused: its type %s holds a credential to this cluster, which secretsync never pushes", t)
	}
	out := make(map[string]string, len(sec.Data))
	for k, v := range sec.Data {
		red.Add(v)
		out[k] = string(v)
	}
	return out, nil
}
