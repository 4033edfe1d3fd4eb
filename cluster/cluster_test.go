package cluster

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/secretsync/secretsync/internal/leaktest"
	"github.com/secretsync/secretsync/internal/scrub"
	"github.com/secretsync/secretsync/plan"
)

// newKube is a fake clientset that names created objects from their
// GenerateName, as the API server does (the fake leaves them nameless).
func newKube() *fake.Clientset {
	kube := fake.NewClientset()
	var n atomic.Int64
	kube.PrependReactor("create", "*", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if o, ok := a.(k8stesting.CreateAction).GetObject().(metav1.Object); ok && o.GetName() == "" {
			o.SetName(fmt.Sprint(o.GetGenerateName(), n.Add(1)))
		}
		return false, nil, nil
	})
	return kube
}

func listEvents(t *testing.T, kube *fake.Clientset, ns string) []corev1.Event {
	t.Helper()
	list, err := kube.CoreV1().Events(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return list.Items
}

// TestEventsPastTheCapAreCountedOncePerReason: the first perPass Events are
// recorded as they are, and the rest become one summary per reason, in
// the order the reasons first appeared, with their count.
func TestEventsPastTheCapAreCountedOncePerReason(t *testing.T) {
	kube := newKube()
	rec := NewRecorder(kube, "test", time.Now, zerolog.Nop(), scrub.New())
	var evs []Event
	for i := range 5 {
		evs = append(evs, Event{About: corev1.ObjectReference{Kind: "Secret", Namespace: "a", Name: fmt.Sprint("s", i)}, Type: "Normal", Reason: "Created", Message: "created"})
	}
	evs = append(evs, Event{About: corev1.ObjectReference{Kind: "Secret", Namespace: "a", Name: "gone"}, Type: "Normal", Reason: "Deleted", Message: "pruned"})
	inv := corev1.ObjectReference{Kind: "ConfigMap", Namespace: "sys", Name: "inventory"}
	rec.EmitCapped(context.Background(), evs, 2, 4, func(first Event, n int) Event {
		return Event{About: inv, Type: first.Type, Reason: first.Reason, Message: fmt.Sprintf("%d more %s", n, first.Reason)}
	})
	var names []string
	for _, e := range listEvents(t, kube, "a") {
		names = append(names, e.InvolvedObject.Name+":"+e.Reason)
	}
	sort.Strings(names)
	if fmt.Sprint(names) != "[s0:Created s1:Created]" {
		t.Errorf("per-object Events = %v, want the first two", names)
	}
	var summaries []string
	for _, e := range listEvents(t, kube, "sys") {
		summaries = append(summaries, e.Reason+":"+e.Message)
	}
	sort.Strings(summaries)
	if fmt.Sprint(summaries) != "[Created:3 more Created Deleted:1 more Deleted]" {
		t.Errorf("summaries = %v, want one per reason with its count", summaries)
	}
}

// TestAnEventsMessageIsScrubbed: a value the pass knows never reaches an
// Event, however the caller built the message.
func TestAnEventsMessageIsScrubbed(t *testing.T) {
	kube := newKube()
	red := scrub.New()
	canary := leaktest.Canary()
	red.AddString(canary)
	var c leaktest.Canaries
	c.Add(canary)
	rec := NewRecorder(kube, "test", time.Now, zerolog.Nop(), red)
	rec.Emit(context.Background(), Event{About: corev1.ObjectReference{Kind: "Secret", Namespace: "a", Name: "s"}, Type: "Warning", Reason: "SyncFailed", Message: "the server said " + canary})
	evs := listEvents(t, kube, "a")
	if len(evs) != 1 {
		t.Fatalf("%d Events, want 1", len(evs))
	}
	c.Check(t, "event", evs[0].Message)
}

// TestAConfigMapTargetTravelsAsASecret: a ConfigMap target is created with
// text values in data and the rest in binaryData, and reads back as the
// Secret it was written from.
func TestAConfigMapTargetTravelsAsASecret(t *testing.T) {
	kube := newKube()
	tg := NewTargets(kube, scrub.New())
	ctx := context.Background()
	target := plan.Target{Namespace: "a", Name: "cfg", Kind: "ConfigMap"}
	in := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "cfg", Namespace: "a", Labels: map[string]string{"l": "v"}},
		Data: map[string][]byte{"text": []byte("hello"), "bin": {0xff, 0xfe}}}
	if err := tg.Create(ctx, target, in); err != nil {
		t.Fatal(err)
	}
	cm, err := kube.CoreV1().ConfigMaps("a").Get(ctx, "cfg", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if cm.Data["text"] != "hello" || !bytes.Equal(cm.BinaryData["bin"], []byte{0xff, 0xfe}) || len(cm.Data)+len(cm.BinaryData) != 2 {
		t.Fatalf("ConfigMap holds data %v binaryData %v; want text in data, bytes in binaryData", cm.Data, cm.BinaryData)
	}
	back, err := tg.Get(ctx, target)
	if err != nil {
		t.Fatal(err)
	}
	if len(back.Data) != 2 || string(back.Data["text"]) != "hello" || !bytes.Equal(back.Data["bin"], []byte{0xff, 0xfe}) || back.Labels["l"] != "v" {
		t.Fatalf("read back %d keys, labels %v; want the Secret written", len(back.Data), back.Labels)
	}
	if _, err := kube.CoreV1().Secrets("a").Get(ctx, "cfg", metav1.GetOptions{}); err == nil {
		t.Fatal("a ConfigMap target was also written as a Secret")
	}
}

func TestTruncate(t *testing.T) {
	for _, c := range []struct {
		in   string
		n    int
		want string
	}{{"short", 10, "short"}, {"exactly", 7, "exactly"}, {"longer text", 6, "longer…"}} {
		if got := Truncate(c.in, c.n); got != c.want {
			t.Errorf("Truncate(%q, %d) = %q, want %q", c.in, c.n, got, c.want)
		}
	}
}
