package pushsecret

import (
	"context"
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

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

// The watch remembered what it read of a Secret by the Secret alone, and
// took an event of a Secret it had read as a change only when its data
// differed. A Secret already pushed by one PushSecret (by name) that a
// repo writer labels into a second PushSecret's selection, or that leaves
// one of two selections, changes what the second pushes with the same
// data: the event asked for no pass, so the second did not push it (nor
// delete what it stopped pushing) until its refreshInterval, never with
// refreshInterval 0. A Secret joining or leaving any selection now makes
// a pass due, as its first selection did.
func TestASourceJoiningOrLeavingASecondSelectionAsksForAPass(t *testing.T) {
	sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "s", Labels: map[string]string{"app": "x"}},
		Data: map[string][]byte{"k": []byte("v")}}
	p := New(Config{Kube: fake.NewClientset(sec)})
	byName := &render.PushSecret{}
	byName.Namespace, byName.Name = "a", "by-name"
	byName.Spec.Selector.Secret = &render.PushSecretSecret{Name: "s"}
	byLabel := &render.PushSecret{}
	byLabel.Namespace, byLabel.Name = "a", "by-label"
	byLabel.Spec.Selector.Secret = &render.PushSecretSecret{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "x"}}}
	p.watch.indexSources([]*render.PushSecret{byName, byLabel}, nil)
	ctx := context.Background()
	unlabelled := &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "s"}}
	labelled := &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "s", Labels: map[string]string{"app": "x"}}}

	p.watch.known = map[string]seenSource{}
	if !p.sourceChanged(ctx, "a", unlabelled, false) {
		t.Fatal("the first event of a source asked for no pass")
	}
	if p.sourceChanged(ctx, "a", unlabelled, false) {
		t.Fatal("an event that changed nothing asked for a pass")
	}
	if !p.sourceChanged(ctx, "a", labelled, false) {
		t.Fatal("the Secret joined a-by-label's selection, data unchanged: no pass, so a/by-label does not push it")
	}
	if p.sourceChanged(ctx, "a", labelled, false) {
		t.Fatal("a second event of the labelled Secret asked for a pass")
	}
	if !p.sourceChanged(ctx, "a", unlabelled, false) {
		t.Fatal("the Secret left a/by-label's selection, still a/by-name's source: no pass, so a/by-label keeps its rows of it")
	}
}
