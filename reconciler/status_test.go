package reconciler_test

import (
	"context"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// events lists "Secret/reason: message" for the fixture's namespace.
func (f *fixture) events() []string {
	f.t.Helper()
	list, err := env.Client.CoreV1().Events(f.ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		f.t.Fatal(err)
	}
	var out []string
	for _, e := range list.Items {
		out = append(out, e.InvolvedObject.Name+"/"+e.Reason+": "+e.Message)
	}
	sort.Strings(out)
	return out
}

func reasons(events []string) []string {
	var out []string
	for _, e := range events {
		out = append(out, e[:strings.Index(e, ":")])
	}
	return out
}

func TestEventsAndStatusRecordEachExternalSecret(t *testing.T) {
	f := newFixture(t)
	f.seed("k/a", "value-a-seeded")
	f.seed("k/b", "value-b-seeded")
	f.commit(map[string]string{"store.yaml": f.store(), "a.yaml": f.es("a", "v=k/a"), "b.yaml": f.es("b", "v=k/b")})
	mustOK(t, f.pass())
	if diff := cmp.Diff([]string{"a/Created", "b/Created"}, reasons(f.events())); diff != "" {
		t.Fatalf("events (-want +got):\n%s", diff)
	}
	st := f.inventory().Status
	if len(st) != 2 || !st[0].Ready || st[0].Reason != "Synced" || st[0].Source != "a.yaml" || st[0].Target != f.ns+"/a" || st[0].LastSync == nil || st[0].Versions.Get("k/a") == "" {
		t.Fatalf("status = %+v", st)
	}

	t.Run("a rotation is an Updated event and a new version id", func(t *testing.T) {
		old := f.inventory().Status[0].Versions.Get("k/a")
		f.rotate("k/a", "value-a2-seeded")
		mustOK(t, f.pass())
		if got := reasons(f.events()); !contains(strings.Join(got, ","), "a/Updated") {
			t.Fatalf("events = %v", got)
		}
		if v := f.inventory().Status[0].Versions.Get("k/a"); v == old || v == "" {
			t.Fatalf("version id did not move: %s", v)
		}
	})

	t.Run("a failure is one SyncFailed event with its class, not one per pass", func(t *testing.T) {
		f.sm.Delete(t, "k/b")
		f.pass()
		f.counter.Reset()
		f.pass()
		if w := f.writesBesideRefreshTime(); w != 0 {
			t.Fatalf("a pass repeating the same failure made %d writes", w)
		}
		var failed []string
		for _, e := range f.events() {
			if strings.HasPrefix(e, "b/SyncFailed") {
				failed = append(failed, e)
			}
		}
		if len(failed) != 1 || !strings.Contains(failed[0], "NotFound") || !strings.Contains(failed[0], "k/b") {
			t.Fatalf("SyncFailed events = %v", failed)
		}
		st := f.inventory().Status[1]
		if st.Ready || st.Reason != "NotFound" || !strings.Contains(st.Message, "k/b") {
			t.Fatalf("status = %+v", st)
		}
	})

	t.Run("a prune is a Deleted event", func(t *testing.T) {
		f.commit(map[string]string{"a.yaml": ""})
		f.pass()
		if got := reasons(f.events()); !contains(strings.Join(got, ","), "a/Deleted") {
			t.Fatalf("events = %v", got)
		}
	})
}
