package installtest

import (
	"context"
	"os"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/restmapper"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/secretsync/secretsync/internal/testenv"
)

// TestManifestsAreAcceptedByTheAPIServer builds manifests/ with kustomize
// and sends every object to the real API server as a server-side dry run
// (the Namespace is created for real, so that the rest has a home). The
// Deployment's pod template is also dry-run as a Pod in that namespace,
// whose restricted Pod Security level the API server enforces.
func TestManifestsAreAcceptedByTheAPIServer(t *testing.T) {
	kube, err := testenv.Start(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer kube.Stop()
	dyn, err := dynamic.NewForConfig(kube.Config)
	if err != nil {
		t.Fatal(err)
	}
	disc, err := discovery.NewDiscoveryClientForConfig(kube.Config)
	if err != nil {
		t.Fatal(err)
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(disc))
	ctx := context.Background()

	for _, dir := range []string{"../../manifests/base", "../../manifests/overlays/production", "testdata/configmap-targets"} {
		t.Run(dir, func(t *testing.T) {
			abs, _ := os.Getwd()
			rm, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), abs+"/"+dir)
			if err != nil {
				t.Fatalf("kustomize build: %v", err)
			}
			kinds, names := map[string]bool{}, map[string]bool{}
			for _, res := range rm.Resources() {
				m, err := res.Map()
				if err != nil {
					t.Fatal(err)
				}
				obj := &unstructured.Unstructured{Object: m}
				gvk := obj.GroupVersionKind()
				kinds[gvk.Kind] = true
				names[gvk.Kind+"/"+obj.GetName()] = true
				mapping, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
				if err != nil {
					t.Fatalf("%s: %v", gvk, err)
				}
				var ri dynamic.ResourceInterface = dyn.Resource(mapping.Resource)
				if obj.GetNamespace() != "" {
					ri = dyn.Resource(mapping.Resource).Namespace(obj.GetNamespace())
				}
				opts := metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}
				if gvk.Kind == "Namespace" {
					opts.DryRun = nil
				}
				if _, err := ri.Create(ctx, obj, opts); err != nil && !(gvk.Kind == "Namespace" && apierrors.IsAlreadyExists(err)) {
					t.Fatalf("%s %s: %v", gvk.Kind, obj.GetName(), err)
				}
				if gvk.Kind == "Deployment" {
					dryRunPod(t, kube, obj)
				}
			}
			if dir == "testdata/configmap-targets" && !names["ClusterRole/secretsync-configmap-targets"] {
				t.Error("the configmap-targets component adds no ClusterRole secretsync-configmap-targets")
			}
			for _, k := range []string{"Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding", "Deployment", "Service", "PodDisruptionBudget", "NetworkPolicy"} {
				if !kinds[k] {
					t.Errorf("no %s in %s", k, dir)
				}
			}
		})
	}
}

func dryRunPod(t *testing.T, kube *testenv.Env, obj *unstructured.Unstructured) {
	t.Helper()
	var d appsv1.Deployment
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(obj.Object, &d); err != nil {
		t.Fatal(err)
	}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{GenerateName: "secretsync-", Namespace: d.Namespace, Labels: d.Spec.Template.Labels},
		Spec: d.Spec.Template.Spec}
	pod.Spec.ServiceAccountName = "" // the ServiceAccount exists only as a dry run
	pod.Spec.DeprecatedServiceAccount = ""
	if _, err := kube.Client.CoreV1().Pods(d.Namespace).Create(context.Background(), pod, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}); err != nil {
		t.Fatalf("the pod template is refused in namespace %s (restricted Pod Security): %v", d.Namespace, err)
	}
	// The check must be able to fail: a privileged container is refused.
	bad := pod.DeepCopy()
	privileged := true
	bad.Spec.Containers[0].SecurityContext.Privileged = &privileged
	if _, err := kube.Client.CoreV1().Pods(d.Namespace).Create(context.Background(), bad, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}); err == nil {
		t.Fatal("a privileged pod was accepted: Pod Security is not enforced in the namespace")
	}
	if d.Spec.Replicas == nil || *d.Spec.Replicas != 3 {
		t.Fatalf("replicas = %v", d.Spec.Replicas)
	}
}
