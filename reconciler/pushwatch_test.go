package reconciler_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"

	"github.com/secretsync/secretsync/reconciler"
)

// recordingMeta is a metadata client that records each watch opened
// through it ("namespace field=... label=...") and counts the events the
// API server sends on them.
type recordingMeta struct {
	metadata.Interface
	mu      sync.Mutex
	watches []string
	events  atomic.Int64
}

func (r *recordingMeta) Resource(gvr schema.GroupVersionResource) metadata.Getter {
	return recordingGetter{r.Interface.Resource(gvr), r}
}

func (r *recordingMeta) opened() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := slices.Clone(r.watches)
	slices.Sort(out)
	return slices.Compact(out)
}

type recordingGetter struct {
	metadata.Getter
	r *recordingMeta
}

func (g recordingGetter) Namespace(ns string) metadata.ResourceInterface {
	return recordingResource{g.Getter.Namespace(ns), g.r, ns}
}

type recordingResource struct {
	metadata.ResourceInterface
	r  *recordingMeta
	ns string
}

func (x recordingResource) Watch(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
	x.r.mu.Lock()
	x.r.watches = append(x.r.watches, fmt.Sprintf("%s field=%s label=%s", x.ns, opts.FieldSelector, opts.LabelSelector))
	x.r.mu.Unlock()
	wi, err := x.ResourceInterface.Watch(ctx, opts)
	if err != nil {
		return nil, err
	}
	return watch.Filter(wi, func(e watch.Event) (watch.Event, bool) {
		if e.Type != watch.Bookmark {
			x.r.events.Add(1)
		}
		return e, true
	}), nil
}

// startSourceWatch starts the PushSecrets' source watch of f's reconciler
// through a recordingMeta, waits until it is up, and returns the recorder
// and the channel notify writes to.
func (f *fixture) startSourceWatch() (*recordingMeta, chan struct{}) {
	f.t.Helper()
	meta, err := metadata.NewForConfig(rest.CopyConfig(env.Config))
	if err != nil {
		f.t.Fatal(err)
	}
	rec := &recordingMeta{Interface: meta}
	f.rec.SetMetadataClient(rec)
	ctx, cancel := context.WithCancel(context.Background())
	f.t.Cleanup(cancel)
	notified := make(chan struct{}, 64)
	go f.rec.WatchPushSources(ctx, func() { notified <- struct{}{} })
	for deadline := time.Now().Add(30 * time.Second); !f.rec.PushWatchUp(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			f.t.Fatal("the source watch did not start")
		}
	}
	return rec, notified
}

// watchSources is startSourceWatch past the one idle poll that reads the
// sources (the watch cannot vouch for the time before it).
func (f *fixture) watchSources() (*recordingMeta, chan struct{}) {
	f.t.Helper()
	rec, notified := f.startSourceWatch()
	if res := f.passWith(false); res.Stage != reconciler.StageSkipped {
		f.t.Fatalf("first idle poll: stage %s, %v", res.Stage, res.Errors)
	}
	return rec, notified
}

func waitNotified(t *testing.T, notified chan struct{}, what string) {
	t.Helper()
	select {
	case <-notified:
	case <-time.After(10 * time.Second):
		t.Fatalf("the source watch did not notice %s", what)
	}
}

// notNotified fails if notify is called within a short while (the watch
// handles an event in well under that).
func notNotified(t *testing.T, notified chan struct{}, what string) {
	t.Helper()
	select {
	case <-notified:
		t.Fatalf("the source watch asked for a pass after %s", what)
	case <-time.After(500 * time.Millisecond):
	}
}

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
	_, notified := f.watchSources()
	get := "/api/v1/namespaces/" + f.ns + "/secrets/src"
	f.counter.Reset()
	if res := f.passWith(false); res.Stage != reconciler.StageSkipped || f.counter.Path("get", get) != 0 {
		t.Fatalf("idle poll with the watch up: stage %s, GETs of the source %d", res.Stage, f.counter.Path("get", get))
	}

	f.source(f.ns, "src", map[string]string{"k": "watched-value-two"})
	waitNotified(t, notified, "a changed source")
	f.counter.Reset()
	if res := f.passWith(false); !res.OK() || res.Pushed != 1 {
		t.Fatalf("the pass the watch asked for: stage %s, pushed %d, %v", res.Stage, res.Pushed, res.Errors)
	}
	f.remoteValue("watch/k", "watched-value-two")
	if res := f.passWith(false); res.Stage != reconciler.StageSkipped {
		t.Fatalf("poll after the push: stage %s", res.Stage)
	}
}

// The source watch is filtered by the API server: one watch by name for a
// named source, one by label selector for a selector, none of the whole
// namespace; so 20 Secrets that are no source, created in the namespace,
// send it no event at all, and a changed source sends one. A Secret whose
// label is removed leaves the selection: the watch asks for a pass, and
// that pass pushes it no more.
func TestPushSourceWatchIsFilteredByTheAPIServerAndSeesASecretLeaveItsSelector(t *testing.T) {
	f := newFixture(t)
	push := map[string]string{"push": "yes"}
	f.source(f.ns, "src", map[string]string{"k": "named-source-one"})
	f.labelled(f.ns, "a", push, map[string]string{"db_user": "selected-user-1"})
	f.labelled(f.ns, "b", push, map[string]string{"db_pass": "selected-pass-1"})
	f.commit(map[string]string{"store.yaml": f.store(), "named.yaml": f.push("p", "src", "", "k=filtered/k"),
		"sel.yaml": f.pushSpec("sel", `  selector: {secret: {selector: {matchLabels: {push: "yes"}}}}
  dataTo: [{storeRef: {name: aws}, match: {regexp: "^db_"}, rewrite: [{regexp: {source: "^db_", target: "filtered/"}}]}]
`)})
	if res := f.pass(); !res.OK() || res.Pushed != 3 {
		t.Fatalf("first pass: pushed %d, %v", res.Pushed, res.Errors)
	}
	rec, notified := f.watchSources()
	want := []string{f.ns + " field=metadata.name=src label=", f.ns + " field= label=push=yes"}
	slices.Sort(want)
	if got := rec.opened(); !slices.Equal(got, want) {
		t.Fatalf("watches opened\n got %q\nwant %q", got, want)
	}

	for i := range 20 {
		f.labelled(f.ns, fmt.Sprintf("noise-%d", i), map[string]string{"push": "no"}, map[string]string{"n": fmt.Sprintf("noise-value-%d", i)})
	}
	f.source(f.ns, "src", map[string]string{"k": "named-source-two"})
	waitNotified(t, notified, "a changed named source")
	time.Sleep(300 * time.Millisecond)
	if n := rec.events.Load(); n != 1 {
		t.Fatalf("the API server sent %d events on the source watches, want 1 (the named source's change, none of the 20 other Secrets)", n)
	}
	if res := f.passWith(false); !res.OK() || res.Pushed != 1 {
		t.Fatalf("pass after the named source changed: pushed %d, %v", res.Pushed, res.Errors)
	}

	f.labelled(f.ns, "b", nil, map[string]string{"db_pass": "selected-pass-1"})
	waitNotified(t, notified, "a Secret that left the label selector")
	if res := f.passWith(false); !res.OK() {
		t.Fatalf("pass after b left the selector: %v", res.Errors)
	}
	var sources []string
	for _, r := range f.inventory().Pushed {
		if r.PushSecret == f.ns+"/sel" {
			sources = append(sources, r.Secret+" "+r.RemoteKey)
		}
	}
	if want := []string{f.ns + "/a filtered/user"}; !slices.Equal(sources, want) {
		t.Fatalf("sel's rows %q, want %q: b left its selection", sources, want)
	}
}

// A PushSecret in secretsync's own namespace is refused, so the source
// watch never watches there: a change of the Secret it names asks for no
// pass.
func TestPushSourceWatchNeverWatchesSecretsyncsOwnNamespace(t *testing.T) {
	f := newFixture(t)
	own := "t-" + randomSuffix()
	if _, err := env.Client.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: own}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	f.rec = f.newReconciler(func(c *reconciler.Config) { c.OwnNamespaces = []string{own} })
	f.source(f.ns, "src", map[string]string{"k": "Qv7-served-Zx81"})
	f.source(own, "creds", map[string]string{"token": "Kp3-own-Wm92-x"})
	ownPush := fmt.Sprintf("apiVersion: external-secrets.io/v1alpha1\nkind: PushSecret\nmetadata: {name: steal, namespace: %s}\nspec:\n  secretStoreRefs: [{name: aws}]\n  selector: {secret: {name: creds}}\n  data:\n    - match: {secretKey: token, remoteRef: {remoteKey: stolen/token}}\n", own)
	f.commit(map[string]string{"store.yaml": f.store(), "push.yaml": f.push("p", "src", "", "k=served/k"), "own.yaml": ownPush})
	if res := f.pass(); res.Pushed != 1 || len(res.Errors) != 1 {
		t.Fatalf("first pass: pushed %d, %v; want p pushed and steal refused", res.Pushed, res.Errors)
	}
	rec, notified := f.startSourceWatch()
	if got, want := rec.opened(), []string{f.ns + " field=metadata.name=src label="}; !slices.Equal(got, want) {
		t.Fatalf("watches opened %q, want %q only", got, want)
	}
	f.source(own, "creds", map[string]string{"token": "Kp3-own-Wm92-y"})
	notNotified(t, notified, "a change in secretsync's own namespace")
}

// A write to a source that leaves its data as it was (secretsync's own
// apply of a Secret that is also an ExternalSecret's target, with new
// annotations and the same data) asks for no pass; a changed value does.
func TestPushSourceWatchAsksNoPassForAWriteThatLeavesTheDataAsItWas(t *testing.T) {
	f := newFixture(t)
	f.source(f.ns, "src", map[string]string{"k": "data-as-it-was-1"})
	f.commit(map[string]string{"store.yaml": f.store(), "push.yaml": f.push("p", "src", "", "k=same/k")})
	if res := f.pass(); !res.OK() || res.Pushed != 1 {
		t.Fatalf("first pass: pushed %d, %v", res.Pushed, res.Errors)
	}
	_, notified := f.watchSources()

	// secretsync's own write: new annotations, the same data.
	apply := corev1ac.Secret("src", f.ns).WithAnnotations(map[string]string{"secretsync.io/refreshed": time.Now().Format(time.RFC3339Nano)}).
		WithData(map[string][]byte{"k": []byte("data-as-it-was-1")})
	get := "/api/v1/namespaces/" + f.ns + "/secrets/src"
	f.counter.Reset()
	if _, err := env.Client.CoreV1().Secrets(f.ns).Apply(context.Background(), apply, metav1.ApplyOptions{FieldManager: "secretsync", Force: true}); err != nil {
		t.Fatal(err)
	}
	// The watch reads the source on its event (or, wrongly, asks at once).
	for deadline := time.Now().Add(10 * time.Second); f.counter.Path("get", get) == 0 && len(notified) == 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the source watch handled no event of the write")
		}
	}
	notNotified(t, notified, "a write that left the data as it was")
	if res := f.passWith(false); res.Stage != reconciler.StageSkipped {
		t.Fatalf("poll after a write that left the data as it was: stage %s, %v", res.Stage, res.Errors)
	}

	f.source(f.ns, "src", map[string]string{"k": "data-as-it-was-2"})
	waitNotified(t, notified, "a changed value")
	if res := f.passWith(false); !res.OK() || res.Pushed != 1 {
		t.Fatalf("pass after the value changed: pushed %d, %v", res.Pushed, res.Errors)
	}
	f.remoteValue("same/k", "data-as-it-was-2")
}

// Beyond eight filtered watches a namespace gets one watch of all its
// Secrets; a Secret whose label is removed still leaves the selection
// there (the watch knows which Secrets the selector held).
func TestPushSourceWatchFallsBackToOneWatchOfTheNamespaceAndStillSeesASecretLeave(t *testing.T) {
	f := newFixture(t)
	push := map[string]string{"push": "yes"}
	files := map[string]string{"store.yaml": f.store(), "sel.yaml": f.pushSpec("sel", `  selector: {secret: {selector: {matchLabels: {push: "yes"}}}}
  dataTo: [{storeRef: {name: aws}, match: {regexp: "^db_"}, rewrite: [{regexp: {source: "^db_", target: "wide/"}}]}]
`)}
	for i := range 8 {
		f.source(f.ns, fmt.Sprintf("src-%d", i), map[string]string{"k": fmt.Sprintf("wide-named-%d", i)})
		files[fmt.Sprintf("p%d.yaml", i)] = f.push(fmt.Sprintf("p%d", i), fmt.Sprintf("src-%d", i), "", fmt.Sprintf("k=wide/named-%d", i))
	}
	f.labelled(f.ns, "a", push, map[string]string{"db_user": "wide-user-1"})
	f.labelled(f.ns, "b", push, map[string]string{"db_pass": "wide-pass-1"})
	f.commit(files)
	if res := f.pass(); !res.OK() || res.Pushed != 10 {
		t.Fatalf("first pass: pushed %d, %v", res.Pushed, res.Errors)
	}
	rec, notified := f.watchSources()
	if got, want := rec.opened(), []string{f.ns + " field= label="}; !slices.Equal(got, want) {
		t.Fatalf("watches opened %q, want %q: nine filters are more than eight", got, want)
	}
	f.labelled(f.ns, "b", nil, map[string]string{"db_pass": "wide-pass-1"})
	waitNotified(t, notified, "a Secret that left the label selector")
	if res := f.passWith(false); !res.OK() {
		t.Fatalf("pass after b left the selector: %v", res.Errors)
	}
	var sources []string
	for _, r := range f.inventory().Pushed {
		if r.PushSecret == f.ns+"/sel" {
			sources = append(sources, r.Secret+" "+r.RemoteKey)
		}
	}
	if want := []string{f.ns + "/a wide/user"}; !slices.Equal(sources, want) {
		t.Fatalf("sel's rows %q, want %q: b left its selection", sources, want)
	}
}

// A Secret that is both an ExternalSecret's target and a PushSecret's
// source: a commit that changes only the annotations its template sets
// makes secretsync apply it again with the same data, and the source
// watch asks for no pass after that; a change of its data does.
func TestPushSourceWatchAsksNoPassWhenSecretsyncReappliesATargetWithTheSameData(t *testing.T) {
	f := newFixture(t)
	f.seed("es/k", "target-and-source-1")
	es := func(note string) string {
		return withTarget(f.es("src", "k=es/k"), "{template: {metadata: {annotations: {note: "+note+"}}}}")
	}
	f.commit(map[string]string{"store.yaml": f.store(), "es.yaml": es("one"), "push.yaml": f.push("p", "src", "", "k=mirror/k")})
	if res := f.pass(); !res.OK() || res.Pushed != 1 {
		t.Fatalf("first pass: pushed %d, %v", res.Pushed, res.Errors)
	}
	f.remoteValue("mirror/k", "target-and-source-1")
	rec, notified := f.watchSources()

	before := rec.events.Load()
	f.commit(map[string]string{"es.yaml": es("two")})
	if res := f.passWith(false); !res.OK() || res.Pushed != 0 {
		t.Fatalf("pass of the new annotation: pushed %d, %v", res.Pushed, res.Errors)
	}
	if s := f.secret("src"); s.Annotations["note"] != "two" || string(s.Data["k"]) != "target-and-source-1" {
		t.Fatalf("src: annotation note %q, data kept %v", s.Annotations["note"], string(s.Data["k"]) == "target-and-source-1")
	}
	for deadline := time.Now().Add(10 * time.Second); rec.events.Load() == before; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the source watch got no event of the apply")
		}
	}
	notNotified(t, notified, "secretsync applied its target with the same data")
	if res := f.passWith(false); res.Stage != reconciler.StageSkipped {
		t.Fatalf("poll after the apply: stage %s, %v", res.Stage, res.Errors)
	}

	f.remember("target-and-source-2")
	patch := []byte(`{"data":{"k":"` + base64.StdEncoding.EncodeToString([]byte("target-and-source-2")) + `"}}`)
	if _, err := env.Client.CoreV1().Secrets(f.ns).Patch(context.Background(), "src", types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	waitNotified(t, notified, "a changed value of the target")
}
