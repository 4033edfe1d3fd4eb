package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/secretsync/secretsync/gitsource"
	"github.com/secretsync/secretsync/providers/aws"
	"github.com/secretsync/secretsync/reconciler"
	"github.com/secretsync/secretsync/render"
)

// localSource is a folder on disk, as the next revision would render it.
type localSource struct{ root string }

func (l localSource) Fetch(context.Context) (gitsource.Snapshot, error) {
	return gitsource.Snapshot{Revision: "working tree", Dir: l.root}, nil
}

// diffCmd is `secretsync diff [PATH]`: against the live cluster, which
// Secrets the next pass would create, change (keys compared by value,
// reported by name) or prune. It resolves values from AWS to compare them,
// prints none, and writes nothing. It exits as kubectl diff does: 0 when
// nothing would change, 1 when something would, 2 on an error.
func diffCmd(args []string, stdout, stderr io.Writer) int {
	fs, defNS, namespaces := reviewFlags("diff", stderr)
	instance := fs.String("instance", env("SECRETSYNC_INSTANCE", "secretsync"), "instance name")
	invNS := fs.String("inventory-namespace", env("SECRETSYNC_NAMESPACE", defaultNamespace()), "namespace of the inventory ConfigMap")
	kubeconfig := fs.String("kubeconfig", env("KUBECONFIG", ""), "kubeconfig file")
	region := fs.String("aws-region", env("SECRETSYNC_AWS_REGION", env("AWS_REGION", "")), "region for stores that name none")
	endpoint := fs.String("aws-endpoint", env("SECRETSYNC_AWS_ENDPOINT", ""), "Secrets Manager endpoint URL")
	kmsEndpoint := fs.String("kms-endpoint", env("SECRETSYNC_KMS_ENDPOINT", ""), "KMS endpoint URL")
	output := fs.String("o", "text", "text or json")
	if err := fs.Parse(args); err != nil {
		return flagExit(err)
	}
	root, rel, err := reviewRoot(argPath(fs))
	if err != nil {
		fmt.Fprintf(stderr, "secretsync diff: %v\n", err)
		return exitUsage
	}
	kube, err := kubeClient(*kubeconfig)
	if err != nil {
		fmt.Fprintf(stderr, "secretsync diff: %v\n", err)
		return exitUsage
	}
	rec, err := reconciler.New(reconciler.Config{Instance: *instance, InventoryNamespace: *invNS, Path: rel,
		Namespaces: splitList(*namespaces), Render: render.Options{DefaultNamespace: *defNS}},
		localSource{root}, kube, aws.NewFactory(aws.Options{Endpoint: *endpoint, KMSEndpoint: *kmsEndpoint, DefaultRegion: *region}), zerolog.Nop())
	if err != nil {
		fmt.Fprintf(stderr, "secretsync diff: %v\n", err)
		return exitUsage
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	diffs, res := rec.Diff(ctx)
	if *output == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(map[string]any{"secrets": diffs, "errors": errorStrings(res.Errors)})
	} else {
		for _, d := range diffs {
			line := fmt.Sprintf("%-7s %s/%s", d.Action, d.Namespace, d.Name)
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
			for _, k := range slices.Sorted(maps.Keys(d.TakenFrom)) {
				line += fmt.Sprintf(" (%s is held by field manager %s: overwritten)", k, d.TakenFrom[k])
			}
			fmt.Fprintln(stdout, line)
		}
		for _, e := range res.Errors {
			fmt.Fprintf(stderr, "error: %v\n", e)
		}
		if len(res.Errors) == 0 {
			fmt.Fprintf(stdout, "%d Secrets would change\n", len(diffs))
		}
	}
	// As kubectl diff: 0 no change, 1 changes, above 1 an error (and then
	// the list may be incomplete).
	switch {
	case len(res.Errors) > 0:
		return exitUsage
	case len(diffs) > 0:
		return exitFindings
	}
	return exitClean
}

func errorStrings(errs []error) []string {
	out := make([]string, 0, len(errs))
	for _, e := range errs {
		out = append(out, strings.TrimSpace(e.Error()))
	}
	return out
}
