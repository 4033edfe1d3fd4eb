package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/client-go/kubernetes"

	"github.com/secretsync/secretsync/cluster"
	"github.com/secretsync/secretsync/inventory"
	"github.com/secretsync/secretsync/service"
)

// statusJSON is the documented shape of `secretsync status -o json`.
type statusJSON struct {
	Revision  string `json:"revision"`
	Suspended bool   `json:"suspended"`
	// PushSecrets come before ExternalSecrets: jsonRows streams the last list.
	PushSecrets     []inventory.PushRow `json:"pushSecrets,omitempty"`
	ExternalSecrets []inventory.Status  `json:"externalSecrets"`
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
			rows = newJSONRows(s.out)
		}
		st, err := readStatus(cmd.Context(), kube, inst, namespace, name, rows)
		if *wait {
			if st, err = waitForStatus(cmd.Context(), s, kube, inst, namespace, name, *revision, *timeout, st, err); err != nil {
				return err
			}
		}
		if err != nil {
			return fail(exitUsage, "%v", err)
		}
		if name != "" && len(st.ExternalSecrets) == 0 && len(st.PushSecrets) == 0 && (rows == nil || rows.n == 0) {
			return fail(exitFindings, "no ExternalSecret or PushSecret %s in namespace %s in the revision %s", name, orDash(namespace), st.Revision)
		}
		if err := printStatus(cmd.Context(), s, kube, inst, namespace, name, output.value, rows, st); err != nil {
			return err
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

// waitForStatus reads the status each second until the instance has handled
// revision (any when empty), st and err being the first read; it asks the
// instance once to record the revision. Its error is the command's exit.
func waitForStatus(ctx context.Context, s streams, kube kubernetes.Interface, inst *instanceFlags, namespace, name, revision string, timeout time.Duration, st statusJSON, err error) (statusJSON, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	asked := revision == ""
	for err != nil || !handled(st.Revision, revision) {
		if !asked && err == nil {
			// A commit that changes no Secret is recorded only when asked.
			asked = true
			if aerr := annotate(ctx, kube, inst, map[string]any{inventory.AnnotationRevisionWanted: revision}); aerr != nil {
				fmt.Fprintf(s.err, "note: cannot ask instance %s to record revision %s (%v); waiting for a pass that changes a Secret\n", inst.instance, revision, aerr)
			}
		}
		select {
		case <-ctx.Done():
			if err != nil {
				return st, fail(exitFindings, "timed out after %s: %v", timeout, err)
			}
			return st, fail(exitFindings, "timed out after %s waiting for revision %s; the instance is at %s", timeout, revision, st.Revision)
		case <-time.After(time.Second):
		}
		st, err = readStatus(ctx, kube, inst, namespace, name, nil)
	}
	return st, nil
}

// printStatus writes st as output asks (rows, when streaming JSON), then
// the push table and the notes for a person reading it.
func printStatus(ctx context.Context, s streams, kube kubernetes.Interface, inst *instanceFlags, namespace, name, output string, rows *jsonRows, st statusJSON) error {
	var err error
	switch output {
	case "json", "yaml":
		if rows != nil {
			err = rows.end(st)
		} else {
			err = writeData(s.out, output, st)
		}
	default:
		writeStatusTable(s.out, st, namespace == "", output == "wide")
		if len(st.PushSecrets) > 0 {
			writePushTable(s.out, st.PushSecrets, namespace == "", output == "wide")
		}
	}
	if err != nil {
		return fail(exitUsage, "%v", err)
	}
	if st.Suspended {
		fmt.Fprintf(s.err, "instance %s is suspended: it applies nothing until `secretsync resume`\n", inst.instance)
	}
	if len(st.ExternalSecrets) == 0 && output != "json" && output != "yaml" {
		fmt.Fprintf(s.err, "No ExternalSecrets in %s (revision %s).\n", scopeName(namespace), orDash(st.Revision))
	}
	return nil
}

// handled says whether the inventory's revision (ref@sha1:commit) is the
// one waited for; any recorded revision when want is empty.
func handled(have, want string) bool {
	if want == "" {
		return have != ""
	}
	return inventory.RevisionMatches(have, want)
}

func scopeName(namespace string) string {
	if namespace == "" {
		return "any namespace"
	}
	return "namespace " + namespace
}

// readStatus reads the inventory and keeps the ExternalSecrets in
// namespace ("" for all) named name ("" for all).
// rows, when set, takes the kept rows as JSON instead of st.
func readStatus(ctx context.Context, kube kubernetes.Interface, inst *instanceFlags, namespace, name string, rows *jsonRows) (statusJSON, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cm, err := inst.inventory(ctx, kube)
	if err != nil {
		return statusJSON{}, err
	}
	out := statusJSON{Suspended: service.Suspended(cm), ExternalSecrets: []inventory.Status{}}
	keep := func(id string) bool {
		ns, n, _ := strings.Cut(id, "/")
		return (namespace == "" || ns == namespace) && (name == "" || n == name)
	}
	// The push rows come first in the record, in the same walk: they are
	// in the head the streamed rows follow.
	pushed := func(r inventory.PushRow) {
		if keep(r.PushSecret) {
			out.PushSecrets = append(out.PushSecrets, r)
		}
	}
	if rows != nil {
		filtered := namespace != "" || name != ""
		out.Revision, err = inventory.ReadStatusRows(ctx, kube, cm, pushed, func(revision string, row json.RawMessage) error {
			if filtered {
				var id struct {
					ExternalSecret string `json:"externalSecret"`
				}
				if err := json.Unmarshal(row, &id); err != nil {
					return err
				}
				if !keep(id.ExternalSecret) {
					return nil
				}
			}
			return rows.add(statusJSON{Revision: revision, Suspended: out.Suspended, PushSecrets: out.PushSecrets}, row)
		})
	} else {
		out.Revision, err = inventory.ReadStatus(ctx, kube, cm, pushed, func(st inventory.Status) {
			if keep(st.ExternalSecret) {
				out.ExternalSecrets = append(out.ExternalSecrets, st)
			}
		})
	}
	if err != nil {
		return statusJSON{}, fmt.Errorf("inventory %s/%s: %w", cm.Namespace, cm.Name, err)
	}
	return out, nil
}

// jsonRows writes `-o json` as the record's rows are read: they are the
// JSON encoding/json writes for a Status, so indenting them gives the
// bytes writeData would write (tested), without decoding 50,000 rows and
// encoding them again, or holding the 20 MB document. A record that fails
// midway (its digest matched, so one made by hand) ends the output there.
type jsonRows struct {
	w   *bufio.Writer
	row bytes.Buffer // the row being indented
	n   int
}

func newJSONRows(w io.Writer) *jsonRows { return &jsonRows{w: bufio.NewWriterSize(w, 64<<10)} }

// add writes one row, the first after the document's head, made from head.
func (j *jsonRows) add(head statusJSON, row []byte) error {
	j.row.Reset()
	if j.n == 0 {
		b, err := jsonHead(head)
		if err != nil {
			return err
		}
		j.row.Write(b[:bytes.LastIndex(b, []byte("[]"))]) // up to the list, after the other fields
		j.row.WriteString("[\n    ")
	} else {
		j.row.WriteString(",\n    ")
	}
	if err := json.Indent(&j.row, row, "    ", "  "); err != nil {
		return err
	}
	j.n++
	_, err := j.w.Write(j.row.Bytes())
	return err
}

// end finishes the document: all of st's, with an empty list, when no row
// was added.
func (j *jsonRows) end(st statusJSON) error {
	if j.n == 0 {
		b, err := jsonHead(st)
		if err != nil {
			return err
		}
		j.w.Write(b)
		j.w.WriteString("\n")
	} else {
		j.w.WriteString("\n  ]\n}\n")
	}
	return j.w.Flush()
}

// jsonHead is st's document with an empty list, as writeData writes it.
func jsonHead(st statusJSON) ([]byte, error) {
	return json.MarshalIndent(statusJSON{Revision: st.Revision, Suspended: st.Suspended, PushSecrets: st.PushSecrets, ExternalSecrets: []inventory.Status{}}, "", "  ")
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

func short(s string, n int) string { return cluster.Truncate(oneLine(s), n) }

// writePushTable lists each remote secret a PushSecret pushes to: names,
// outcome and time, never values.
func writePushTable(w io.Writer, rows []inventory.PushRow, allNamespaces, wide bool) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	cols := []string{"PUSHSECRET", "STORE", "REMOTE KEY", "READY", "REASON", "LAST PUSH"}
	if allNamespaces {
		cols = append([]string{"NAMESPACE"}, cols...)
	}
	if wide {
		cols = append(cols, "SECRET", "SOURCE", "MESSAGE")
	} else {
		cols = append(cols, "MESSAGE")
	}
	fmt.Fprintln(w)
	fmt.Fprintln(tw, strings.Join(cols, "\t"))
	for _, r := range rows {
		ns, name, _ := strings.Cut(r.PushSecret, "/")
		last := "-"
		if r.LastPush != nil {
			last = r.LastPush.UTC().Format(time.RFC3339)
		}
		key := r.RemoteKey
		if r.Property != "" {
			key += "#" + r.Property
		}
		row := []string{name, r.Store, key, fmt.Sprint(r.Ready), orDash(r.Reason), last}
		if allNamespaces {
			row = append([]string{ns}, row...)
		}
		if wide {
			row = append(row, r.Secret, r.Source, oneLine(r.Message))
		} else {
			row = append(row, short(r.Message, 80))
		}
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	_ = tw.Flush()
}
