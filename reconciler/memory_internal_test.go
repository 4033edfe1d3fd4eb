package reconciler

import (
	"slices"
	"testing"

	"github.com/secretsync/secretsync/inventory"
)

// Each new row takes its previous row, found by ExternalSecret, whether
// the record is held decoded or as its bytes, and whether its rows are in
// order or were edited out of it; a row asked twice (two new rows of one
// ExternalSecret) gets the same previous row. same tells a record whose
// every row was paired, in order, from one out of order, with rows left
// over, or with a row missing.
func TestCarryPairsEachRowWithItsPrevious(t *testing.T) {
	prev := []inventory.Status{{ExternalSecret: "a/x", Target: "a/x", Reason: "1"}, {ExternalSecret: "b/y", Target: "b/y", Reason: "2"}, {ExternalSecret: "c/z", Target: "c/z", Reason: "3"}}
	raw, err := inventory.Encode(inventory.Inventory{Revision: "r", Status: prev})
	if err != nil {
		t.Fatal(err)
	}
	held := func(rows ...inventory.Status) *record {
		return &record{Record: &inventory.Record{Inventory: inventory.Inventory{Status: rows}}}
	}
	bytes, err := inventory.Checked(raw)
	if err != nil {
		t.Fatal(err)
	}
	// Invalid rows (no target) take their previous row's target, so the
	// pairing shows in out.
	invalid := func(ids ...string) []inventory.Status {
		out := make([]inventory.Status, len(ids))
		for i, id := range ids {
			out[i] = inventory.Status{ExternalSecret: id}
		}
		return out
	}
	cases := []struct {
		name   string
		old    *record
		ids    []string
		paired []string // the target each new row took
		same   bool
	}{
		{"held", held(prev...), []string{"a/x", "b/y", "c/z"}, []string{"a/x", "b/y", "c/z"}, false},
		{"bytes", &record{Record: bytes}, []string{"a/x", "b/y", "c/z"}, []string{"a/x", "b/y", "c/z"}, false},
		{"unsorted", held(prev[2], prev[0], prev[1]), []string{"a/x", "b/y", "c/z"}, []string{"a/x", "b/y", "c/z"}, false},
		{"a row not there", held(prev...), []string{"a/w", "a/x", "b/y", "c/z"}, []string{"", "a/x", "b/y", "c/z"}, false},
		{"asked twice", held(prev...), []string{"a/x", "b/y", "c/z", "c/z"}, []string{"a/x", "b/y", "c/z", "c/z"}, false},
		{"a row passed by", held(prev...), []string{"b/y", "c/z"}, []string{"b/y", "c/z"}, false},
		{"rows left", held(prev...), []string{"a/x"}, []string{"a/x"}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := invalid(c.ids...)
			_, same, err := carry(out, c.old, &Result{}, nil)
			if err != nil {
				t.Fatal(err)
			}
			for i, st := range out {
				if st.Target != c.paired[i] {
					t.Errorf("%s took the row of %q, want %q", c.ids[i], st.Target, c.paired[i])
				}
			}
			if same != c.same {
				t.Errorf("same = %v, want %v", same, c.same)
			}
		})
	}
	// The same rows, in order, every one paired, are the same.
	out := slices.Clone(prev)
	if _, same, err := carry(out, &record{Record: bytes}, &Result{}, nil); !same || err != nil {
		t.Errorf("the rows written again are not the same (%v)", err)
	}
	if _, same, _ := carry(slices.Clone(prev), held(prev[2], prev[0], prev[1]), &Result{}, nil); same {
		t.Error("rows out of order are the same as rows in order")
	}
	if _, same, _ := carry(slices.Clone(prev), held(prev[0], prev[1], prev[1], prev[2]), &Result{}, nil); same {
		t.Error("a record with two rows of one ExternalSecret is the same")
	}
}
