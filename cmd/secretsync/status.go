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
		var rows *jsonRows
		if output.value == "json" && !*wait {
			rows = newJSONRows()
		}
		st, err := readStatus(cmd.Context(), kube, inst, namespace, name, rows)
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
				st, err = readStatus(ctx, kube, inst, namespace, name, nil)
			}
		}
		if err != nil {
			return fail(exitUsage, "%v", err)
		}
		if name != "" && len(st.ExternalSecrets) == 0 {
			return fail(exitFindings, "no ExternalSecret %s in namespace %s in the revision %s", name, orDash(namespace), st.Revision)
		}
		switch output.value {
		case "json", "yaml":
			if rows != nil {
				err = writeStatusJSON(s.out, st, rows)
			} else {
				err = writeData(s.out, output.value, st)
			}
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
// rows, when set, encodes the kept rows as JSON while they are read.
func readStatus(ctx context.Context, kube kubernetes.Interface, inst *instanceFlags, namespace, name string, rows *jsonRows) (statusJSON, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cm, err := inst.inventory(ctx, kube)
	if err != nil {
		return statusJSON{}, err
	}
	out := statusJSON{Suspended: suspended(cm), ExternalSecrets: []reconciler.Status{}}
	out.Revision, err = reconciler.ReadStatus(ctx, kube, cm, func(st reconciler.Status) {
		ns, n, _ := strings.Cut(st.ExternalSecret, "/")
		if (namespace == "" || ns == namespace) && (name == "" || n == name) {
			out.ExternalSecrets = append(out.ExternalSecrets, st)
			if rows != nil {
				rows.add(st)
			}
		}
	})
	if err != nil {
		return statusJSON{}, fmt.Errorf("inventory %s/%s: %w", cm.Namespace, cm.Name, err)
	}
	return out, nil
}

// jsonRows encodes status rows for `-o json` in batches, on the other
// cores, while the record is still being read: 50,000 rows are 20 MB of
// JSON, and reading and encoding them one after the other took most of
// `status -A -o json`'s time.
type jsonRows struct {
	pending []reconciler.Status
	slots   chan struct{} // encoders in flight
	wg      sync.WaitGroup
	mu      sync.Mutex
	batches [][]byte // in the rows' order
	err     error
}

func newJSONRows() *jsonRows { return &jsonRows{slots: make(chan struct{}, runtime.GOMAXPROCS(0))} }

func (j *jsonRows) add(st reconciler.Status) {
	if j.pending = append(j.pending, st); len(j.pending) == 512 {
		j.flush()
	}
}

func (j *jsonRows) flush() {
	if len(j.pending) == 0 {
		return
	}
	rows := j.pending
	j.pending = nil
	j.mu.Lock()
	i := len(j.batches)
	j.batches = append(j.batches, nil)
	j.mu.Unlock()
	j.slots <- struct{}{}
	j.wg.Add(1)
	go func() {
		defer j.wg.Done()
		defer func() { <-j.slots }()
		var b []byte
		var err error
		for k, st := range rows {
			var row []byte
			if row, err = json.MarshalIndent(st, "    ", "  "); err != nil {
				break
			}
			if k > 0 {
				b = append(b, ",\n"...)
			}
			b = append(append(b, "    "...), row...)
		}
		j.mu.Lock()
		defer j.mu.Unlock()
		j.batches[i], j.err = b, errors.Join(j.err, err)
	}()
}

// writeStatusJSON writes st, whose rows rows encoded, exactly as writeData
// would write it (tested).
func writeStatusJSON(w io.Writer, st statusJSON, rows *jsonRows) error {
	rows.flush()
	rows.wg.Wait()
	if rows.err != nil {
		return rows.err
	}
	head, err := json.MarshalIndent(statusJSON{Revision: st.Revision, Suspended: st.Suspended, ExternalSecrets: []reconciler.Status{}}, "", "  ")
	if err != nil {
		return err
	}
	if len(rows.batches) == 0 {
		_, err = fmt.Fprintf(w, "%s\n", head)
		return err
	}
	bw := bufio.NewWriter(w)
	bw.Write(head[:bytes.LastIndex(head, []byte("[]"))]) // up to the list, after the other fields
	bw.WriteString("[\n")
	for i, b := range rows.batches {
		if i > 0 {
			bw.WriteString(",\n")
		}
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
