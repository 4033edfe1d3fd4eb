package inventory

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Each new row takes its previous row, found by ExternalSecret, whether
// the record is held decoded or as its bytes, and whether its rows are in
// order or were edited out of it; a row asked twice (two new rows of one
// ExternalSecret) gets the same previous row. same tells a record whose
// every row was paired, in order, from one out of order, with rows left
// over, or with a row missing.
func TestCarryPairsEachRowWithItsPrevious(t *testing.T) {
	prev := []Status{{ExternalSecret: "a/x", Target: "a/x", Reason: "1"}, {ExternalSecret: "b/y", Target: "b/y", Reason: "2"}, {ExternalSecret: "c/z", Target: "c/z", Reason: "3"}}
	raw, err := Encode(Inventory{Revision: "r", Status: prev})
	if err != nil {
		t.Fatal(err)
	}
	held := func(rows ...Status) *Record { return &Record{Inventory: Inventory{Status: rows}} }
	bytes, err := Checked(raw)
	if err != nil {
		t.Fatal(err)
	}
	// Invalid rows (no target) take their previous row's target, so the
	// pairing shows in out.
	invalid := func(ids ...string) []Status {
		out := make([]Status, len(ids))
		for i, id := range ids {
			out[i] = Status{ExternalSecret: id}
		}
		return out
	}
	cases := []struct {
		name   string
		old    *Record
		ids    []string
		paired []string // the target each new row took
		same   bool
	}{
		{"held", held(prev...), []string{"a/x", "b/y", "c/z"}, []string{"a/x", "b/y", "c/z"}, false},
		{"bytes", bytes, []string{"a/x", "b/y", "c/z"}, []string{"a/x", "b/y", "c/z"}, false},
		{"unsorted", held(prev[2], prev[0], prev[1]), []string{"a/x", "b/y", "c/z"}, []string{"a/x", "b/y", "c/z"}, false},
		{"a row not there", held(prev...), []string{"a/w", "a/x", "b/y", "c/z"}, []string{"", "a/x", "b/y", "c/z"}, false},
		{"asked twice", held(prev...), []string{"a/x", "b/y", "c/z", "c/z"}, []string{"a/x", "b/y", "c/z", "c/z"}, false},
		{"a row passed by", held(prev...), []string{"b/y", "c/z"}, []string{"b/y", "c/z"}, false},
		{"rows left", held(prev...), []string{"a/x"}, []string{"a/x"}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := invalid(c.ids...)
			_, same, err := Carry(out, c.old.Statuses(), none, nil)
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
	if _, same, err := Carry(out, bytes.Statuses(), none, nil); !same || err != nil {
		t.Errorf("the rows written again are not the same (%v)", err)
	}
	if _, same, _ := Carry(slices.Clone(prev), held(prev[2], prev[0], prev[1]).Statuses(), none, nil); same {
		t.Error("rows out of order are the same as rows in order")
	}
	if _, same, _ := Carry(slices.Clone(prev), held(prev[0], prev[1], prev[1], prev[2]).Statuses(), none, nil); same {
		t.Error("a record with two rows of one ExternalSecret is the same")
	}
}

func none(string) Outcome { return Outcome{} }

// A row keeps from its previous one what this pass did not learn, and says
// whether its failure is news.
func TestCarryRowKeepsWhatThePassDidNotLearn(t *testing.T) {
	then, earlier, now := metav1.Unix(100, 0), metav1.Unix(50, 0), metav1.Unix(200, 0)
	old := Versions{{"ref", "v1"}}
	fresh := Versions{{"ref", "v2"}}
	prev := Status{ExternalSecret: "a/x", Target: "a/t", LastSync: &then, Versions: old, Synced: "s1", Refreshed: &earlier, Ready: true}
	valid := Status{ExternalSecret: "a/x", Target: "a/x", Ready: true}
	cases := []struct {
		name       string
		st, p      Status
		had        bool
		o          Outcome
		want       Status
		newFailure bool
	}{
		{"an invalid row takes its previous row's target and times", Status{ExternalSecret: "a/x", Message: "bad"}, prev, true, Outcome{},
			Status{ExternalSecret: "a/x", Target: "a/t", LastSync: &then, Versions: old, Synced: "s1", Refreshed: &earlier, Message: "bad"}, true},
		{"an invalid row with no previous row stays as it is", Status{ExternalSecret: "a/x", Message: "bad"}, Status{}, false, Outcome{Written: true},
			Status{ExternalSecret: "a/x", Message: "bad"}, true},
		{"a valid row not fetched keeps the last sync, versions and refresh", valid, prev, true, Outcome{},
			Status{ExternalSecret: "a/x", Target: "a/x", LastSync: &then, Versions: old, Synced: "s1", Refreshed: &earlier, Ready: true}, false},
		{"a row refreshed in this pass keeps its own refresh", Status{ExternalSecret: "a/x", Target: "a/x", Synced: "s2", Refreshed: &now, Ready: true}, prev, true, Outcome{},
			Status{ExternalSecret: "a/x", Target: "a/x", LastSync: &then, Versions: old, Synced: "s2", Refreshed: &now, Ready: true}, false},
		{"versions read in this pass replace the old ones", valid, prev, true, Outcome{Resolved: true, Versions: fresh},
			Status{ExternalSecret: "a/x", Target: "a/x", LastSync: &then, Versions: fresh, Synced: "s1", Refreshed: &earlier, Ready: true}, false},
		{"a resolve that read no versions keeps the old ones", valid, prev, true, Outcome{Resolved: true},
			Status{ExternalSecret: "a/x", Target: "a/x", LastSync: &then, Versions: old, Synced: "s1", Refreshed: &earlier, Ready: true}, false},
		{"a write is the last sync", valid, prev, true, Outcome{Written: true},
			Status{ExternalSecret: "a/x", Target: "a/x", LastSync: &now, Versions: old, Synced: "s1", Refreshed: &earlier, Ready: true}, false},
		{"a failure after a ready row is new", Status{ExternalSecret: "a/x", Target: "a/x", Message: "m"}, prev, true, Outcome{},
			Status{ExternalSecret: "a/x", Target: "a/x", LastSync: &then, Versions: old, Synced: "s1", Refreshed: &earlier, Message: "m"}, true},
		{"the same failure again is not new", Status{ExternalSecret: "a/x", Target: "a/x", Message: "m"}, Status{ExternalSecret: "a/x", Target: "a/x", Message: "m"}, true, Outcome{},
			Status{ExternalSecret: "a/x", Target: "a/x", Message: "m"}, false},
		{"a failure with another message is new", Status{ExternalSecret: "a/x", Target: "a/x", Message: "m2"}, Status{ExternalSecret: "a/x", Target: "a/x", Message: "m"}, true, Outcome{},
			Status{ExternalSecret: "a/x", Target: "a/x", Message: "m2"}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := c.st
			got := carryRow(&st, c.p, c.had, c.o, &now)
			if diff := cmp.Diff(c.want, st); diff != "" {
				t.Errorf("row (-want +got):\n%s", diff)
			}
			if got != c.newFailure {
				t.Errorf("new failure = %v, want %v", got, c.newFailure)
			}
		})
	}
}
