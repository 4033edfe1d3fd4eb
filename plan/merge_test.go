package plan

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The names a merging ExternalSecret writes under are kept in live Secrets:
// they must not change between releases.
func TestMergeNamesAreStable(t *testing.T) {
	if got, want := MergeManager("team/db"), "secretsync-merge-0a6bfbf593"; got != want {
		t.Errorf("MergeManager = %q, want %q", got, want)
	}
	if got, want := MergeKey("team/db"), "secretsync.io/merge-0a6bfbf593"; got != want {
		t.Errorf("MergeKey = %q, want %q", got, want)
	}
	if MergeManager("team/db") == MergeManager("team/db2") {
		t.Error("two ExternalSecrets share a merge manager")
	}
}

func TestForeignOwnersNamesWhoHoldsEachKey(t *testing.T) {
	fields := func(manager, raw string) metav1.ManagedFieldsEntry {
		return metav1.ManagedFieldsEntry{Manager: manager, FieldsV1: &metav1.FieldsV1{Raw: []byte(raw)}}
	}
	live := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{ManagedFields: []metav1.ManagedFieldsEntry{
		fields("self", `{"f:data":{"f:a":{},"f:mine":{}}}`),
		fields("kubectl", `{"f:data":{"f:a":{},"f:b":{}}}`),
		fields("helm", `{"f:data":{"f:b":{},"f:c":{}}}`),
		fields("broken", `not json`),
		{Manager: "none"},
	}}}
	cases := []struct {
		name string
		live *corev1.Secret
		keys []string
		want map[string]string
	}{
		{"no Secret, no owners", nil, []string{"a"}, nil},
		{"a key held by another manager is named with it", live, []string{"a"}, map[string]string{"a": "kubectl"}},
		{"the first manager that holds a key is named", live, []string{"b", "c"}, map[string]string{"b": "kubectl", "c": "helm"}},
		{"a key only self holds, or no one, is not", live, []string{"mine", "new"}, map[string]string{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if diff := cmp.Diff(c.want, ForeignOwners(c.live, c.keys, "self")); diff != "" {
				t.Errorf("ForeignOwners (-want +got):\n%s", diff)
			}
		})
	}
}
