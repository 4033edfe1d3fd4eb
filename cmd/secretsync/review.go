package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/secretsync/secretsync/desired"
	"github.com/secretsync/secretsync/gitsource"
	"github.com/secretsync/secretsync/inventory"
	actions "github.com/secretsync/secretsync/plan"
	"github.com/secretsync/secretsync/providers/aws"
	"github.com/secretsync/secretsync/reconciler"
	"github.com/secretsync/secretsync/render"
	"github.com/secretsync/secretsync/review"
)

// reviewFlags are the settings review commands share with `run`, so that
// they judge a folder as the reconciler would.
type reviewFlags struct {
	defaultNamespace, namespaces string
	namespacedOnly               bool
}

// namespacedOnlyUsage is --namespaced-only's help, shared by run and the
// review commands.
const namespacedOnlyUsage = "refuse ClusterSecretStore and ClusterExternalSecret from the repo path, each an error naming it (nothing pruned while one is there): for an instance that serves one team [SECRETSYNC_NAMESPACED_ONLY]"

// renderOptions are the render settings run would use.
func (f *reviewFlags) renderOptions() render.Options {
	return render.Options{DefaultNamespace: f.defaultNamespace, NamespacedOnly: f.namespacedOnly}
}

func addReviewFlags(cmd *cobra.Command, withNamespaces bool) *reviewFlags {
	f := &reviewFlags{}
	cmd.Flags().StringVar(&f.defaultNamespace, "default-namespace", env("SECRETSYNC_DEFAULT_NAMESPACE", "default"), "namespace for manifests that name none [SECRETSYNC_DEFAULT_NAMESPACE]")
	if withNamespaces {
		cmd.Flags().StringVar(&f.namespaces, "namespaces", env("SECRETSYNC_NAMESPACES", ""), "comma-separated namespaces secretsync may write to; empty allows all [SECRETSYNC_NAMESPACES]")
	}
	cmd.Flags().BoolVar(&f.namespacedOnly, "namespaced-only", env("SECRETSYNC_NAMESPACED_ONLY", "") == "true", namespacedOnlyUsage)
	return f
}

// renderDir renders path (a folder on disk) the way the reconciler does,
// relative to the repository that holds it when there is one.
func renderDir(path string, opts render.Options) (root string, set *render.Set, err error) {
	root, rel, err := reviewRoot(path)
	if err != nil {
		return "", nil, err
	}
	set, err = renderOffline(root, rel, opts, nil)
	return root, set, err
}

// renderOffline renders as the reconciler does, without a cluster: a
// ClusterExternalSecret is expanded into namespaces (nil: only those it
// names, since what its namespaceSelectors choose is known at run time).
func renderOffline(root, rel string, opts render.Options, namespaces []desired.Namespace) (*render.Set, error) {
	set, err := render.Render(context.Background(), root, rel, opts)
	if err == nil {
		if namespaces == nil {
			namespaces = desired.NamedNamespaces(set)
		}
		desired.Expand(set, namespaces)
	}
	return set, err
}

// clusterNamespaces lists the cluster's namespaces and their labels, for
// plan --cluster-namespaces.
func clusterNamespaces(ctx context.Context, cluster *clusterFlags) ([]desired.Namespace, error) {
	kube, err := cluster.client()
	if err != nil {
		return nil, err
	}
	list, err := kube.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list namespaces: %w", err)
	}
	out := []desired.Namespace{}
	for _, ns := range list.Items {
		out = append(out, desired.Namespace{Name: ns.Name, Labels: ns.Labels})
	}
	return out, nil
}

// noteSelectors says, for the review commands, which ClusterExternalSecrets
// also choose namespaces by label, which only the cluster can tell.
func noteSelectors(w io.Writer, set *render.Set) {
	for _, c := range set.ClusterExternalSecrets {
		if c.Spec.NamespaceSelector != nil || len(c.Spec.NamespaceSelectors) > 0 {
			fmt.Fprintf(w, "note: ClusterExternalSecret %s (%s) also chooses namespaces by label, in the cluster at each pass; shown here only in the namespaces it names\n", c.Name, c.Source)
		}
	}
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

func newRenderCmd(s streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "render [PATH]",
		Short: "Print the ExternalSecrets and stores a folder renders to, after kustomize",
		Long: `Render PATH as the reconciler does (kustomize when it holds a
kustomization.yaml, else every YAML file below it) and print the decoded
ExternalSecrets, SecretStores and ClusterSecretStores. Each object carries a
config.kubernetes.io/origin annotation naming its file. Other kinds are
skipped and counted; errors are printed to stderr with file and line.`,
		Example: `  secretsync render examples/basic
  secretsync render overlays/production -o json | jq '.items[].metadata.name'`,
		Args: cobra.MaximumNArgs(1),
	}
	rf := addReviewFlags(cmd, false)
	output := addOutput(cmd, "yaml", "json")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		root, set, err := renderDir(pathArg(args), rf.renderOptions())
		if err != nil {
			return fail(exitUsage, "%v", err)
		}
		var objs []map[string]any
		for _, st := range set.Stores {
			o, err := withOrigin(st, st.Source)
			if err != nil {
				return fail(exitUsage, "%v", err)
			}
			objs = append(objs, o)
		}
		for _, c := range set.ClusterExternalSecrets {
			o, err := withOrigin(c, c.Source)
			if err != nil {
				return fail(exitUsage, "%v", err)
			}
			objs = append(objs, o)
		}
		for _, es := range set.ExternalSecrets {
			o, err := withOrigin(es, es.Source)
			if err != nil {
				return fail(exitUsage, "%v", err)
			}
			objs = append(objs, o)
		}
		if output.value == "json" {
			// As kubectl prints several objects: one List.
			err = writeData(s.out, "json", map[string]any{"apiVersion": "v1", "kind": "List", "items": append([]map[string]any{}, objs...)})
		} else {
			for i, o := range objs {
				if i > 0 {
					fmt.Fprintln(s.out, "---")
				}
				if err = writeData(s.out, "yaml", o); err != nil {
					break
				}
			}
		}
		if err != nil {
			return fail(exitUsage, "%v", err)
		}
		for _, f := range review.ObjectErrors(root, set) {
			fmt.Fprintf(s.err, "error: %v\n", f)
		}
		fmt.Fprintf(s.err, "%d ExternalSecrets, %d stores, %d other objects skipped, %d errors\n", len(set.ExternalSecrets), len(set.Stores), len(set.Skipped), len(set.Errors))
		noteSelectors(s.err, set)
		if len(set.Errors) > 0 {
			return exit(exitFindings)
		}
		return nil
	}
	return cmd
}

// withOrigin is obj as a map with a config.kubernetes.io/origin
// annotation naming its file; obj itself is not changed.
func withOrigin(obj any, source string) (map[string]any, error) {
	b, err := json.Marshal(obj)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
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
	return m, nil
}

func newValidateCmd(s streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "validate [PATH]",
		Short: "Check manifests offline: schema, ESO rules, stores, namespaces, writers",
		Long: `Render PATH (default ".") as the reconciler does and report everything
that would keep an ExternalSecret from being applied, without a cluster or AWS:
schema and field errors at their line, ESO's rules, stores that are missing or
do not serve the namespace, namespaces outside --namespaces, and Secrets with
more than one writer.

With --base, each finding is marked new or existing against that revision and
only new ones fail, so a pull request is not blocked by what main already has.

Exit codes: 0 clean, 1 findings, 2 the folder could not be read.`,
		Example: `  secretsync validate examples/basic
  secretsync validate secrets/ --namespaces team-a,team-b
  secretsync validate secrets/ --base origin/main -o github`,
		Args: cobra.MaximumNArgs(1),
	}
	rf := addReviewFlags(cmd, true)
	output := addOutput(cmd, "table", "json", "yaml", "markdown", "github")
	base := cmd.Flags().String("base", "", "a git revision to compare with: each finding is marked new or existing, and only new ones fail")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		path := pathArg(args)
		root, set, err := renderDir(path, rf.renderOptions())
		if err != nil {
			return fail(exitUsage, "%v", err)
		}
		opt := review.Options{Namespaces: splitList(rf.namespaces)}
		findings := review.Validate(root, set, opt)
		failing := len(findings)
		if *base != "" {
			baseFindings, err := validateAt(root, path, *base, rf.renderOptions(), opt)
			if err != nil {
				return fail(exitUsage, "base %s: %v", *base, err)
			}
			failing = review.MarkNew(findings, baseFindings)
		}
		if err := writeFindings(s.out, output.value, findings); err != nil {
			return fail(exitUsage, "%v", err)
		}
		summary := fmt.Sprintf("%d ExternalSecrets, %d stores, %d other objects skipped, %d findings", len(set.ExternalSecrets), len(set.Stores), len(set.Skipped), len(findings))
		if *base != "" {
			summary += fmt.Sprintf(" (%d new since %s)", failing, *base)
		}
		fmt.Fprintln(s.err, summary)
		noteSelectors(s.err, set)
		if failing > 0 {
			return exit(exitFindings)
		}
		return nil
	}
	return cmd
}

// validateAt validates path as it is at revision rev of the checkout at
// root; a path the revision does not have has no findings.
func validateAt(root, path, rev string, opts render.Options, opt review.Options) ([]review.Finding, error) {
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
	set, err := renderOffline(dir, rel, opts, nil)
	if errors.Is(err, render.ErrPathMissing) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return review.Validate(dir, set, opt), nil
}

func newPlanCmd(s streams, cluster *clusterFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "plan [PATH] --base REF",
		Short: "Show every Secret mapping a change creates, changes or deletes; never values",
		Long: `Render PATH at --base and at --head (default: the working tree) and show,
for each Secret the change touches, which keys it gains, loses or maps to
another remote reference, with the file and ExternalSecret behind it. The plan
also carries validate's findings for the head. It reads no values: with
--check-remote it confirms that each referenced remote secret exists
(DescribeSecret; GetSecretValue only where a property must be checked), and
says of each remote secret a PushSecret starts or stops writing whether it
exists and carries the managed-by tag (DescribeSecret; Parameter Store:
DescribeParameters and ListTagsForResource): one that exists without it is a
finding, since run would refuse to write it.

-o markdown is a pull-request comment; -o github prints the findings as
workflow commands that GitHub shows on the diff.

A ClusterExternalSecret is planned in the namespaces it names; with
--cluster-namespaces, in those of the cluster that it chooses now.

Exit codes: 0 clean, 1 findings, 2 the plan could not be made.`,
		Example: `  secretsync plan secrets/ --base origin/main
  secretsync plan secrets/ --base origin/main --head HEAD -o markdown > plan.md
  secretsync plan secrets/ --base origin/main --check-remote --aws-region eu-west-1`,
		Args: cobra.MaximumNArgs(1),
	}
	rf := addReviewFlags(cmd, true)
	output := addOutput(cmd, "table", "json", "yaml", "markdown", "github")
	// --format was plan's name for -o before every command had -o.
	cmd.Flags().Var(output, "format", "")
	_ = cmd.Flags().MarkHidden("format")
	base := cmd.Flags().String("base", "", "the revision to compare with, like origin/main (required)")
	head := cmd.Flags().String("head", "", "the revision under review; empty: the working tree")
	check := cmd.Flags().Bool("check-remote", false, "confirm every referenced remote secret and property exists (DescribeSecret; GetSecretValue only for plain key properties, never a gjson query), and whether each remote secret a PushSecret writes exists, is ours, or is scheduled for deletion; needs AWS credentials")
	region := cmd.Flags().String("aws-region", env("SECRETSYNC_AWS_REGION", env("AWS_REGION", "")), "region for stores that name none (with --check-remote) [SECRETSYNC_AWS_REGION, else AWS_REGION]")
	endpoint := cmd.Flags().String("aws-endpoint", env("SECRETSYNC_AWS_ENDPOINT", ""), "Secrets Manager endpoint URL (with --check-remote) [SECRETSYNC_AWS_ENDPOINT]")
	ssmEndpoint := cmd.Flags().String("ssm-endpoint", env("SECRETSYNC_SSM_ENDPOINT", ""), "Parameter Store (SSM) endpoint URL (with --check-remote) [SECRETSYNC_SSM_ENDPOINT]")
	liveNS := cmd.Flags().Bool("cluster-namespaces", false, "expand ClusterExternalSecrets against the namespaces of the cluster (--kubeconfig, --context; needs list on namespaces) instead of only those they name")
	_ = cmd.MarkFlagRequired("base")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if cmd.Flags().Changed("format") {
			fmt.Fprintln(s.err, "Flag --format has been deprecated, use -o/--output")
		}
		var namespaces []desired.Namespace
		if *liveNS {
			var err error
			if namespaces, err = clusterNamespaces(cmd.Context(), cluster); err != nil {
				return fail(exitUsage, "--cluster-namespaces: %v", err)
			}
		}
		p, err := makePlan(pathArg(args), *base, *head, rf, namespaces)
		if err != nil {
			return fail(exitUsage, "%v", err)
		}
		if !*liveNS {
			noteSelectors(s.err, p.head)
		}
		if *check {
			ctx, cancel := context.WithTimeout(cmd.Context(), 5*time.Minute)
			defer cancel()
			f := aws.NewFactory(aws.Options{Endpoint: *endpoint, SSMEndpoint: *ssmEndpoint, DefaultRegion: *region})
			p.plan.Findings = append(p.plan.Findings, checkRemote(ctx, p.head, f)...)
			review.CheckRemotePushes(&p.plan, remoteOwner(ctx, p.head, f))
		}
		if err := writePlan(s.out, output.value, p.plan); err != nil {
			return fail(exitUsage, "%v", err)
		}
		if len(p.plan.Findings) > 0 {
			return exit(exitFindings)
		}
		return nil
	}
	return cmd
}

// writePlan prints a plan in one of plan's output formats.
func writePlan(out io.Writer, format string, p review.Plan) error {
	switch format {
	case "markdown":
		return review.WriteMarkdown(out, p)
	case "json", "yaml":
		return writeData(out, format, p)
	case "github":
		err := writeFindings(out, "github", p.Findings)
		fmt.Fprintf(out, "::notice title=secretsync plan::%d to create, %d to change, %d to delete\n", p.Summary.Create, p.Summary.Change, p.Summary.Delete)
		return err
	default:
		return review.WriteTable(out, p, colorOn(out))
	}
}

type plan struct {
	plan review.Plan
	head *render.Set
}

// makePlan renders path at base and at head (the working tree when head is
// empty) and compares them, ClusterExternalSecrets expanded into
// namespaces (nil: those they name).
func makePlan(path, base, head string, rf *reviewFlags, namespaces []desired.Namespace) (*plan, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
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
		return nil, err
	}
	rel, _ := filepath.Rel(root, abs)
	opts := rf.renderOptions()
	// renderSide renders one side of the change; a path absent on that side
	// is an empty set (the folder is added or deleted).
	renderSide := func(dir string) (*render.Set, error) {
		set, err := renderOffline(dir, rel, opts, namespaces)
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
	_, baseCommit, baseSet, err := renderRev(base)
	if err != nil {
		return nil, fmt.Errorf("base %s: %w", base, err)
	}
	headName, headRoot := "working tree", root
	if head != "" {
		dir, err := os.MkdirTemp("", "secretsync-plan-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
		commit, err := gitsource.Export(root, head, dir)
		if err != nil {
			return nil, fmt.Errorf("head %s: %w", head, err)
		}
		headName, headRoot = head+"@"+commit[:12], dir
	}
	headSet, err := renderSide(headRoot)
	if err != nil {
		return nil, fmt.Errorf("head %s: %w", headName, err)
	}
	p := review.MakePlan(base+"@"+baseCommit[:12], headName, baseSet, headSet)
	p.Findings = nonNil(review.Validate(headRoot, headSet, review.Options{Namespaces: splitList(rf.namespaces)}))
	return &plan{plan: p, head: headSet}, nil
}

// explanation is what explain says about one Secret.
type explanation struct {
	Secret string `json:"secret"`
	Exists bool   `json:"exists"`
	// ManagedBy and Instance are the Secret's labels; NotOurs says why
	// this instance will not take it over, when it will not.
	ManagedBy      string `json:"managedBy,omitempty"`
	Instance       string `json:"instance,omitempty"`
	NotOurs        string `json:"notOurs,omitempty"`
	ExternalSecret string `json:"externalSecret,omitempty"`
	File           string `json:"file,omitempty"`
	LastWrittenAt  string `json:"lastWrittenAt,omitempty"`
	// Conditions are the inventory's rows for the ExternalSecrets that
	// target the Secret.
	Conditions []inventory.Status `json:"conditions,omitempty"`
	// Path is the folder explained against, and Producer what in it makes
	// the Secret now (nil: nothing does any more).
	Path     string             `json:"path"`
	Producer *review.SecretPlan `json:"producer"`
}

func newExplainCmd(s streams, cluster *clusterFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "explain (NAMESPACE/NAME | NAME -n NAMESPACE) [PATH]",
		Short: "Say which file, ExternalSecret and remote references produce a Secret, or what a PushSecret pushes",
		Long: `Explain one Secret: whether it exists and whether this instance owns it
(and if not, why secretsync will not take it over), the ExternalSecret and file
that last wrote it and at which revision, its condition from the inventory (also
for a Secret that was never created), and which ExternalSecret in PATH (default
".") produces it now, key by key, with the remote reference behind each key.

With --kind PushSecret, explain one PushSecret instead: from the inventory,
each remote secret it pushed, when it was last pushed and whether it is ready,
with the reason; and from PATH, its source (a Secret, a label selector or a
generator), its update and deletion policies, its stores and each remote key
(and property) it writes there. Names only, never a value.`,
		Example: `  secretsync explain payments/database-credentials secrets/
  secretsync explain database-credentials -n payments -o yaml
  secretsync explain --kind PushSecret payments/publish-db-password secrets/`,
		Args: cobra.RangeArgs(1, 2),
	}
	rf := addReviewFlags(cmd, false)
	inst := addInstanceFlags(cmd)
	ns := cmd.Flags().StringP("namespace", "n", "", "the object's namespace, when the argument names only the object; empty: the kubeconfig context's")
	kind := cmd.Flags().String("kind", "Secret", "what NAME is: Secret, or PushSecret")
	_ = cmd.RegisterFlagCompletionFunc("kind", cobra.FixedCompletions([]string{"Secret", render.KindPushSecret}, cobra.ShellCompDirectiveNoFileComp))
	output := addOutput(cmd, "table", "json", "yaml")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		namespace, name, ok := strings.Cut(args[0], "/")
		if !ok {
			namespace, name = *ns, args[0]
			if namespace == "" {
				namespace = cluster.namespace()
			}
		}
		if namespace == "" || name == "" {
			return fail(exitUsage, "%q is not NAMESPACE/NAME", args[0])
		}
		if *kind != "Secret" && *kind != render.KindPushSecret {
			return fail(exitUsage, "--kind %q: use Secret or PushSecret", *kind)
		}
		path := "."
		if len(args) > 1 {
			path = args[1]
		}
		kube, err := cluster.client()
		if err != nil {
			return fail(exitUsage, "%v", err)
		}
		ctx, cancel := context.WithTimeout(cmd.Context(), 30*time.Second)
		defer cancel()
		if *kind == render.KindPushSecret {
			e, err := explainPush(ctx, kube, inst, namespace, name, path, rf.renderOptions())
			if err != nil {
				return fail(exitUsage, "%v", err)
			}
			return writeExplained(s.out, output.value, e, func() { writePushExplanation(s.out, e) })
		}
		e := explanation{Secret: namespace + "/" + name, Path: path}
		if err := explainLive(ctx, kube, inst, &e, namespace, name); err != nil {
			return fail(exitUsage, "%v", err)
		}
		if err := explainProducer(&e, path, rf.renderOptions()); err != nil {
			return fail(exitUsage, "%v", err)
		}
		return writeExplained(s.out, output.value, e, func() { writeExplanation(s.out, e) })
	}
	return cmd
}

// writeExplained writes v as data in format, or calls table for a table.
func writeExplained(w io.Writer, format string, v any, table func()) error {
	if format == "table" {
		table()
		return nil
	}
	if err := writeData(w, format, v); err != nil {
		return fail(exitUsage, "%v", err)
	}
	return nil
}

// explainLive fills in what the cluster says of the Secret: whether it
// exists and is ours, what last wrote it, and its conditions in the
// inventory (also for a Secret never created).
func explainLive(ctx context.Context, kube kubernetes.Interface, inst *instanceFlags, e *explanation, namespace, name string) error {
	sec, err := kube.CoreV1().Secrets(namespace).Get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		// Never created, or deleted: the inventory's condition says why.
	case err != nil:
		return err
	default:
		e.Exists = true
		e.ManagedBy, e.Instance = sec.Labels[reconciler.LabelManagedBy], sec.Labels[reconciler.LabelInstance]
		if !actions.Owns(inst.instance, "", sec.Labels, sec.Annotations) { // the rule run applies
			e.NotOurs = fmt.Sprintf("it lacks the labels %s=%s and %s=%s, so secretsync instance %s will not take it over: an ExternalSecret targeting it fails until it is deleted or the target renamed (creationPolicy Merge adds keys to it instead)",
				reconciler.LabelManagedBy, reconciler.ManagedByValue, reconciler.LabelInstance, inst.instance, inst.instance)
		}
		e.ExternalSecret = sec.Annotations[reconciler.AnnotationExternalSecret]
		e.File = sec.Annotations[reconciler.AnnotationSource]
		e.LastWrittenAt = sec.Annotations[reconciler.AnnotationRevision]
	}
	if cm, err := inst.inventory(ctx, kube); err == nil {
		var conditions []inventory.Status
		if _, err := inventory.ReadStatus(ctx, kube, cm, nil, func(st inventory.Status) {
			if st.Target == e.Secret {
				conditions = append(conditions, st)
			}
		}); err == nil {
			e.Conditions = conditions
		}
	}
	return nil
}

// explainProducer finds the ExternalSecret in path that produces the
// Secret now, if one does.
func explainProducer(e *explanation, path string, opts render.Options) error {
	_, set, err := renderDir(path, opts)
	if err != nil {
		return fmt.Errorf("render %s: %w", path, err)
	}
	for _, sp := range review.MakePlan("", "", nil, set).Secrets {
		if sp.Kind == "" && sp.Namespace+"/"+sp.Name == e.Secret { // a ConfigMap target of that name is not it
			e.Producer = &sp
			break
		}
	}
	return nil
}

func writeExplanation(w io.Writer, e explanation) {
	fmt.Fprintf(w, "Secret %s\n", e.Secret)
	if !e.Exists {
		fmt.Fprintln(w, "  in the cluster:  does not exist")
	} else {
		fmt.Fprintf(w, "  managed by:      %s (instance %s)\n", orDash(e.ManagedBy), orDash(e.Instance))
		if e.NotOurs != "" {
			fmt.Fprintf(w, "  not ours:        %s\n", e.NotOurs)
		}
		fmt.Fprintf(w, "  ExternalSecret:  %s\n", orDash(e.ExternalSecret))
		fmt.Fprintf(w, "  file:            %s\n", orDash(e.File))
		fmt.Fprintf(w, "  last written at: %s\n", orDash(e.LastWrittenAt))
	}
	for _, st := range e.Conditions {
		fmt.Fprintf(w, "  condition:       ready=%v reason=%s %s\n", st.Ready, st.Reason, st.Message)
		for _, v := range st.Versions {
			fmt.Fprintf(w, "  version:         %s = %s\n", v.Ref, v.ID)
		}
	}
	if e.Producer == nil {
		fmt.Fprintf(w, "  no ExternalSecret in %s produces it any more\n", e.Path)
		return
	}
	fmt.Fprintf(w, "  in %s now: ExternalSecret %s (%s)\n", e.Path, e.Producer.ExternalSecret, e.Producer.Source)
	for _, k := range e.Producer.Keys {
		fmt.Fprintf(w, "    %-24s <- %s\n", k.Key, k.After)
	}
}
