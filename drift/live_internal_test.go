package drift

import (
	"context"
	"errors"
	"maps"
	"strings"
	"testing"
	"unsafe"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/secretsync/secretsync/plan"
)

// Live Secrets' label and annotation keys, and our repeated values, are
// one copy across Secrets; the maps hold what they held.
func TestShareKeys(t *testing.T) {
	decoded := func() map[string]string { // as a decode makes them: every string its own
		return map[string]string{strings.Clone(plan.LabelInstance): strings.Clone("prod"), strings.Clone("team"): strings.Clone("payments-" + "x")}
	}
	a, b := shareKeys(decoded()), shareKeys(decoded())
	if !maps.Equal(a, decoded()) || !maps.Equal(b, decoded()) {
		t.Fatalf("shared maps differ: %v %v", a, b)
	}
	same := func(x, y string) bool { return unsafe.StringData(x) == unsafe.StringData(y) }
	for k := range a {
		var kb string
		for k2 := range b {
			if k2 == k {
				kb = k2
			}
		}
		if !same(k, kb) {
			t.Errorf("key %q is two copies", k)
		}
	}
	if !same(a[plan.LabelInstance], b[plan.LabelInstance]) {
		t.Error("the instance label's value is two copies")
	}
	if same(a["team"], b["team"]) {
		t.Error("a value of someone else's label was shared (only ours repeat)")
	}
}

// Live lists a scope once, keeps only this instance's targets, reads no
// namespace outside its scope, gives a failed LIST as its scope's error
// only, and lists a scope again once Passed let it go.
func TestLiveListsEachScopeOnceAndOnlyOurs(t *testing.T) {
	ours := map[string]string{plan.LabelManagedBy: plan.ManagedByValue, plan.LabelInstance: "prod"}
	secret := func(ns, name string, labels map[string]string) *corev1.Secret {
		return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels}}
	}
	lists := map[string]int{}
	list := func(_ context.Context, scope plan.Target, _ metav1.ListOptions) ([]*corev1.Secret, string, error) {
		lists[scope.Namespace]++
		if scope.Namespace == "broken" {
			return nil, "", errors.New("forbidden")
		}
		return []*corev1.Secret{secret(scope.Namespace, "db", ours), secret(scope.Namespace, "foreign", map[string]string{plan.LabelInstance: "other"})}, "", nil
	}
	l := NewLive(Scope{Instance: "prod", Namespaces: []string{"a", "b", "broken"}}, list, false)
	ctx := context.Background()
	get := func(ns, name string) (*corev1.Secret, error) {
		return l.Get(ctx, plan.Target{Namespace: ns, Name: name})
	}
	if s, err := get("a", "db"); s == nil || err != nil {
		t.Errorf("our target: %v, %v", s, err)
	}
	if s, _ := get("a", "foreign"); s != nil {
		t.Error("another instance's Secret was taken for ours")
	}
	if s, err := get("elsewhere", "db"); s != nil || err != nil || lists["elsewhere"] != 0 {
		t.Errorf("a namespace out of scope was read: %v, %v, %d lists", s, err, lists["elsewhere"])
	}
	if _, err := get("broken", "db"); err == nil || !strings.Contains(err.Error(), "list managed secrets in broken") {
		t.Errorf("a failed list: %v", err)
	}
	if _, err := get("b", "db"); err != nil {
		t.Errorf("a failed list in another scope failed this one: %v", err)
	}
	if lists["a"] != 1 {
		t.Errorf("scope a listed %d times before Passed, want 1", lists["a"])
	}
	l.Passed("b")
	get("a", "db")
	if lists["a"] != 2 {
		t.Errorf("scope a listed %d times after Passed let it go, want 2", lists["a"])
	}
}
