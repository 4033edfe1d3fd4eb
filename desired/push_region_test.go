package desired_test

import (
	"strings"
	"testing"

	"github.com/secretsync/secretsync/desired"
	"github.com/secretsync/secretsync/render"
)

// A store that names no region takes the instance's default (--aws-region,
// providers/aws), which Git does not show: it may be any region. So a
// store without a region and one with a region, of one service and role
// chain and the instance's own credentials, reach one AWS name when the
// default is that region, and SharedRemotes sees them as one (run and
// validate alike, neither knowing the default for sure). Two stores of two
// named regions stay apart.
func TestSharedRemotesSeeAStoreWithoutARegionInEveryRegion(t *testing.T) {
	storeIn := func(ns, region string) *render.SecretStore {
		st := &render.SecretStore{}
		st.Kind, st.Namespace, st.Name = render.KindSecretStore, ns, "aws"
		st.Spec.Provider.AWS = &render.AWSProvider{Service: "SecretsManager", Region: region}
		return st
	}
	mk := func(ns string) *render.PushSecret {
		ps := pushSecret(t, "{secretStoreRefs: [{name: aws}], data: [{match: {secretKey: k, remoteRef: {remoteKey: app/db}}}]}")
		ps.Namespace, ps.Name = ns, "p"
		return ps
	}
	for _, c := range []struct {
		a, b, c string // the regions of the stores of namespaces a, b and c
		refused []string
	}{
		{"", "us-east-1", "eu-west-1", []string{"a/p", "b/p", "c/p"}},
		{"us-east-1", "", "eu-west-1", []string{"a/p", "b/p", "c/p"}},
		{"us-east-1", "eu-west-1", "ap-south-1", nil},
		{"us-east-1", "us-east-1", "eu-west-1", []string{"a/p", "b/p"}},
		{"", "", "eu-west-1", []string{"a/p", "b/p", "c/p"}},
	} {
		t.Run(c.a+"|"+c.b+"|"+c.c, func(t *testing.T) {
			stores := map[desired.StoreKey]*render.SecretStore{}
			for ns, region := range map[string]string{"a": c.a, "b": c.b, "c": c.c} {
				stores[desired.StoreKeyOf(render.KindSecretStore, ns, "aws")] = storeIn(ns, region)
			}
			pss := []*render.PushSecret{mk("a"), mk("b"), mk("c")}
			shared := desired.SharedRemotes(pss, stores, func(ps *render.PushSecret) []desired.PushRemote { return desired.StaticRemotes(ps, stores) })
			for _, ps := range pss {
				want := false
				for _, id := range c.refused {
					want = want || id == ps.ID()
				}
				if got := shared[ps.ID()] != nil; got != want {
					t.Fatalf("%s refused %v, want %v (refused: %v)", ps.ID(), got, want, shared)
				}
				if p := shared[ps.ID()]; p != nil && !strings.Contains(p.Error(), "app/db") {
					t.Fatalf("%s: %q, want the remote secret named", ps.ID(), p.Error())
				}
			}
		})
	}
}
