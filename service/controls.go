package service

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"

	"github.com/secretsync/secretsync/cluster"
	"github.com/secretsync/secretsync/inventory"
	"github.com/secretsync/secretsync/reconciler"
)

// The CLI controls a running instance through annotations on its inventory
// ConfigMap, which the leader watches: no extra API and no port to reach.

// Annotate merges annotations into the inventory ConfigMap of instance in
// namespace; a nil value removes one.
func Annotate(ctx context.Context, kube kubernetes.Interface, namespace, instance string, annotations map[string]any) error {
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": annotations}})
	if err != nil {
		return err
	}
	_, err = kube.CoreV1().ConfigMaps(namespace).Patch(ctx, inventory.Name(instance), types.MergePatchType, patch,
		metav1.PatchOptions{FieldManager: "secretsync-cli"})
	return err
}

// Suspended reports whether the inventory cm says the instance is
// suspended (`secretsync suspend`).
func Suspended(cm *corev1.ConfigMap) bool {
	return cm.Annotations[reconciler.AnnotationSuspended] == "true"
}

// request is a reconcile request the leader has seen.
type request struct {
	id      string
	refresh bool
}

// watchControls follows the inventory ConfigMap's control annotations
// until ctx ends: it keeps s.suspended current, pokes a pass on resume,
// and hands each new reconcile request to the loop.
func (s *Service) watchControls(ctx context.Context) {
	name := inventory.Name(s.cfg.Instance)
	opts := metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("metadata.name", name).String()}
	for ctx.Err() == nil {
		list, err := s.kube.CoreV1().ConfigMaps(s.cfg.InventoryNamespace).List(ctx, opts)
		if err == nil {
			for i := range list.Items {
				s.control(ctx, &list.Items[i])
			}
			w, werr := s.kube.CoreV1().ConfigMaps(s.cfg.InventoryNamespace).Watch(ctx, metav1.ListOptions{
				FieldSelector: opts.FieldSelector, ResourceVersion: list.ResourceVersion})
			if err = werr; err == nil {
				for ev := range w.ResultChan() {
					if cm, ok := ev.Object.(*corev1.ConfigMap); ok && (ev.Type == watch.Added || ev.Type == watch.Modified) {
						s.control(ctx, cm)
					}
				}
				w.Stop()
			}
		}
		if err != nil && ctx.Err() == nil {
			s.log.Warn().Err(err).Msg("watch the inventory's control annotations; retrying")
		}
		select {
		case <-ctx.Done():
		case <-time.After(2 * time.Second):
		}
	}
}

// control acts on the inventory's annotations.
func (s *Service) control(ctx context.Context, cm *corev1.ConfigMap) {
	s.answerRevisionWanted(ctx, cm)
	now := Suspended(cm)
	if was := s.suspended.Swap(now); was != now {
		s.metrics.setSuspended(now)
		if now {
			s.log.Warn().Msg("suspended: no Secret is applied or pruned until `secretsync resume`")
		} else {
			s.log.Info().Msg("resumed")
			s.poke()
		}
	}
	id := cm.Annotations[reconciler.AnnotationReconcileRequested]
	if id == "" || id <= cm.Annotations[reconciler.AnnotationReconcileHandled] || id <= s.lastRequest {
		return
	}
	s.lastRequest = id
	r := request{id: id, refresh: cm.Annotations[reconciler.AnnotationReconcileRefresh] == "true"}
	// The newest request replaces one the loop has not taken yet.
	select {
	case <-s.requests:
	default:
	}
	s.requests <- r
}

// answerRevisionWanted records the revision `status --wait --revision`
// asks for, when the pass that handled it had nothing to write. One at a
// time, off the watch: it waits for a running pass.
func (s *Service) answerRevisionWanted(ctx context.Context, cm *corev1.ConfigMap) {
	if inventory.UnansweredRevision(cm) == "" || !s.recording.CompareAndSwap(false, true) {
		return
	}
	go func() {
		defer s.recording.Store(false)
		if err := s.rec.RecordWantedRevision(ctx, cm); err != nil {
			s.log.Warn().Err(err).Msg("record the revision status --wait asks for")
		}
	}()
}

// answer records on the inventory that req was handled, with the result of
// its pass (nil when suspended).
func (s *Service) answer(ctx context.Context, req request, res *reconciler.Result) {
	result := "ok suspended: nothing applied"
	if res != nil {
		result = passSummary(*res)
	}
	err := Annotate(ctx, s.kube, s.cfg.InventoryNamespace, s.cfg.Instance, map[string]any{
		reconciler.AnnotationReconcileHandled: req.id,
		reconciler.AnnotationReconcileResult:  result,
	})
	if err != nil {
		s.log.Warn().Err(err).Str("request", req.id).Msg("could not record the reconcile request as handled")
	}
}

// passSummary is a pass's result in one line, for `secretsync reconcile`:
// "ok" or "failed" first. It holds no value (errors never do).
func passSummary(r reconciler.Result) string {
	var b strings.Builder
	if r.OK() {
		b.WriteString("ok")
	} else {
		fmt.Fprintf(&b, "failed reason=%s", r.Reason)
	}
	fmt.Fprintf(&b, " revision=%s stage=%s applied=%d unchanged=%d pruned=%d failed=%d duration=%s",
		r.Revision, r.Stage, r.Applied, r.Unchanged, r.Pruned, r.Failed, r.Duration.Round(time.Millisecond))
	if r.PruneSkipped != "" {
		fmt.Fprintf(&b, " prune-skipped=%q", r.PruneSkipped)
	}
	if len(r.Errors) > 0 {
		fmt.Fprintf(&b, " errors=%d first=%q", len(r.Errors), cluster.Truncate(r.Errors[0].Error(), 500))
	}
	return b.String()
}
