package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"

	"github.com/secretsync/secretsync/reconciler"
)

// The CLI controls a running instance through annotations on its inventory
// ConfigMap, which the leader watches: no extra API and no port to reach.

// requestID is a reconcile request's id: a UTC timestamp of fixed width, so
// that ids compare in time order as strings.
func requestID(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000000Z") }

// annotate merges annotations into the inventory ConfigMap; a nil value
// removes one.
func annotate(ctx context.Context, kube kubernetes.Interface, inst *instanceFlags, annotations map[string]any) error {
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": annotations}})
	if err != nil {
		return err
	}
	_, err = kube.CoreV1().ConfigMaps(inst.namespace).Patch(ctx, inst.inventoryName(), types.MergePatchType, patch,
		metav1.PatchOptions{FieldManager: "secretsync-cli"})
	return err
}

func newReconcileCmd(s streams, cluster *clusterFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "reconcile",
		Short: "Ask the running instance for a pass now, wait for it and print its result",
		Long: `Ask the running instance for a pass now, as "flux reconcile" does, instead of
waiting for the next poll: the request is an annotation on the inventory
ConfigMap, which the leader watches. The command waits until the leader has
handled it and prints the pass's result.

--refresh makes the pass count every ExternalSecret as changed, as ESO's
force-sync annotation does: values are fetched again for OnChange and for
Periodic with an interval, not for CreatedOnce or a refreshInterval of 0.

Exit codes: 0 the pass succeeded, 1 it failed or the timeout passed first, 2 the
request could not be made.`,
		Example: `  secretsync reconcile
  secretsync reconcile --refresh --timeout 5m`,
		Args: cobra.NoArgs,
	}
	inst := addInstanceFlags(cmd)
	refresh := cmd.Flags().Bool("refresh", false, "count every ExternalSecret as changed (ESO's force-sync): fetch again all values but CreatedOnce and refreshInterval 0 ones")
	timeout := cmd.Flags().Duration("timeout", 2*time.Minute, "how long to wait for the pass")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		kube, err := cluster.client()
		if err != nil {
			return fail(exitUsage, "%v", err)
		}
		ctx, cancel := context.WithTimeout(cmd.Context(), *timeout)
		defer cancel()
		if _, err := inst.inventory(ctx, kube); err != nil {
			return fail(exitUsage, "%v", err)
		}
		id := requestID(time.Now())
		ann := map[string]any{reconciler.AnnotationReconcileRequested: id, reconciler.AnnotationReconcileRefresh: nil}
		if *refresh {
			ann[reconciler.AnnotationReconcileRefresh] = "true"
		}
		if err := annotate(ctx, kube, inst, ann); err != nil {
			return fail(exitUsage, "request a pass: %v", err)
		}
		fmt.Fprintf(s.err, "requested a pass of instance %s at %s; waiting for the leader\n", inst.instance, id)
		for {
			cm, err := inst.inventory(ctx, kube)
			if err == nil && cm.Annotations[reconciler.AnnotationReconcileHandled] >= id {
				if suspended(cm) {
					fmt.Fprintf(s.err, "instance %s is suspended: the pass applied nothing\n", inst.instance)
				}
				result := cm.Annotations[reconciler.AnnotationReconcileResult]
				fmt.Fprintln(s.out, result)
				if !strings.HasPrefix(result, "ok") {
					return exit(exitFindings)
				}
				return nil
			}
			select {
			case <-ctx.Done():
				return fail(exitFindings, "no leader handled the request within %s: is the instance running (kubectl -n %s get pods)?", *timeout, inst.namespace)
			case <-time.After(500 * time.Millisecond):
			}
		}
	}
	return cmd
}

func newSuspendCmd(s streams, cluster *clusterFlags, suspend bool) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "suspend",
		Short: "Stop applying and pruning until resume; polling goes on",
		Long: `Suspend the running instance, as "flux suspend" does: it keeps polling and
serving metrics but applies and prunes nothing until "secretsync resume".
status shows it as suspended. The setting is an annotation on the inventory
ConfigMap, so it survives restarts and leader changes.`,
		Example: `  secretsync suspend
  secretsync resume`,
		Args: cobra.NoArgs,
	}
	value := any("true")
	if !suspend {
		cmd.Use, cmd.Short, value = "resume", "Start applying again after suspend, with a pass at once", nil
		cmd.Long = `Resume a suspended instance: the leader runs a pass at once and then polls
as before.`
		cmd.Example = `  secretsync resume`
	}
	inst := addInstanceFlags(cmd)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		kube, err := cluster.client()
		if err != nil {
			return fail(exitUsage, "%v", err)
		}
		ctx, cancel := context.WithTimeout(cmd.Context(), 30*time.Second)
		defer cancel()
		if _, err := inst.inventory(ctx, kube); err != nil {
			return fail(exitUsage, "%v", err)
		}
		if err := annotate(ctx, kube, inst, map[string]any{reconciler.AnnotationSuspended: value}); err != nil {
			return fail(exitUsage, "%v", err)
		}
		fmt.Fprintf(s.out, "instance %s %sed\n", inst.instance, strings.TrimSuffix(cmd.Name(), "e"))
		return nil
	}
	return cmd
}

// request is a reconcile request the leader has seen.
type request struct {
	id      string
	refresh bool
}

// watchControls follows the inventory ConfigMap's control annotations
// until ctx ends: it keeps s.suspended current, pokes a pass on resume,
// and hands each new reconcile request to the loop.
func (s *service) watchControls(ctx context.Context) {
	name := reconciler.InventoryName(s.cfg.instance)
	opts := metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("metadata.name", name).String()}
	for ctx.Err() == nil {
		list, err := s.kube.CoreV1().ConfigMaps(s.cfg.inventoryNS).List(ctx, opts)
		if err == nil {
			for i := range list.Items {
				s.control(ctx, &list.Items[i])
			}
			w, werr := s.kube.CoreV1().ConfigMaps(s.cfg.inventoryNS).Watch(ctx, metav1.ListOptions{
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
func (s *service) control(ctx context.Context, cm *corev1.ConfigMap) {
	s.answerRevisionWanted(ctx, cm)
	now := suspended(cm)
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
func (s *service) answerRevisionWanted(ctx context.Context, cm *corev1.ConfigMap) {
	if reconciler.UnansweredRevision(cm) == "" || !s.recording.CompareAndSwap(false, true) {
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
func (s *service) answer(ctx context.Context, req request, res *reconciler.Result) {
	result := "ok suspended: nothing applied"
	if res != nil {
		result = passSummary(*res)
	}
	inst := &instanceFlags{instance: s.cfg.instance, namespace: s.cfg.inventoryNS}
	err := annotate(ctx, s.kube, inst, map[string]any{
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
		fmt.Fprintf(&b, " errors=%d first=%q", len(r.Errors), truncate(r.Errors[0].Error(), 500))
	}
	return b.String()
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
