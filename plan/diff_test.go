package plan

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestChangeOfNamesTheKeysAWriteChanges(t *testing.T) {
	b := func(s string) []byte { return []byte(s) }
	cases := []struct {
		name       string
		live, want map[string][]byte
		keys       []string
		owning     bool
		out        Change
	}{
		{"a key the target lacks is added", map[string][]byte{"a": b("1")}, map[string][]byte{"a": b("1"), "b": b("2")}, []string{"a", "b"}, true,
			Change{Added: []string{"b"}}},
		{"a key whose bytes differ is changed", map[string][]byte{"a": b("1")}, map[string][]byte{"a": b("2")}, []string{"a"}, true,
			Change{Changed: []string{"a"}}},
		{"an owning write removes the keys it no longer writes, sorted", map[string][]byte{"a": b("1"), "z": b("9"), "m": b("5")}, map[string][]byte{"a": b("1")}, []string{"a"}, true,
			Change{Removed: []string{"m", "z"}}},
		{"a merge leaves the keys it does not write", map[string][]byte{"a": b("1"), "theirs": b("9")}, map[string][]byte{"a": b("2")}, []string{"a"}, false,
			Change{Changed: []string{"a"}}},
		{"the same data is a change of something else", map[string][]byte{"a": b("1")}, map[string][]byte{"a": b("1")}, []string{"a"}, true,
			Change{Other: true}},
		{"an empty value differs from an absent key", map[string][]byte{}, map[string][]byte{"a": {}}, []string{"a"}, true,
			Change{Added: []string{"a"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if diff := cmp.Diff(c.out, ChangeOf(c.live, c.want, c.keys, c.owning)); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
		})
	}
}

func TestWritesIsEveryActionThatWritesContent(t *testing.T) {
	for k, want := range map[Kind]bool{Create: true, Apply: true, Merge: true, Keep: false, Nothing: false, Delete: false,
		Orphan: false, Prune: false, Refused: false, Rollout: false} {
		if got := (Action{Kind: k}).Writes(); got != want {
			t.Errorf("%q writes %v, want %v", k, got, want)
		}
	}
}
