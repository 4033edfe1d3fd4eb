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
  secretsync version         print the version

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
	case "status":
		os.Exit(statusCmd(os.Args[2:], os.Stdout, os.Stderr))
	case "version":
		fmt.Println(version)
	case "-h", "--help", "help":
		fmt.Print(usage)
	default:
		fmt.Fprintf(os.Stderr, "secretsync: unknown command %q\n\n%s", os.Args[1], usage)
		os.Exit(2)
	}
}
