package inventory

import (
	"errors"
	"iter"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/secretsync/secretsync/plan"
)

func seq(entries []Entry, err error) iter.Seq2[Entry, error] {
	return func(yield func(Entry, error) bool) {
		for _, e := range entries {
			if !yield(e, nil) {
				return
			}
		}
		if err != nil {
			yield(Entry{}, err)
		}
	}
}

func keys(ks ...plan.Target) map[plan.Target]bool {
	m := map[plan.Target]bool{}
	for _, k := range ks {
		m[k] = true
	}
	return m
}

func TestStale(t *testing.T) {
	owned := Entry{Namespace: "a", Name: "owned"}
	orphan := Entry{Namespace: "a", Name: "orphan"}
	failing := Entry{Namespace: "a", Name: "failing"}
	gone := Entry{Namespace: "a", Name: "gone"}
	goneCM := Entry{Namespace: "a", Name: "gone", Kind: "ConfigMap"}
	old := []Entry{owned, orphan, failing, gone, goneCM}
	cases := []struct {
		name                       string
		applied, rendered, blocked map[plan.Target]bool
		want                       Split
	}{
		{"what left Git is stale, a ConfigMap target apart from the Secret of its name",
			map[plan.Target]bool{owned.Key(): true}, keys(owned.Key(), orphan.Key(), failing.Key()), keys(failing.Key()),
			Split{Kept: []Entry{failing}, Released: []Entry{orphan}, Stale: []Entry{gone, goneCM}, Recorded: 5}},
		{"applied without owning it, the target is released",
			map[plan.Target]bool{owned.Key(): false}, keys(owned.Key()), nil,
			Split{Released: []Entry{owned}, Stale: []Entry{orphan, failing, gone, goneCM}, Recorded: 5}},
		{"blocked wins over rendered: a failing ExternalSecret keeps its entry",
			nil, keys(failing.Key()), keys(failing.Key()),
			Split{Kept: []Entry{failing}, Stale: []Entry{owned, orphan, gone, goneCM}, Recorded: 5}},
		{"owned and applied wins over blocked: recorded afresh by the pass",
			map[plan.Target]bool{failing.Key(): true}, keys(failing.Key()), keys(failing.Key()),
			Split{Stale: []Entry{owned, orphan, gone, goneCM}, Recorded: 5}},
		{"nothing in Git: everything is stale",
			nil, nil, nil,
			Split{Stale: old, Recorded: 5}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := Stale(seq(old, nil), Entry.Key, c.applied, c.rendered, c.blocked)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(c.want, got, cmpopts.EquateEmpty()); d != "" {
				t.Fatalf("Stale (-want +got):\n%s", d)
			}
		})
	}
}

func TestStaleReturnsTheReadError(t *testing.T) {
	boom := errors.New("read again")
	got, err := Stale(seq([]Entry{{Name: "read"}}, boom), Entry.Key, nil, nil, nil)
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want %v", err, boom)
	}
	if got.Recorded != 1 || !slices.Equal(got.Stale, []Entry{{Name: "read"}}) {
		t.Fatalf("split before the error = %+v, want the one row read", got)
	}
}
