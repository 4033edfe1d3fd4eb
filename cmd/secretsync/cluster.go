package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/util/flowcontrol"

	"github.com/secretsync/secretsync/inventory"
)

// clusterFlags are --kubeconfig and --context, read as kubectl reads them
// (client-go's loading rules).
type clusterFlags struct {
	kubeconfig, context string
}

func (c *clusterFlags) clientConfig() clientcmd.ClientConfig {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = c.kubeconfig
	return clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: c.context})
}

// restConfig is the client configuration; with no kubeconfig anywhere it is
// the in-cluster one.
func (c *clusterFlags) restConfig() (*rest.Config, error) {
	cfg, err := c.clientConfig().ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("kubernetes config: %w", err)
	}
	// Client-side throttling would cap applies far below what the API
	// server takes; its priority and fairness protects it, and writes are
	// bounded by the reconciler's concurrency.
	cfg.RateLimiter = flowcontrol.NewFakeAlwaysRateLimiter()
	cfg.UserAgent = "secretsync/" + version
	// Protobuf for the built-in kinds it reads and writes: listing a
	// namespace of Secrets decodes with a fraction of JSON's garbage and CPU.
	// Server-side apply still sends its patch as JSON.
	cfg.ContentType = "application/vnd.kubernetes.protobuf"
	cfg.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
	return cfg, nil
}

func (c *clusterFlags) client() (kubernetes.Interface, error) {
	cfg, err := c.restConfig()
	if err != nil {
		return nil, err
	}
	return kubernetes.NewForConfig(cfg)
}

// namespace is the kubeconfig context's namespace, "default" when it names
// none, as kubectl uses it when -n is not given.
func (c *clusterFlags) namespace() string {
	ns, _, err := c.clientConfig().Namespace()
	if err != nil || ns == "" {
		return metav1.NamespaceDefault
	}
	return ns
}

// instanceFlags name the secretsync instance a command talks to: its
// inventory ConfigMap holds what it applied, its status and its controls.
type instanceFlags struct {
	instance, namespace string
}

func addInstanceFlags(cmd *cobra.Command) *instanceFlags {
	f := &instanceFlags{}
	cmd.Flags().StringVar(&f.instance, "instance", env("SECRETSYNC_INSTANCE", "secretsync"), "instance name [SECRETSYNC_INSTANCE]")
	cmd.Flags().StringVar(&f.namespace, "inventory-namespace", env("SECRETSYNC_NAMESPACE", defaultNamespace()), "namespace secretsync runs in, where its inventory ConfigMap is [SECRETSYNC_NAMESPACE]")
	return f
}

func (f *instanceFlags) inventoryName() string { return inventory.Name(f.instance) }

// inventory reads the instance's inventory ConfigMap; a missing one says
// that the instance has not completed a pass.
func (f *instanceFlags) inventory(ctx context.Context, kube kubernetes.Interface) (*corev1.ConfigMap, error) {
	cm, err := kube.CoreV1().ConfigMaps(f.namespace).Get(ctx, f.inventoryName(), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("no inventory ConfigMap %s/%s: instance %q has not completed a pass in namespace %s (is it running? are --instance and --inventory-namespace right?)",
			f.namespace, f.inventoryName(), f.instance, f.namespace)
	}
	if err != nil {
		return nil, fmt.Errorf("read inventory %s/%s: %w", f.namespace, f.inventoryName(), err)
	}
	return cm, nil
}

// namespaceFlags are -n and -A of a command that lists things.
type namespaceFlags struct {
	namespace string
	all       bool
}

func addNamespaceFlags(cmd *cobra.Command, what string) *namespaceFlags {
	f := &namespaceFlags{}
	cmd.Flags().StringVarP(&f.namespace, "namespace", "n", "", "only "+what+" in this namespace")
	cmd.Flags().BoolVarP(&f.all, "all-namespaces", "A", false, what+" in every namespace")
	cmd.MarkFlagsMutuallyExclusive("namespace", "all-namespaces")
	return f
}

// scope is the one namespace to show, "" for all. def is the namespace when
// neither flag is given: "" for all.
func (f *namespaceFlags) scope(def string) string {
	switch {
	case f.all:
		return ""
	case f.namespace != "":
		return f.namespace
	}
	return def
}
