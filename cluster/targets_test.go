package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	k8stesting "k8s.io/client-go/testing"

	"github.com/secretsync/secretsync/internal/scrub"
	"github.com/secretsync/secretsync/plan"
)

// patches records every patch sent, and fails each with err when set.
func patches(kube interface {
	PrependReactor(verb, resource string, fn k8stesting.ReactionFunc)
}, err error) *[]k8stesting.PatchAction {
	var seen []k8stesting.PatchAction
	kube.PrependReactor("patch", "secrets", func(a k8stesting.Action) (bool, runtime.Object, error) {
		seen = append(seen, a.(k8stesting.PatchAction))
		if err != nil {
			return true, nil, err
		}
		return true, &corev1.Secret{}, nil
	})
	return &seen
}

// A merge applies its keys under the manager it is given, on the version
// of the Secret it read, and its error comes back scrubbed.
func TestApplyMergeWritesAsItsManagerOnTheVersionRead(t *testing.T) {
	kube := newKube()
	red := scrub.New()
	red.AddString("s3cr3t-key-name")
	seen := patches(kube, errors.New(`key "s3cr3t-key-name" refused`))
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "db", Annotations: map[string]string{"h": "1"}}, Data: map[string][]byte{"k": []byte("v")}}
	live := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{ResourceVersion: "42"}}
	_, err := NewTargets(kube, red).ApplyMerge(context.Background(), s, "secretsync-merge-x", live)
	if err == nil || strings.Contains(err.Error(), "s3cr3t-key-name") {
		t.Errorf("the error is not scrubbed: %v", err)
	}
	if len(*seen) != 1 {
		t.Fatalf("%d patches sent, want 1", len(*seen))
	}
	p := (*seen)[0]
	var body struct {
		Metadata struct {
			ResourceVersion string            `json:"resourceVersion"`
			Labels          map[string]string `json:"labels"`
		} `json:"metadata"`
	}
	if err := json.Unmarshal(p.GetPatch(), &body); err != nil {
		t.Fatal(err)
	}
	if body.Metadata.ResourceVersion != "42" || body.Metadata.Labels != nil {
		t.Errorf("the merge sent resourceVersion %q and labels %v, want 42 and none", body.Metadata.ResourceVersion, body.Metadata.Labels)
	}
	if typ := p.GetPatchType(); typ != "application/apply-patch+yaml" {
		t.Errorf("patch type %s, want a server-side apply", typ)
	}
	if opts := p.(k8stesting.PatchActionImpl).PatchOptions; opts.FieldManager != "secretsync-merge-x" || opts.Force == nil || !*opts.Force {
		t.Errorf("the merge applied as %q (force %v), want secretsync-merge-x, forced", opts.FieldManager, opts.Force)
	}
}

// OwnByApply hands secretsync's create (an Update) over to its Apply, and
// leaves every other manager's entries as they are, on the version read.
func TestOwnByApplyTurnsOurUpdateIntoAnApply(t *testing.T) {
	kube := newKube()
	seen := patches(kube, nil)
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{ResourceVersion: "7", ManagedFields: []metav1.ManagedFieldsEntry{
		{Manager: plan.FieldManager, Operation: metav1.ManagedFieldsOperationUpdate},
		{Manager: "kubectl", Operation: metav1.ManagedFieldsOperationUpdate},
	}}}
	if err := NewTargets(kube, scrub.New()).OwnByApply(context.Background(), plan.Target{Namespace: "a", Name: "db"}, s); err != nil {
		t.Fatal(err)
	}
	if len(*seen) != 1 {
		t.Fatalf("%d patches sent, want 1", len(*seen))
	}
	var body struct {
		Metadata struct {
			ResourceVersion string                      `json:"resourceVersion"`
			ManagedFields   []metav1.ManagedFieldsEntry `json:"managedFields"`
		} `json:"metadata"`
	}
	if err := json.Unmarshal((*seen)[0].GetPatch(), &body); err != nil {
		t.Fatal(err)
	}
	m := body.Metadata.ManagedFields
	if body.Metadata.ResourceVersion != "7" || len(m) != 2 || m[0].Operation != metav1.ManagedFieldsOperationApply || m[1].Operation != metav1.ManagedFieldsOperationUpdate {
		t.Errorf("patch = %s, want our entry an Apply, kubectl's an Update, on version 7", (*seen)[0].GetPatch())
	}
	if s.ManagedFields[0].Operation != metav1.ManagedFieldsOperationUpdate {
		t.Error("OwnByApply changed the Secret it was given")
	}
}

// A namespace being deleted is no longer matched by a ClusterExternalSecret.
func TestNamespacesLeavesOutThoseBeingDeleted(t *testing.T) {
	now := metav1.Now()
	kube := newKube()
	for _, ns := range []*corev1.Namespace{
		{ObjectMeta: metav1.ObjectMeta{Name: "live", Labels: map[string]string{"team": "a"}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "going", DeletionTimestamp: &now, Finalizers: []string{"kubernetes"}}},
	} {
		if _, err := kube.CoreV1().Namespaces().Create(context.Background(), ns, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := Namespaces(context.Background(), kube)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Name != "live" || got[0].Labels["team"] != "a" {
		t.Errorf("Namespaces = %+v, want only live, with its labels", got)
	}
}
