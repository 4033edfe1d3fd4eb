package reconciler_test

import (
	"context"
	"testing"
	"time"

	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"

	"github.com/secretsync/secretsync/reconciler"
)

// With the metadata-only source watch up, an idle poll reads no source
// Secret, and a changed source makes the watch ask for the pass that
// pushes it.
func TestPushSourceWatchNotifiesOnChangeAndIdlePollReadsNoSource(t *testing.T) {
	f := newFixture(t)
	f.source(f.ns, "src", map[string]string{"k": "watched-value-one"})
	f.commit(map[string]string{"store.yaml": f.store(), "push.yaml": f.push("p", "src", "", "k=watch/k")})
	if res := f.pass(); !res.OK() || res.Pushed != 1 {
		t.Fatalf("first pass: pushed %d, %v", res.Pushed, res.Errors)
	}
	meta, err := metadata.NewForConfig(rest.CopyConfig(env.Config))
	if err != nil {
		t.Fatal(err)
	}
	f.rec.SetMetadataClient(meta)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	notified := make(chan struct{}, 16)
	go f.rec.WatchPushSources(ctx, func() { notified <- struct{}{} })
	for deadline := time.Now().Add(30 * time.Second); !f.rec.PushWatchUp(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the source watch did not start")
		}
	}

	// The first idle poll after the watch started reads the source once
	// (the watch cannot vouch for the time before it); the next reads none.
	if res := f.passWith(false); res.Stage != reconciler.StageSkipped {
		t.Fatalf("idle poll: stage %s, %v", res.Stage, res.Errors)
	}
	get := "/api/v1/namespaces/" + f.ns + "/secrets/src"
	f.counter.Reset()
	if res := f.passWith(false); res.Stage != reconciler.StageSkipped || f.counter.Path("get", get) != 0 {
		t.Fatalf("idle poll with the watch up: stage %s, GETs of the source %d", res.Stage, f.counter.Path("get", get))
	}

	f.source(f.ns, "src", map[string]string{"k": "watched-value-two"})
	select {
	case <-notified:
	case <-time.After(10 * time.Second):
		t.Fatal("the source watch did not notice a changed source")
	}
	f.counter.Reset()
	if res := f.passWith(false); !res.OK() || res.Pushed != 1 {
		t.Fatalf("the pass the watch asked for: stage %s, pushed %d, %v", res.Stage, res.Pushed, res.Errors)
	}
	f.remoteValue("watch/k", "watched-value-two")
	if res := f.passWith(false); res.Stage != reconciler.StageSkipped {
		t.Fatalf("poll after the push: stage %s", res.Stage)
	}
}
