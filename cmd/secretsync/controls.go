package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/client-go/kubernetes"

	"github.com/secretsync/secretsync/reconciler"
	"github.com/secretsync/secretsync/service"
)

// The CLI controls a running instance through annotations on its inventory
// ConfigMap, which the leader watches (service/controls.go).

// requestID is a reconcile request's id: a UTC timestamp of fixed width, so
// that ids compare in time order as strings.
func requestID(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000000Z") }

// annotate merges annotations into the inventory ConfigMap; a nil value
// removes one.
func annotate(ctx context.Context, kube kubernetes.Interface, inst *instanceFlags, annotations map[string]any) error {
	return service.Annotate(ctx, kube, inst.namespace, inst.instance, annotations)
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
				if service.Suspended(cm) {
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
		Short: "Stop applying and pruning until resume (run --once too); polling goes on",
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
