// Command secretsync reconciles Kubernetes Secrets from External Secrets
// Operator manifests in a Git repo and values in AWS Secrets Manager.
package main

import (
	"fmt"
	"os"
)

const usage = `secretsync: GitOps for Kubernetes Secrets, with values from AWS Secrets Manager.

Usage:
  secretsync run [flags]     reconcile: poll the repo, apply Secrets, prune (--once for one pass)
  secretsync encrypt [flags] KMS ciphertext for Git, bound to one Secret key; the value comes from stdin
  secretsync status [-o json] each ExternalSecret's condition, from the inventory in the cluster
  secretsync validate [PATH]  check manifests: schema, ESO rules, stores, namespaces, writers (exit 0 clean, 1 findings, 2 error)
  secretsync plan --base REF [--head REF] [--format table|markdown|json] [PATH]
                             every Secret mapping a change creates, changes or deletes; never values
  secretsync diff [PATH]      against the live cluster: Secrets the next pass would create, change (by key) or prune
  secretsync render [PATH]    the decoded ExternalSecrets and stores after kustomize, as YAML
  secretsync explain NAMESPACE/SECRET [PATH]
                             which file, ExternalSecret and remote references produce a Secret
  secretsync version [-o json] print the version (also --version)

Run "secretsync run --help" for the flags and their environment variables.
`

var version = "dev"

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	switch os.Args[1] {
	case "run":
		os.Exit(runCmd(os.Args[2:], os.Stderr))
	case "encrypt":
		os.Exit(encryptCmd(os.Args[2:], os.Stdin, os.Stdout, os.Stderr))
	case "validate":
		os.Exit(validateCmd(os.Args[2:], os.Stdout, os.Stderr))
	case "plan":
		os.Exit(planCmd(os.Args[2:], os.Stdout, os.Stderr))
	case "diff":
		os.Exit(diffCmd(os.Args[2:], os.Stdout, os.Stderr))
	case "render":
		os.Exit(renderCmd(os.Args[2:], os.Stdout, os.Stderr))
	case "explain":
		os.Exit(explainCmd(os.Args[2:], os.Stdout, os.Stderr))
	case "status":
		os.Exit(statusCmd(os.Args[2:], os.Stdout, os.Stderr))
	case "version", "--version":
		os.Exit(versionCmd(os.Args[2:], os.Stdout, os.Stderr))
	case "-h", "--help", "help":
		fmt.Print(usage)
	default:
		fmt.Fprintf(os.Stderr, "secretsync: unknown command %q\n\n%s", os.Args[1], usage)
		os.Exit(2)
	}
}
