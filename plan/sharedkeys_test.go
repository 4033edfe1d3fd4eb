package plan

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSharedKeysRefusesBothWritersOfAKey(t *testing.T) {
	db := Target{Namespace: "a", Name: "db"}
	cm := Target{Namespace: "a", Name: "db", Kind: "ConfigMap"}
	w := func(t Target, es string, keys ...string) Writer {
		return Writer{Target: t, ExternalSecret: "a/" + es, Source: es + ".yaml", Keys: keys}
	}
	cases := []struct {
		name    string
		writers []Writer
		want    map[string]string
	}{
		{"writers of other keys of one Secret are fine", []Writer{w(db, "x", "user"), w(db, "y", "password")}, map[string]string{}},
		{"one key in two Secrets is fine", []Writer{w(db, "x", "k"), w(cm, "y", "k")}, map[string]string{}},
		{"a key written twice refuses both writers, each naming the other", []Writer{w(db, "x", "user", "k"), w(db, "y", "k"), w(db, "z", "other")}, map[string]string{
			"a/x": `key "k" of secret a/db is also written by externalsecret a/y (y.yaml)`,
			"a/y": `key "k" of secret a/db is also written by externalsecret a/x (x.yaml)`,
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if diff := cmp.Diff(c.want, SharedKeys(c.writers)); diff != "" {
				t.Errorf("SharedKeys (-want +got):\n%s", diff)
			}
		})
	}
}
