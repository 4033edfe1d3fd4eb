package pushsecret

import (
	"fmt"
	"testing"

	"github.com/secretsync/secretsync/render"
)

// With no --namespaces, every namespace is served, and a namespace need
// not exist for a watch of its Secrets to open (the API server serves an
// empty one). A repo writer who commits one small PushSecret in each of
// thousands of namespaces (render allows 200,000 objects) opened as many
// long-lived watches on the API server, each a stream and a goroutine,
// for the process's life. The source watches are bounded in total: past
// maxSourceWatches none is opened, and the watch vouches for nothing, so
// Due reads every source on each poll as it does without a watch (no
// change is missed).
func TestSourceWatchesAreBoundedAcrossNamespaces(t *testing.T) {
	w := &watcher{changed: make(chan struct{}, 1)}
	var pss []*render.PushSecret
	for i := range maxSourceWatches + 1 {
		ps := &render.PushSecret{}
		ps.Namespace, ps.Name = fmt.Sprintf("ns-%05d", i), "p"
		ps.Spec.Selector.Secret = &render.PushSecretSecret{Name: "src"}
		pss = append(pss, ps)
	}
	w.indexSources(pss[:maxSourceWatches], nil)
	if len(w.units) != maxSourceWatches {
		t.Fatalf("%d namespaces of one source each: %d watches, want one each", maxSourceWatches, len(w.units))
	}
	w.indexSources(pss, nil)
	if len(w.units) > maxSourceWatches {
		t.Fatalf("%d namespaces of one source each: %d watches, more than the %d bound", len(pss), len(w.units), maxSourceWatches)
	}
	w.running.Store(true)
	if w.trusted() {
		t.Fatal("the watch vouches for sources it does not watch: Due would read none, and a change would stay unpushed")
	}
}
