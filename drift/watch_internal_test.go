package drift

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/secretsync/secretsync/plan"
)

// applied is a Secret as secretsync writes it: its content hashed into
// its hash annotation.
func applied(ns, name, value string) (*corev1.Secret, *Shape, string) {
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Annotations: map[string]string{}},
		Data: map[string][]byte{"password": []byte(value)}}
	sh := ShapeOf(s, AnnotationDataHash, true)
	hash := sh.Hash(s)
	s.Annotations[AnnotationDataHash] = hash
	return s, sh, hash
}

func key(s *corev1.Secret) plan.Target { return plan.Target{Namespace: s.Namespace, Name: s.Name} }

// With no watch running nothing is kept, and the watch that starts next is
// told so (it then asks for a pass that records the Secrets).
func TestExpectationsAreKeptOnlyWhileAWatchRuns(t *testing.T) {
	var w Watch
	s, sh, hash := applied("a", "db", "v1")
	w.Expect(key(s), Expected{Shape: sh, Hash: hash, Pass: 1})
	if _, ok := w.load(key(s)); ok {
		t.Error("an expectation was kept with no watch running")
	}
	if !w.setWatched(true) {
		t.Error("a watch that starts after a skipped expectation is not told it missed one")
	}
	if w.setWatched(true) {
		t.Error("missed is said twice")
	}
	w.Expect(key(s), Expected{Shape: sh, Hash: hash, Pass: 1})
	if _, ok := w.load(key(s)); !ok {
		t.Error("an expectation was dropped while a watch runs")
	}
	w.setWatched(false)
	w.Expect(plan.Target{Namespace: "a", Name: "other"}, Expected{Shape: sh, Hash: hash})
	if _, ok := w.load(key(s)); ok {
		t.Error("expectations outlived the watch")
	}
}

// A watch event is drift when an expected Secret is deleted or no longer
// holds what was written; our own takeover write (content as it was
// before) and Secrets with no expectation are not.
func TestDriftedIsAChangeAwayFromWhatWasWritten(t *testing.T) {
	var w Watch
	w.setWatched(true)
	s, sh, hash := applied("a", "db", "v1")
	before, _, _ := applied("a", "old", "v0") // the content before this pass's write
	before.Name = s.Name
	w.Expect(key(s), Expected{Shape: sh, Hash: hash, Before: before, Pass: 1})
	edited := s.DeepCopy()
	edited.Data["password"] = []byte("edited")
	unknown, _, _ := applied("a", "unknown", "v1")
	for _, c := range []struct {
		name  string
		event watch.EventType
		s     *corev1.Secret
		want  bool
	}{
		{"a deleted Secret is drift", watch.Deleted, s, true},
		{"an edited value is drift", watch.Modified, edited, true},
		{"a Secret still holding what was written is not drift", watch.Modified, s, false},
		{"the content it held before our write is not drift", watch.Modified, before, false},
		{"a Secret with no expectation is not drift", watch.Deleted, unknown, false},
		{"an added Secret is not drift", watch.Added, edited, false},
	} {
		if got := w.drifted(c.event, c.s); got != c.want {
			t.Errorf("%s: drifted %v, want %v", c.name, got, c.want)
		}
	}
}

// KeepPass drops what the pass did not confirm: an entry written before a
// write (pass 0) and one an earlier pass confirmed.
func TestKeepPassDropsWhatThePassDidNotConfirm(t *testing.T) {
	var w Watch
	w.setWatched(true)
	s, sh, hash := applied("a", "kept", "v")
	w.Expect(key(s), Expected{Shape: sh, Hash: hash, Pass: 2})
	w.Expect(plan.Target{Namespace: "a", Name: "unconfirmed"}, Expected{Shape: sh, Hash: hash})
	w.Expect(plan.Target{Namespace: "a", Name: "earlier"}, Expected{Shape: sh, Hash: hash, Pass: 1})
	w.KeepPass(2)
	for name, want := range map[string]bool{"kept": true, "unconfirmed": false, "earlier": false} {
		if _, ok := w.load(plan.Target{Namespace: "a", Name: name}); ok != want {
			t.Errorf("%s kept %v, want %v", name, ok, want)
		}
	}
}

// A pass trusts the watch only when every watch is up and nothing started,
// ended or drifted since the last pass that ran to its end.
func TestStartTrustsOnlyAnUnbrokenWatch(t *testing.T) {
	var w Watch
	if w.Start().Trusted {
		t.Error("trusted with no watch wanted")
	}
	w.wanted.Add(2)
	w.up.Add(1)
	w.gen.Add(1)
	if w.Start().Trusted {
		t.Error("trusted with one of two watches down")
	}
	w.up.Add(1)
	w.gen.Add(1)
	c := w.Start()
	if c.Trusted {
		t.Error("trusted before a pass read the Secrets since the watches started")
	}
	w.Done(c)
	if !w.Start().Trusted {
		t.Error("not trusted with every watch up and nothing seen since the last pass")
	}
	w.gen.Add(1) // a drift seen
	w.drift.Store(true)
	c = w.Start()
	if c.Trusted || !c.Drifted {
		t.Errorf("after a drift: trusted %v, drifted %v", c.Trusted, c.Drifted)
	}
	if w.Start().Drifted {
		t.Error("Start did not clear Drifted")
	}
}
