// Command secretsync reconciles Kubernetes Secrets from External Secrets
// Operator manifests in a Git repo and values in AWS Secrets Manager.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"
)

var version = "dev"

// Exit codes, the same for every command: 0 clean; 1 findings, changes
// (diff) or a failed pass; 2 bad usage or an error that stopped the command.
const (
	exitClean    = 0
	exitFindings = 1
	exitUsage    = 2
)

// streams are a command's stdin, stdout (data) and stderr (diagnostics).
type streams struct {
	in       io.Reader
	out, err io.Writer
}

// exitError ends a command with code; err, when set, is printed first.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// fail ends a command with code and a message naming the cause.
func fail(code int, format string, args ...any) error {
	return &exitError{code: code, err: fmt.Errorf(format, args...)}
}

// exit ends a command with code and nothing more to say: what it printed
// already explains it (findings, changes, a failed pass's log).
func exit(code int) error {
	if code == exitClean {
		return nil
	}
	return &exitError{code: code}
}

func main() {
	os.Exit(execute(os.Args[1:], streams{os.Stdin, os.Stdout, os.Stderr}))
}

// execute runs the command line args and returns the exit code.
func execute(args []string, s streams) int {
	root := newRootCmd(s)
	root.SetArgs(args)
	cmd, err := root.ExecuteC()
	if err == nil {
		return exitClean
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintf(s.err, "%s: %v\n", cmd.CommandPath(), ee.err)
		}
		return ee.code
	}
	// Cobra's and pflag's own errors are usage errors: an unknown command,
	// flag or value, or the wrong arguments.
	fmt.Fprintf(s.err, "Error: %v\n", strings.TrimRight(err.Error(), "\n"))
	fmt.Fprintf(s.err, "Run '%s --help' for usage.\n", cmd.CommandPath())
	return exitUsage
}

func newRootCmd(s streams) *cobra.Command {
	root := &cobra.Command{
		Use:   "secretsync",
		Short: "GitOps for Kubernetes Secrets, with values from AWS",
		Long: `secretsync reconciles Kubernetes Secrets from External Secrets Operator
manifests (ExternalSecret, SecretStore, ClusterSecretStore, ClusterExternalSecret)
kept in Git, with values from AWS Secrets Manager, Parameter Store, Certificate
Manager or KMS ciphertext, or from generators. Git holds references, never
values.

In the cluster, "secretsync run" polls the repo, applies Secrets with
server-side apply and prunes the ones that left Git. On a pull request,
"secretsync validate" and "secretsync plan" review the change offline.`,
		Version:           currentBuild().Version,
		SilenceUsage:      true,
		SilenceErrors:     true,
		CompletionOptions: cobra.CompletionOptions{HiddenDefaultCmd: false},
	}
	root.SetIn(s.in)
	root.SetOut(s.out)
	root.SetErr(s.err)
	root.SetVersionTemplate("{{.Version}}\n")
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return err })
	cluster := &clusterFlags{}
	root.PersistentFlags().StringVar(&cluster.kubeconfig, "kubeconfig", "", "kubeconfig file; empty: KUBECONFIG (a list is merged), then ~/.kube/config, then the in-cluster config")
	root.PersistentFlags().StringVar(&cluster.context, "context", "", "kubeconfig context to use; empty: its current context")
	root.AddGroup(&cobra.Group{ID: "review", Title: "Review a change (offline, for pull requests):"},
		&cobra.Group{ID: "cluster", Title: "Inspect and control a running instance:"},
		&cobra.Group{ID: "run", Title: "Run and prepare:"})
	for _, c := range []*cobra.Command{
		newValidateCmd(s), newPlanCmd(s, cluster), newRenderCmd(s),
	} {
		c.GroupID = "review"
		root.AddCommand(c)
	}
	for _, c := range []*cobra.Command{
		newStatusCmd(s, cluster), newDiffCmd(s, cluster), newExplainCmd(s, cluster),
		newReconcileCmd(s, cluster), newSuspendCmd(s, cluster, true), newSuspendCmd(s, cluster, false),
	} {
		c.GroupID = "cluster"
		root.AddCommand(c)
	}
	for _, c := range []*cobra.Command{newRunCmd(s, cluster), newEncryptCmd(s)} {
		c.GroupID = "run"
		root.AddCommand(c)
	}
	root.AddCommand(newVersionCmd(s))
	return root
}

// outputFormat is the value of -o: one of a command's formats, checked
// when the flag is parsed so that a wrong value is a usage error.
type outputFormat struct {
	value   string
	allowed []string
}

func (o *outputFormat) String() string { return o.value }
func (o *outputFormat) Type() string   { return "format" }
func (o *outputFormat) Set(v string) error {
	if !slices.Contains(o.allowed, v) {
		return fmt.Errorf("%q is not one of %s", v, strings.Join(o.allowed, ", "))
	}
	o.value = v
	return nil
}

// addOutput gives cmd the -o/--output flag with its formats; the first is
// the default.
func addOutput(cmd *cobra.Command, formats ...string) *outputFormat {
	o := &outputFormat{value: formats[0], allowed: formats}
	cmd.Flags().VarP(o, "output", "o", "output format: "+strings.Join(formats, ", "))
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions(formats, cobra.ShellCompDirectiveNoFileComp))
	return o
}

// pathArg is a command's optional PATH argument, "." when absent.
func pathArg(args []string) string {
	if len(args) > 0 {
		return args[0]
	}
	return "."
}
