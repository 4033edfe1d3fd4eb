package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/rs/zerolog"
	"github.com/spf13/cobra"

	"github.com/secretsync/secretsync/gitsource"
	actions "github.com/secretsync/secretsync/plan"
	"github.com/secretsync/secretsync/providers/aws"
	"github.com/secretsync/secretsync/pushsecret"
	"github.com/secretsync/secretsync/reconciler"
)

// localSource is a folder on disk, as the next revision would render it.
type localSource struct{ root string }

func (l localSource) Fetch(context.Context) (gitsource.Snapshot, error) {
	return gitsource.Snapshot{Revision: "working tree", Dir: l.root}, nil
}

// diffLong is diff's help.
const diffLong = `Compare PATH (default ".", as it is on disk) with the live cluster, as the
next pass of the running instance would: which Secrets it would create, which
keys it would add, change or remove, which Secrets it would delete, orphan or
prune, which of these it would refuse, and why (a prune past the budget,
after render errors or of everything; a changed immutable Secret), and, with
--reload-workloads as run has it, which opted-in workloads it would roll out.
It prints the plan of actions the pass executes. Values are resolved from AWS
to compare them and are never printed; nothing is written.

Lines marked "push" are the remote secrets PushSecrets write: create, update
(the value, compared in AWS, or the tags), delete (deletionPolicy Delete) or
refused, and why. AWS is asked read calls only.

-n narrows the output to one namespace; the comparison is always of the whole
PATH, as a pass makes it.

Exit codes, as kubectl diff: 0 the pass would change nothing, 1 it would
change something (a refusal is no change: it is counted apart), 2 an error,
or a refusal the pass reports as a failure (a prune past the budget or of
everything, a target it cannot read, a Merge target that does not exist).`

func newDiffCmd(s streams, cluster *clusterFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "diff [PATH]",
		Short: "Show the Secrets the next pass would create, change (by key), delete or prune, the workloads it would roll out and the remote secrets PushSecrets would write",
		Long:  diffLong,
		Example: `  secretsync diff secrets/
  secretsync diff secrets/ -n payments -o json`,
		Args: cobra.MaximumNArgs(1),
	}
	rf := addReviewFlags(cmd, true)
	inst := addInstanceFlags(cmd)
	nsf := addNamespaceFlags(cmd, "Secrets")
	region := cmd.Flags().String("aws-region", env("SECRETSYNC_AWS_REGION", env("AWS_REGION", "")), "region for stores that name none [SECRETSYNC_AWS_REGION, else AWS_REGION]")
	endpoint := cmd.Flags().String("aws-endpoint", env("SECRETSYNC_AWS_ENDPOINT", ""), "Secrets Manager endpoint URL [SECRETSYNC_AWS_ENDPOINT]")
	kmsEndpoint := cmd.Flags().String("kms-endpoint", env("SECRETSYNC_KMS_ENDPOINT", ""), "KMS endpoint URL [SECRETSYNC_KMS_ENDPOINT]")
	ssmEndpoint := cmd.Flags().String("ssm-endpoint", env("SECRETSYNC_SSM_ENDPOINT", ""), "Parameter Store (SSM) endpoint URL [SECRETSYNC_SSM_ENDPOINT]")
	acmEndpoint := cmd.Flags().String("acm-endpoint", env("SECRETSYNC_ACM_ENDPOINT", ""), "Certificate Manager endpoint URL [SECRETSYNC_ACM_ENDPOINT]")
	reload := cmd.Flags().Bool("reload-workloads", env("SECRETSYNC_RELOAD_WORKLOADS", "") == "true", "list the rollouts of workloads annotated secretsync.io/reload, as run with this flag makes them [SECRETSYNC_RELOAD_WORKLOADS]")
	output := addOutput(cmd, "table", "json", "yaml")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		root, rel, err := reviewRoot(pathArg(args))
		if err != nil {
			return fail(exitUsage, "%v", err)
		}
		kube, err := cluster.client()
		if err != nil {
			return fail(exitUsage, "%v", err)
		}
		rec, err := reconciler.New(reconciler.Config{Instance: inst.instance, InventoryNamespace: inst.namespace, Path: rel,
			Namespaces: splitList(rf.namespaces), OwnNamespaces: ownNamespaces(inst.namespace), ReloadWorkloads: *reload, Render: rf.renderOptions()},
			localSource{root}, kube, aws.NewFactory(aws.Options{Endpoint: *endpoint, KMSEndpoint: *kmsEndpoint, SSMEndpoint: *ssmEndpoint, ACMEndpoint: *acmEndpoint, DefaultRegion: *region}), zerolog.Nop())
		if err != nil {
			return fail(exitUsage, "%v", err)
		}
		ctx, cancel := context.WithTimeout(cmd.Context(), 5*time.Minute)
		defer cancel()
		all, res := rec.Diff(ctx)
		namespace := nsf.scope("")
		pushes := diffPushes(ctx, rec, namespace, &res)
		diffs := []reconciler.SecretDiff{}
		for _, d := range all {
			if namespace == "" || d.Namespace == namespace {
				diffs = append(diffs, d)
			}
		}
		if output.value != "table" {
			if err := writeData(s.out, output.value, diffData(diffs, pushes, res.Errors)); err != nil {
				return fail(exitUsage, "%v", err)
			}
		} else {
			writeDiffTable(s.out, diffs)
			writePushDiffTable(s.out, pushes)
		}
		for _, e := range res.Errors {
			fmt.Fprintf(s.err, "error: %v\n", e)
		}
		summary, code := countDiffs(diffs, pushes).verdict(len(res.Errors))
		fmt.Fprintln(s.err, summary)
		return exit(code)
	}
	return cmd
}

func writeDiffTable(w io.Writer, diffs []reconciler.SecretDiff) {
	for _, d := range diffs {
		line := fmt.Sprintf("%-7s %s/%s", d.Action, d.Namespace, d.Name)
		if d.Kind != "" {
			line += " (" + d.Kind + ")"
		}
		for _, part := range []struct {
			label string
			keys  []string
		}{{"+", d.Added}, {"~", d.Changed}, {"-", d.Removed}} {
			for _, k := range part.keys {
				line += " " + part.label + k
			}
		}
		if d.Other {
			line += " (metadata)"
		}
		if d.Action == string(actions.Refused) {
			line += fmt.Sprintf(" (would %s: %s)", d.Would, d.Reason)
			if d.Fails {
				line += " (the pass fails on it)"
			}
		}
		for _, k := range slices.Sorted(maps.Keys(d.TakenFrom)) {
			line += fmt.Sprintf(" (%s is held by field manager %s: overwritten)", k, d.TakenFrom[k])
		}
		fmt.Fprintln(w, line)
	}
}

// diffData is diff's -o json/yaml: the Secrets' actions, the rollouts
// apart (workloads, not Secrets), the remote secrets' pushes, and the
// errors.
func diffData(diffs []reconciler.SecretDiff, pushes []pushsecret.Action, errs []error) map[string]any {
	secrets, rollouts := []reconciler.SecretDiff{}, []reconciler.SecretDiff{}
	for _, d := range diffs {
		if d.Action == string(actions.Rollout) {
			rollouts = append(rollouts, d)
		} else {
			secrets = append(secrets, d)
		}
	}
	return map[string]any{"secrets": secrets, "rollouts": rollouts, "pushes": pushes, "errors": errorStrings(errs)}
}

// diffCounts counts a diff's lines by what the pass does with them.
type diffCounts struct {
	change, rollout, push, refused, fails int
}

func countDiffs(diffs []reconciler.SecretDiff, pushes []pushsecret.Action) diffCounts {
	var c diffCounts
	for _, a := range pushes {
		switch a.Kind {
		case pushsecret.Refused:
			c.refused++
		case pushsecret.Create, pushsecret.Update, pushsecret.Retag, pushsecret.Delete:
			c.push++
		}
	}
	for _, d := range diffs {
		switch {
		case d.Action == string(actions.Refused):
			c.refused++
			if d.Fails {
				c.fails++
			}
		case d.Action == string(actions.Rollout):
			c.rollout++
		default:
			c.change++
		}
	}
	return c
}

// verdict is the summary line and the exit code, as kubectl diff: 0 the
// pass would change nothing, 1 it would change something, 2 an error (the
// list may then be incomplete) or a refusal that fails the pass. A refusal
// is no change: counted apart, it alone exits 0 unless it fails the pass.
func (c diffCounts) verdict(errors int) (string, int) {
	parts := []string{"no Secret would change"}
	if c.change > 0 {
		parts[0] = plural(c.change, "Secret") + " would change"
	}
	if c.rollout > 0 {
		parts = append(parts, plural(c.rollout, "workload")+" would roll out")
	}
	if c.push > 0 {
		parts = append(parts, plural(c.push, "remote secret")+" would change")
	}
	if c.refused > 0 {
		refused := fmt.Sprintf("%d refused", c.refused)
		if c.fails > 0 {
			refused += fmt.Sprintf(" (%d would fail the pass)", c.fails)
		}
		parts = append(parts, refused)
	}
	code := exitClean
	switch {
	case errors > 0 || c.fails > 0:
		code = exitUsage
	case c.change+c.rollout+c.push > 0:
		code = exitFindings
	}
	return strings.Join(parts, ", "), code

}

// diffPushes is what the next pass would do to the remote secrets of the
// PushSecrets (Reconciler.DiffPushes) of namespace ("" every one), keep
// left out; its errors join res's, once each (a failed render is in both).
func diffPushes(ctx context.Context, rec *reconciler.Reconciler, namespace string, res *reconciler.Result) []pushsecret.Action {
	actions, errs := rec.DiffPushes(ctx)
	seen := map[string]bool{}
	for _, e := range res.Errors {
		seen[e.Error()] = true
	}
	for _, e := range errs {
		if !seen[e.Error()] {
			seen[e.Error()] = true
			res.Errors = append(res.Errors, e)
		}
	}
	out := []pushsecret.Action{}
	for _, a := range actions {
		if ns, _, _ := strings.Cut(a.PushSecret, "/"); a.Kind != pushsecret.Keep && (namespace == "" || ns == namespace) {
			out = append(out, a)
		}
	}
	return out
}

// writePushDiffTable prints the push actions, marked apart from the Secrets:
// "push create SecretStore/ns/aws app/db (PushSecret ns/p)"; a refusal
// says what it would do and why, a leave why.
func writePushDiffTable(w io.Writer, pushes []pushsecret.Action) {
	for _, a := range pushes {
		name := a.RemoteKey
		if a.Property != "" {
			name += "#" + a.Property
		}
		line := fmt.Sprintf("push %-7s %s %s (PushSecret %s)", a.Kind, a.Store, name, a.PushSecret)
		switch {
		case a.Kind == pushsecret.Refused:
			line += fmt.Sprintf(" (would %s: %s)", a.Would, a.Reason)
		case a.Reason != "":
			line += " (" + a.Reason + ")"
		}
		fmt.Fprintln(w, line)
	}
}

// plural is "1 Secret", "2 Secrets".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func errorStrings(errs []error) []string {
	out := make([]string, 0, len(errs))
	for _, e := range errs {
		out = append(out, strings.TrimSpace(e.Error()))
	}
	return out
}
