package desired_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/secretsync/secretsync/desired"
	"github.com/secretsync/secretsync/providers"
	"github.com/secretsync/secretsync/render"
)

func TestRemoteIndexFindsWhoReadsAndWritesAnEventsName(t *testing.T) {
	aws := &render.SecretStore{}
	aws.Spec.Provider.AWS = &render.AWSProvider{Service: "SecretsManager", Prefix: "team/"}
	other := &render.SecretStore{} // no AWS provider: never indexed
	key := desired.StoreKey{Kind: render.KindSecretStore, Namespace: "apps", Name: "aws"}
	otherKey := desired.StoreKey{Kind: render.KindSecretStore, Namespace: "apps", Name: "other"}
	stores := map[desired.StoreKey]*render.SecretStore{key: aws, otherKey: other}
	es := func(name string) *render.ExternalSecret {
		e := &render.ExternalSecret{}
		e.Namespace, e.Name = "apps", name
		return e
	}
	var x desired.RemoteIndex
	x.Add(es("b"), []desired.Entry{{Store: key, Ref: providers.Ref{Key: "db"}}}, stores)
	x.Add(es("a"), []desired.Entry{
		{Store: key, Ref: providers.Ref{Key: "db"}},
		{Store: otherKey, Ref: providers.Ref{Key: "db"}},
		{Store: key, Find: &render.Find{}},
		{Generator: &desired.GeneratorKey{Kind: "Password", Name: "pw"}},
	}, stores)
	x.Sort()

	for _, tc := range []struct {
		name string
		got  any
		want any
	}{
		{"readers of a name are sorted by ExternalSecret, with the store's prefix applied", x.Readers("team/db"), []desired.RemoteUse{{"team/db", "apps/a"}, {"team/db", "apps/b"}}},
		{"a name without the prefix has no reader", len(x.Readers("db")), 0},
		{"an ExternalSecret with a find is a finder", x.Finders(), []string{"apps/a"}},
		{"touched: the readers of each name, then the finders when listing", x.Touched([]string{"team/db", "none"}, true), []string{"apps/a", "apps/b", "apps/a"}},
		{"touched without listing leaves the finders out", x.Touched([]string{"team/db"}, false), []string{"apps/a", "apps/b"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, tc.got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
