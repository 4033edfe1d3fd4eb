package cluster

import (
	"context"
	"time"

	"github.com/rs/zerolog"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/secretsync/secretsync/internal/parallel"
	"github.com/secretsync/secretsync/internal/scrub"
	"github.com/secretsync/secretsync/plan"
	"github.com/secretsync/secretsync/render"
)

// Event is one Kubernetes Event about an object.
type Event struct {
	About                 corev1.ObjectReference
	Type, Reason, Message string
}

// Ref is the reference an Event about target t names.
func Ref(t plan.Target) corev1.ObjectReference {
	kind := t.Kind
	if kind == "" {
		kind = render.KindSecret
	}
	return corev1.ObjectReference{APIVersion: "v1", Kind: kind, Namespace: t.Namespace, Name: t.Name}
}

// Recorder records Events as secretsync, best effort: a failure is logged
// at debug level and nothing else. Every message goes through red.
type Recorder struct {
	kube     kubernetes.Interface
	instance string
	now      func() time.Time
	log      zerolog.Logger
	red      *scrub.Redactor
}

// NewRecorder returns a Recorder reporting as instance.
func NewRecorder(kube kubernetes.Interface, instance string, now func() time.Time, log zerolog.Logger, red *scrub.Redactor) Recorder {
	return Recorder{kube: kube, instance: instance, now: now, log: log, red: red}
}

// Emit records one Event.
func (rec Recorder) Emit(ctx context.Context, e Event) {
	msg := rec.red.String(e.Message)
	now := metav1.NewTime(rec.now())
	ev := &corev1.Event{
		ObjectMeta:          metav1.ObjectMeta{GenerateName: e.About.Name + ".", Namespace: e.About.Namespace},
		InvolvedObject:      e.About,
		Reason:              e.Reason,
		Message:             Truncate(msg, 1024),
		Type:                e.Type,
		Source:              corev1.EventSource{Component: "secretsync"},
		FirstTimestamp:      now,
		LastTimestamp:       now,
		Count:               1,
		ReportingController: "secretsync.io/secretsync",
		ReportingInstance:   rec.instance,
	}
	if _, err := rec.kube.CoreV1().Events(e.About.Namespace).Create(ctx, ev, metav1.CreateOptions{}); err != nil {
		rec.log.Debug().Err(rec.red.Error(err)).Str("namespace", e.About.Namespace).Str("kind", e.About.Kind).
			Str("name", e.About.Name).Str("reason", e.Reason).Msg("event not recorded")
	}
}

// EmitCapped records the first perPass of events (the caller puts what
// matters most first), concurrency at a time, and for the rest one Event
// per reason that overflow writes, given that reason's first left-over
// Event and how many were left over: a pass over 10,000 Secrets would
// otherwise double its writes.
func (rec Recorder) EmitCapped(ctx context.Context, events []Event, perPass, concurrency int, overflow func(first Event, n int) Event) {
	n := min(len(events), perPass)
	var jobs []func()
	for _, e := range events[:n] {
		jobs = append(jobs, func() { rec.Emit(ctx, e) })
	}
	rest := map[string]int{}
	var firsts []Event
	for _, e := range events[n:] {
		if rest[e.Reason] == 0 {
			firsts = append(firsts, e)
		}
		rest[e.Reason]++
	}
	for _, e := range firsts {
		summary := overflow(e, rest[e.Reason])
		jobs = append(jobs, func() { rec.Emit(ctx, summary) })
	}
	parallel.Run(concurrency, jobs)
}

// Truncate cuts s to n bytes, marking the cut.
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
