package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mattn/go-isatty"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/secretsync/secretsync/gitsource"
	"github.com/secretsync/secretsync/providers/aws"
	"github.com/secretsync/secretsync/reconciler"
	"github.com/secretsync/secretsync/render"
	"github.com/secretsync/secretsync/review"
)

// Exit codes of validate and plan.
const (
	exitClean    = 0
	exitFindings = 1
	exitUsage    = 2
)

func reviewFlags(name string, stderr io.Writer) (*flag.FlagSet, *string, *string) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	defNS := fs.String("default-namespace", env("SECRETSYNC_DEFAULT_NAMESPACE", "default"), "namespace for manifests that name none")
	namespaces := fs.String("namespaces", env("SECRETSYNC_NAMESPACES", ""), "comma-separated namespaces secretsync may write to; empty allows all")
	return fs, defNS, namespaces
}

// renderDir renders path (a folder on disk) the way the reconciler does,
// relative to the repository that holds it when there is one.
func renderDir(path, defNS string) (root string, set *render.Set, err error) {
	root, rel, err := reviewRoot(path)
	if err != nil {
		return "", nil, err
	}
	set, err = render.Render(context.Background(), root, rel, render.Options{DefaultNamespace: defNS})
	return root, set, err
}

// reviewRoot splits path into the root the render is confined to and the
// path below it: the git checkout that holds path, or, outside git, the
// current folder when path is below it (else the filesystem root), so that
// an overlay's ../base renders outside git as it does inside.
func reviewRoot(path string) (root, rel string, err error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", "", err
	}
	if root, err = gitsource.Root(abs); err != nil {
		root = string(filepath.Separator)
		if wd, err := os.Getwd(); err == nil && (abs == wd || strings.HasPrefix(abs, wd+string(filepath.Separator))) {
			root = wd
		}
	}
	rel, err = filepath.Rel(root, abs)
	return root, rel, err
}

func argPath(fs *flag.FlagSet) string {
	if fs.NArg() > 0 {
		return fs.Arg(0)
	}
	return "."
}

// renderCmd is `secretsync render PATH`: the decoded objects after
// kustomize, as YAML.
func renderCmd(args []string, stdout, stderr io.Writer) int {
	fs, defNS, _ := reviewFlags("render", stderr)
	if err := fs.Parse(args); err != nil {
		return flagExit(err)
	}
	root, set, err := renderDir(argPath(fs), *defNS)
	if err != nil {
		fmt.Fprintf(stderr, "secretsync render: %v\n", err)
		return exitUsage
	}
	// Each object keeps its file, in the annotation kustomize's
	// buildMetadata: [originAnnotations] writes.
	type sourced struct {
		obj    any
		source string
	}
	var objs []sourced
	for _, st := range set.Stores {
		objs = append(objs, sourced{st, st.Source})
	}
	for _, es := range set.ExternalSecrets {
		objs = append(objs, sourced{es, es.Source})
	}
	for i, o := range objs {
		b, err := withOrigin(o.obj, o.source)
		if err != nil {
			fmt.Fprintf(stderr, "secretsync render: %v\n", err)
			return exitUsage
		}
		if i > 0 {
			fmt.Fprintln(stdout, "---")
		}
		_, _ = stdout.Write(b)
	}
	for _, f := range review.ObjectErrors(root, set) {
		fmt.Fprintf(stderr, "error: %v\n", f)
	}
	fmt.Fprintf(stderr, "%d ExternalSecrets, %d stores, %d other objects skipped, %d errors\n", len(set.ExternalSecrets), len(set.Stores), len(set.Skipped), len(set.Errors))
	if len(set.Errors) > 0 {
		return exitFindings
	}
	return exitClean
}

// withOrigin marshals obj as YAML with a config.kubernetes.io/origin
// annotation naming its file; obj itself is not changed.
func withOrigin(obj any, source string) ([]byte, error) {
	b, err := yaml.Marshal(obj)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := yaml.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	meta, _ := m["metadata"].(map[string]any)
	if meta == nil {
		meta = map[string]any{}
		m["metadata"] = meta
	}
	annos, _ := meta["annotations"].(map[string]any)
	if annos == nil {
		annos = map[string]any{}
		meta["annotations"] = annos
	}
	annos["config.kubernetes.io/origin"] = "path: " + source + "\n"
	return yaml.Marshal(m)
}

// validateCmd is `secretsync validate [PATH]`.
func validateCmd(args []string, stdout, stderr io.Writer) int {
	fs, defNS, namespaces := reviewFlags("validate", stderr)
	output := fs.String("o", "text", "output: text or json")
	base := fs.String("base", "", "a git revision to compare with: each finding is marked new or existing, and only new ones fail")
	if err := fs.Parse(args); err != nil {
		return flagExit(err)
	}
	root, set, err := renderDir(argPath(fs), *defNS)
	if err != nil {
		fmt.Fprintf(stderr, "secretsync validate: %v\n", err)
		return exitUsage
	}
	opt := review.Options{Namespaces: splitList(*namespaces)}
	findings := review.Validate(root, set, opt)
	failing := len(findings)
	if *base != "" {
		baseFindings, err := validateAt(root, argPath(fs), *base, *defNS, opt)
		if err != nil {
			fmt.Fprintf(stderr, "secretsync validate: base %s: %v\n", *base, err)
			return exitUsage
		}
		failing = review.MarkNew(findings, baseFindings)
	}
	if *output == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(map[string]any{"findings": nonNil(findings)})
	} else {
		for _, f := range findings {
			fmt.Fprintln(stdout, f)
		}
		fmt.Fprintf(stdout, "%d ExternalSecrets, %d stores, %d other objects skipped, %d findings", len(set.ExternalSecrets), len(set.Stores), len(set.Skipped), len(findings))
		if *base != "" {
			fmt.Fprintf(stdout, " (%d new since %s)", failing, *base)
		}
		fmt.Fprintln(stdout)
	}
	if failing > 0 {
		return exitFindings
	}
	return exitClean
}

// validateAt validates path as it is at revision rev of the checkout at
// root; a path the revision does not have has no findings.
func validateAt(root, path, rev, defNS string, opt review.Options) ([]review.Finding, error) {
	_, rel, err := reviewRoot(path)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "secretsync-validate-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	if _, err := gitsource.Export(root, rev, dir); err != nil {
		return nil, err
	}
	set, err := render.Render(context.Background(), dir, rel, render.Options{DefaultNamespace: defNS})
	if errors.Is(err, render.ErrPathMissing) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return review.Validate(dir, set, opt), nil
}

func nonNil(f []review.Finding) []review.Finding {
	if f == nil {
		return []review.Finding{}
	}
	return f
}

// planCmd is `secretsync plan --base REF [--head REF] [PATH]`.
func planCmd(args []string, stdout, stderr io.Writer) int {
	fs, defNS, namespaces := reviewFlags("plan", stderr)
	base := fs.String("base", "", "the revision to compare with, like origin/main (required)")
	head := fs.String("head", "", "the revision under review; empty: the working tree")
	format := fs.String("format", "table", "table, markdown or json")
	check := fs.Bool("check-remote", false, "confirm every referenced remote secret and property exists (DescribeSecret; GetSecretValue only for properties); needs AWS credentials")
	region := fs.String("aws-region", env("SECRETSYNC_AWS_REGION", env("AWS_REGION", "")), "region for stores that name none (with --check-remote)")
	endpoint := fs.String("aws-endpoint", env("SECRETSYNC_AWS_ENDPOINT", ""), "Secrets Manager endpoint URL (with --check-remote)")
	if err := fs.Parse(args); err != nil {
		return flagExit(err)
	}
	switch {
	case *base == "":
		fmt.Fprintln(stderr, "secretsync plan: --base is required: the revision to compare with, e.g. --base origin/main")
		return exitUsage
	case *format != "table" && *format != "markdown" && *format != "json":
		fmt.Fprintf(stderr, "secretsync plan: --format %q is not table, markdown or json\n", *format)
		return exitUsage
	}
	abs, err := filepath.Abs(argPath(fs))
	if err != nil {
		fmt.Fprintf(stderr, "secretsync plan: %v\n", err)
		return exitUsage
	}
	// The path may be new in the change, or deleted by it: the repo is
	// found from its nearest folder that exists.
	existing := abs
	for {
		if _, err := os.Stat(existing); err == nil || filepath.Dir(existing) == existing {
			break
		}
		existing = filepath.Dir(existing)
	}
	root, err := gitsource.Root(existing)
	if err != nil {
		fmt.Fprintf(stderr, "secretsync plan: %v\n", err)
		return exitUsage
	}
	rel, _ := filepath.Rel(root, abs)
	opts := render.Options{DefaultNamespace: *defNS}
	// renderSide renders one side of the change; a path absent on that side
	// is an empty set (the folder is added or deleted).
	renderSide := func(dir string) (*render.Set, error) {
		set, err := render.Render(context.Background(), dir, rel, opts)
		if errors.Is(err, render.ErrPathMissing) {
			return &render.Set{}, nil
		}
		return set, err
	}
	renderRev := func(rev string) (string, string, *render.Set, error) {
		dir, err := os.MkdirTemp("", "secretsync-plan-")
		if err != nil {
			return "", "", nil, err
		}
		defer os.RemoveAll(dir)
		commit, err := gitsource.Export(root, rev, dir)
		if err != nil {
			return "", "", nil, err
		}
		set, err := renderSide(dir)
		return dir, commit, set, err
	}
	_, baseCommit, baseSet, err := renderRev(*base)
	if err != nil {
		fmt.Fprintf(stderr, "secretsync plan: base %s: %v\n", *base, err)
		return exitUsage
	}
	headName, headRoot := "working tree", root
	var headSet *render.Set
	if *head != "" {
		dir, err := os.MkdirTemp("", "secretsync-plan-")
		if err != nil {
			fmt.Fprintln(stderr, err)
			return exitUsage
		}
		defer os.RemoveAll(dir)
		commit, err := gitsource.Export(root, *head, dir)
		if err != nil {
			fmt.Fprintf(stderr, "secretsync plan: head: %v\n", err)
			return exitUsage
		}
		headName, headRoot = *head+"@"+commit[:12], dir
	}
	if headSet, err = renderSide(headRoot); err != nil {
		fmt.Fprintf(stderr, "secretsync plan: head %s: %v\n", headName, err)
		return exitUsage
	}
	p := review.MakePlan(*base+"@"+baseCommit[:12], headName, baseSet, headSet)
	p.Findings = nonNil(review.Validate(headRoot, headSet, review.Options{Namespaces: splitList(*namespaces)}))
	if *check {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		p.Findings = append(p.Findings, checkRemote(ctx, headSet, aws.NewFactory(aws.Options{Endpoint: *endpoint, DefaultRegion: *region}))...)
	}
	switch *format {
	case "markdown":
		err = review.WriteMarkdown(stdout, p)
	case "json":
		err = review.WriteJSON(stdout, p)
	default:
		f, isFile := stdout.(*os.File)
		err = review.WriteTable(stdout, p, isFile && isatty.IsTerminal(f.Fd()) && os.Getenv("NO_COLOR") == "")
	}
	if err != nil {
		fmt.Fprintf(stderr, "secretsync plan: %v\n", err)
		return exitUsage
	}
	if len(p.Findings) > 0 {
		return exitFindings
	}
	return exitClean
}

// explainCmd is `secretsync explain NAMESPACE/SECRET [PATH]`: which file
// and ExternalSecret produce a Secret, which remote references feed each
// key, the last revision that wrote it, and its condition.
func explainCmd(args []string, stdout, stderr io.Writer) int {
	fs, defNS, _ := reviewFlags("explain", stderr)
	instance := fs.String("instance", env("SECRETSYNC_INSTANCE", "secretsync"), "instance name")
	invNS := fs.String("inventory-namespace", env("SECRETSYNC_NAMESPACE", defaultNamespace()), "namespace of the inventory ConfigMap")
	kubeconfig := fs.String("kubeconfig", env("KUBECONFIG", ""), "kubeconfig file")
	if err := fs.Parse(args); err != nil {
		return flagExit(err)
	}
	target := fs.Arg(0)
	ns, name, ok := strings.Cut(target, "/")
	if !ok || ns == "" || name == "" {
		fmt.Fprintln(stderr, "usage: secretsync explain NAMESPACE/SECRET [PATH]")
		return exitUsage
	}
	path := "."
	if fs.NArg() > 1 {
		path = fs.Arg(1)
	}
	kube, err := kubeClient(*kubeconfig)
	if err != nil {
		fmt.Fprintf(stderr, "secretsync explain: %v\n", err)
		return exitUsage
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	fmt.Fprintf(stdout, "Secret %s/%s\n", ns, name)
	s, err := kube.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		// Never created, or deleted: the inventory's condition below says why.
		fmt.Fprintln(stdout, "  in the cluster:  does not exist")
	case err != nil:
		fmt.Fprintf(stderr, "secretsync explain: %v\n", err)
		return exitUsage
	default:
		fmt.Fprintf(stdout, "  managed by:      %s (instance %s)\n", orDash(s.Labels[reconciler.LabelManagedBy]), orDash(s.Labels[reconciler.LabelInstance]))
		if s.Labels[reconciler.LabelManagedBy] != reconciler.ManagedByValue || s.Labels[reconciler.LabelInstance] != *instance {
			fmt.Fprintf(stdout, "  not ours:        it lacks the labels %s=%s and %s=%s, so secretsync instance %s will not take it over: an ExternalSecret targeting it fails until it is deleted or the target renamed (creationPolicy Merge adds keys to it instead)\n",
				reconciler.LabelManagedBy, reconciler.ManagedByValue, reconciler.LabelInstance, *instance, *instance)
		}
		fmt.Fprintf(stdout, "  ExternalSecret:  %s\n", orDash(s.Annotations[reconciler.AnnotationExternalSecret]))
		fmt.Fprintf(stdout, "  file:            %s\n", orDash(s.Annotations[reconciler.AnnotationSource]))
		fmt.Fprintf(stdout, "  last written at: %s\n", orDash(s.Annotations[reconciler.AnnotationRevision]))
	}
	if cm, err := kube.CoreV1().ConfigMaps(*invNS).Get(ctx, "secretsync-inventory-"+*instance, metav1.GetOptions{}); err == nil {
		if inv, err := reconciler.DecodeInventory(cm.BinaryData); err == nil {
			for _, st := range inv.Status {
				if st.Target == target {
					fmt.Fprintf(stdout, "  condition:       ready=%v reason=%s %s\n", st.Ready, st.Reason, st.Message)
					for ref, v := range st.Versions {
						fmt.Fprintf(stdout, "  version:         %s = %s\n", ref, v)
					}
				}
			}
		}
	}
	_, set, err := renderDir(path, *defNS)
	if err != nil {
		fmt.Fprintf(stderr, "secretsync explain: render %s: %v\n", path, err)
		return exitFindings
	}
	plan := review.MakePlan("", "", nil, set)
	for _, sp := range plan.Secrets {
		if sp.Namespace+"/"+sp.Name != target {
			continue
		}
		fmt.Fprintf(stdout, "  in %s now: ExternalSecret %s (%s)\n", path, sp.ExternalSecret, sp.Source)
		for _, k := range sp.Keys {
			fmt.Fprintf(stdout, "    %-24s <- %s\n", k.Key, k.After)
		}
		return exitClean
	}
	fmt.Fprintf(stdout, "  no ExternalSecret in %s produces it any more\n", path)
	return exitClean
}

func flagExit(err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return exitClean
	}
	return exitUsage
}
