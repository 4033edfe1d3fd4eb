package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/secretsync/secretsync/reconciler"
)

// statusJSON is the documented shape of `secretsync status -o json`.
type statusJSON struct {
	Revision        string              `json:"revision"`
	Suspended       bool                `json:"suspended"`
	ExternalSecrets []reconciler.Status `json:"externalSecrets"`
}

func newStatusCmd(s streams, cluster *clusterFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "status [NAME]",
		Short: "Show each ExternalSecret's condition, from the inventory in the cluster",
		Long: `Show the condition of each ExternalSecret of the last revision the running
instance handled: ready or not, the reason and message, the target Secret, the
last write and the file. The instance keeps this in its inventory ConfigMap;
no CRDs are needed.

As kubectl get: the kubeconfig context's namespace unless -n or -A is given;
NAME shows one ExternalSecret.

--wait waits until the instance has handled the revision (--revision, a
prefix of the commit or the ref@sha1:... it reports; any when empty) and
exits 0 when every ExternalSecret in scope is ready, 1 when one failed or
the timeout passed first. A commit that changes no Secret is recorded only
when asked: --wait --revision annotates the inventory to ask.`,
		Example: `  secretsync status -A
  secretsync status database -n payments -o yaml
  secretsync status -A --wait --revision "$(git rev-parse HEAD)" --timeout 5m`,
		Args: cobra.MaximumNArgs(1),
	}
	inst := addInstanceFlags(cmd)
	nsf := addNamespaceFlags(cmd, "ExternalSecrets")
	output := addOutput(cmd, "table", "wide", "json", "yaml")
	wait := cmd.Flags().Bool("wait", false, "wait until the revision is handled; exit 1 if an ExternalSecret in scope failed")
	revision := cmd.Flags().String("revision", "", "with --wait, the revision to wait for (a commit prefix); empty: any")
	timeout := cmd.Flags().Duration("timeout", 5*time.Minute, "with --wait, how long to wait")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		kube, err := cluster.client()
		if err != nil {
			return fail(exitUsage, "%v", err)
		}
		namespace := nsf.scope(cluster.namespace())
		name := ""
		if len(args) > 0 {
			name = args[0]
		}
		st, err := readStatus(cmd.Context(), kube, inst, namespace, name)
		if *wait {
			ctx, cancel := context.WithTimeout(cmd.Context(), *timeout)
			defer cancel()
			asked := *revision == ""
			for err != nil || !handled(st.Revision, *revision) {
				if !asked && err == nil {
					// A commit that changes no Secret is recorded only when asked.
					asked = true
					if aerr := annotate(ctx, kube, inst, map[string]any{reconciler.AnnotationRevisionWanted: *revision}); aerr != nil {
						fmt.Fprintf(s.err, "note: cannot ask instance %s to record revision %s (%v); waiting for a pass that changes a Secret\n", inst.instance, *revision, aerr)
					}
				}
				select {
				case <-ctx.Done():
					if err != nil {
						return fail(exitFindings, "timed out after %s: %v", *timeout, err)
					}
					return fail(exitFindings, "timed out after %s waiting for revision %s; the instance is at %s", *timeout, *revision, st.Revision)
				case <-time.After(time.Second):
				}
				st, err = readStatus(ctx, kube, inst, namespace, name)
			}
		}
		if err != nil {
			return fail(exitUsage, "%v", err)
		}
		if name != "" && len(st.ExternalSecrets) == 0 {
			return fail(exitFindings, "no ExternalSecret %s in namespace %s in the revision %s", name, orDash(namespace), st.Revision)
		}
		switch output.value {
		case "json":
			err = writeStatusJSON(s.out, st)
		case "yaml":
			err = writeData(s.out, output.value, st)
		default:
			writeStatusTable(s.out, st, namespace == "", output.value == "wide")
		}
		if err != nil {
			return fail(exitUsage, "%v", err)
		}
		if st.Suspended {
			fmt.Fprintf(s.err, "instance %s is suspended: it applies nothing until `secretsync resume`\n", inst.instance)
		}
		if len(st.ExternalSecrets) == 0 && output.value != "json" && output.value != "yaml" {
			fmt.Fprintf(s.err, "No ExternalSecrets in %s (revision %s).\n", scopeName(namespace), orDash(st.Revision))
		}
		if *wait {
			for _, es := range st.ExternalSecrets {
				if !es.Ready {
					return exit(exitFindings)
				}
			}
		}
		return nil
	}
	return cmd
}

// handled says whether the inventory's revision (ref@sha1:commit) is the
// one waited for; any recorded revision when want is empty.
func handled(have, want string) bool {
	if want == "" {
		return have != ""
	}
	return reconciler.RevisionMatches(have, want)
}

func scopeName(namespace string) string {
	if namespace == "" {
		return "any namespace"
	}
	return "namespace " + namespace
}

// readStatus reads the inventory and keeps the ExternalSecrets in
// namespace ("" for all) named name ("" for all).
func readStatus(ctx context.Context, kube kubernetes.Interface, inst *instanceFlags, namespace, name string) (statusJSON, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cm, err := inst.inventory(ctx, kube)
	if err != nil {
		return statusJSON{}, err
	}
	inv, err := reconciler.ReadStatus(ctx, kube, cm)
	if err != nil {
		return statusJSON{}, fmt.Errorf("inventory %s/%s: %w", cm.Namespace, cm.Name, err)
	}
	out := statusJSON{Revision: reconciler.InventoryRevision(cm, inv), Suspended: suspended(cm), ExternalSecrets: []reconciler.Status{}}
	for _, st := range inv.Status {
		ns, n, _ := strings.Cut(st.ExternalSecret, "/")
		if (namespace == "" || ns == namespace) && (name == "" || n == name) {
			out.ExternalSecrets = append(out.ExternalSecrets, st)
		}
	}
	return out, nil
}

// writeStatusJSON writes st exactly as writeData would, its rows encoded
// on every core: 50,000 rows are 20 MB of JSON, most of `status -A -o
// json`'s time.
func writeStatusJSON(w io.Writer, st statusJSON) error {
	head, err := json.MarshalIndent(statusJSON{Revision: st.Revision, Suspended: st.Suspended}, "", "  ")
	if err != nil {
		return err
	}
	rows := st.ExternalSecrets
	if len(rows) == 0 { // an empty list is written as [], on the same line
		_, err = fmt.Fprintf(w, "%s\n", strings.Replace(string(head), `"externalSecrets": null`, `"externalSecrets": []`, 1))
		return err
	}
	open := string(head[:bytes.LastIndex(head, []byte("null"))]) // the list's place, after the other fields
	chunks := make([][]byte, runtime.GOMAXPROCS(0))
	size := (len(rows) + len(chunks) - 1) / len(chunks)
	errs := make([]error, len(chunks))
	var wg sync.WaitGroup
	for c := range chunks {
		lo, hi := min(c*size, len(rows)), min((c+1)*size, len(rows))
		wg.Add(1)
		go func() {
			defer wg.Done()
			var b []byte
			for i := lo; i < hi; i++ {
				row, err := json.MarshalIndent(rows[i], "    ", "  ")
				if err != nil {
					errs[c] = err
					return
				}
				if i > 0 {
					b = append(b, ",\n"...)
				}
				b = append(append(b, "    "...), row...)
			}
			chunks[c] = b
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	bw.WriteString(open + "[\n")
	for _, b := range chunks {
		bw.Write(b)
	}
	bw.WriteString("\n  ]\n}\n")
	return bw.Flush()
}

func suspended(cm *corev1.ConfigMap) bool {
	return cm.Annotations[reconciler.AnnotationSuspended] == "true"
}

func writeStatusTable(w io.Writer, st statusJSON, allNamespaces, wide bool) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	cols := []string{"NAME", "TARGET", "READY", "REASON", "LAST SYNC"}
	if allNamespaces {
		cols = append([]string{"NAMESPACE"}, cols...)
	}
	if wide {
		cols = append(cols, "SOURCE", "MESSAGE")
	} else {
		cols = append(cols, "MESSAGE")
	}
	if len(st.ExternalSecrets) == 0 {
		return
	}
	fmt.Fprintln(tw, strings.Join(cols, "\t"))
	for _, s := range st.ExternalSecrets {
		ns, name, _ := strings.Cut(s.ExternalSecret, "/")
		last := "-"
		if s.LastSync != nil {
			last = s.LastSync.UTC().Format(time.RFC3339)
		}
		row := []string{name, orDash(s.Target), fmt.Sprint(s.Ready), orDash(s.Reason), last}
		if allNamespaces {
			row = append([]string{ns}, row...)
		}
		if wide {
			row = append(row, s.Source, oneLine(s.Message))
		} else {
			row = append(row, short(s.Message, 80))
		}
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	_ = tw.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func oneLine(s string) string { return strings.ReplaceAll(s, "\n", " ") }

func short(s string, n int) string { return truncate(oneLine(s), n) }
