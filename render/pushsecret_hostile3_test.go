package render_test

import (
	"strings"
	"testing"
)

// A property's dots nest as ESO sets it: property db holds db.user. Two
// data entries of one PushSecret writing db and db.user of one remote key
// overwrite each other at every push, as two writes of one property do:
// validate and run refuse the PushSecret offline, naming both entries.
// Siblings (db.user, db.pass) and a shared prefix of characters (db,
// dbx.user) stay allowed.
func TestPushSecretRefusesAPropertyAndOneNestedInIt(t *testing.T) {
	withData := func(p, q string) string {
		return strings.Replace(pushOK, "  - match: {remoteRef: {remoteKey: app/all}}\n",
			"  - match: {secretKey: a, remoteRef: {remoteKey: app/n, property: '"+p+"'}}\n  - match: {secretKey: b, remoteRef: {remoteKey: app/n, property: '"+q+"'}}\n", 1)
	}
	for _, c := range []struct {
		p, q string
		want string
	}{
		{"db", "db.user", "spec.data[3].match.remoteRef: pushes property db.user of remote key app/n, which holds or is held by the property spec.data[2] pushes"},
		{"db.user", "db", "spec.data[3].match.remoteRef: pushes property db of remote key app/n, which holds or is held by the property spec.data[2] pushes"},
		{"a", "a.b.c", "spec.data[3].match.remoteRef: pushes property a.b.c of remote key app/n"},
		{"db.user", "db.pass", ""},
		{"db", "dbx.user", ""},
	} {
		t.Run(c.p+" and "+c.q, func(t *testing.T) {
			set := mustRender(t, tree(t, map[string]string{"p.yaml": withData(c.p, c.q)}), ".")
			errs := errorTexts(set)
			if c.want == "" {
				if len(errs) != 0 || len(set.PushSecrets) != 1 {
					t.Fatalf("errors = %q, want the PushSecret accepted", errs)
				}
				return
			}
			if len(errs) != 1 || !strings.Contains(errs[0], c.want) || len(set.PushSecrets) != 0 {
				t.Fatalf("errors = %q, want the PushSecret refused with %q", errs, c.want)
			}
		})
	}
}
