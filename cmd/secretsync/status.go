package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/secretsync/secretsync/reconciler"
)

// statusCmd is `secretsync status`: each ExternalSecret's condition from
// the inventory ConfigMap, as a table or JSON.
func statusCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("status", flag.ContinueOnError)
	fs.SetOutput(stderr)
	output := fs.String("o", "table", "output format: table or json")
	instance := fs.String("instance", env("SECRETSYNC_INSTANCE", "secretsync"), "instance name [SECRETSYNC_INSTANCE]")
	ns := fs.String("inventory-namespace", env("SECRETSYNC_NAMESPACE", defaultNamespace()), "namespace of the inventory ConfigMap [SECRETSYNC_NAMESPACE]")
	kubeconfig := fs.String("kubeconfig", env("KUBECONFIG", ""), "kubeconfig file [KUBECONFIG]")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *output != "table" && *output != "json" {
		fmt.Fprintf(stderr, "secretsync status: -o must be table or json\n")
		return 2
	}
	kube, err := kubeClient(*kubeconfig)
	if err != nil {
		fmt.Fprintf(stderr, "secretsync status: %v\n", err)
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	name := "secretsync-inventory-" + *instance
	cm, err := kube.CoreV1().ConfigMaps(*ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		fmt.Fprintf(stderr, "secretsync status: read inventory %s/%s: %v\n", *ns, name, err)
		return 1
	}
	inv, err := reconciler.DecodeInventory(cm.BinaryData)
	if err != nil {
		fmt.Fprintf(stderr, "secretsync status: inventory %s/%s: %v\n", *ns, name, err)
		return 1
	}
	if *output == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(statusJSON{Revision: inv.Revision, ExternalSecrets: inv.Status})
		return 0
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "EXTERNALSECRET\tTARGET\tREADY\tREASON\tLAST SYNC\tSOURCE\tMESSAGE")
	for _, s := range inv.Status {
		last := "-"
		if s.LastSync != nil {
			last = s.LastSync.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%v\t%s\t%s\t%s\t%s\n", s.ExternalSecret, orDash(s.Target), s.Ready, s.Reason, last, s.Source, short(s.Message, 100))
	}
	_ = tw.Flush()
	return 0
}

// statusJSON is the documented shape of `secretsync status -o json`.
type statusJSON struct {
	Revision        string              `json:"revision"`
	ExternalSecrets []reconciler.Status `json:"externalSecrets"`
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func short(s string, n int) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
