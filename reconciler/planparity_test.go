package reconciler_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"

	"github.com/secretsync/secretsync/plan"
	"github.com/secretsync/secretsync/reconciler"
	"github.com/secretsync/secretsync/rollout"
)

// parity runs Diff, then a forced pass, and compares what Diff reports with
// the plan's actions the pass executes, action for action, refusals
// included. Keeping writes nothing and Diff does not list it. existed says
// which merge targets existed before the pass.
func (f *fixture) parity(t *testing.T, existed map[string]bool) reconciler.Result {
	t.Helper()
	diffs, _ := f.rec.Diff(context.Background())
	var said []string
	for _, d := range diffs {
		said = append(said, fmt.Sprintf("%s %s/%s%s would=%s reason=%q", d.Action, d.Namespace, d.Name, kindOf(d.Kind), d.Would, d.Reason))
	}
	var mu sync.Mutex
	var done []string
	reconciler.SetOnAction(f.rec, func(a plan.Action) {
		name := string(a.Kind)
		switch a.Kind {
		case plan.Keep, plan.Nothing:
			return
		case plan.Apply:
			name = "change"
		case plan.Merge: // Diff shows a merge by what it does to the Secret
			name = "change"
			if !existed[a.Target.Name] {
				name = "create"
			}
		}
		mu.Lock()
		defer mu.Unlock()
		done = append(done, fmt.Sprintf("%s %s%s would=%s reason=%q", name, a.Target.Namespace+"/"+a.Target.Name, kindOf(a.Target.Kind), a.Would, a.Reason))
	})
	defer reconciler.SetOnAction(f.rec, nil)
	res := f.pass()
	slices.Sort(said)
	slices.Sort(done)
	if diff := cmp.Diff(said, done); diff != "" {
		t.Errorf("diff said one thing and the pass did another (-diff +pass)\n%s", diff)
	}
	if len(done) == 0 {
		t.Error("the pass did nothing: the comparison proves nothing")
	}
	return res
}

// deployment creates a Deployment that rolls out when Secret secret
// changes (rollout.AnnotationReloadSecrets).
func (f *fixture) deployment(name, secret string) {
	f.t.Helper()
	labels := map[string]string{"app": name}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: f.ns, Annotations: map[string]string{rollout.AnnotationReloadSecrets: secret}},
		Spec: appsv1.DeploymentSpec{Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: name, Image: name}}}}},
	}
	if _, err := env.Client.AppsV1().Deployments(f.ns).Create(context.Background(), d, metav1.CreateOptions{}); err != nil {
		f.t.Fatal(err)
	}
}

func kindOf(k string) string {
	if k == "" {
		return ""
	}
	return " (" + k + ")"
}

func TestDiffReportsWhatThePassThenDoes(t *testing.T) {
	t.Run("create, change, keep, merge, orphan, delete, refused writes and an allowed prune", func(t *testing.T) {
		f := newFixture(t)
		for _, k := range []string{"keep", "change", "orph", "imm", "old", "new", "tls", "del"} {
			f.seed("p/"+k, "value-"+k+"-"+randomSuffix())
		}
		ac := corev1ac.Secret("tls", f.ns).WithData(map[string][]byte{"tls.key": []byte("theirs"), "tls.crt": []byte("cert")})
		if _, err := env.Client.CoreV1().Secrets(f.ns).Apply(context.Background(), ac, metav1.ApplyOptions{FieldManager: "cert-manager"}); err != nil {
			t.Fatal(err)
		}
		f.commit(map[string]string{"store.yaml": f.store(),
			"keep.yaml":   f.es("keep", "v=p/keep"),
			"change.yaml": f.es("change", "v=p/change"),
			"orph.yaml":   f.es("orph", "v=p/orph"),
			"imm.yaml":    withTarget(f.es("imm", "v=p/imm"), "{immutable: true}"),
			"old.yaml":    f.es("old", "v=p/old"),
			"del.yaml":    withTarget(f.es("del", "v=p/del"), "{deletionPolicy: Delete}"),
		})
		mustOK(t, f.pass())
		f.rotate("p/change", "value-change-"+randomSuffix())
		f.rotate("p/imm", "value-imm-"+randomSuffix())
		f.sm.Delete(t, "p/del")
		f.commit(map[string]string{
			"orph.yaml":    withTarget(f.es("orph", "v=p/orph"), "{creationPolicy: Orphan}"),
			"old.yaml":     "",
			"new.yaml":     f.es("new", "v=p/new"),
			"tls.yaml":     withTarget(f.es("tls", "tls.key=p/tls"), "{name: tls, creationPolicy: Merge}"),
			"absent.yaml":  withTarget(f.es("absent", "v=p/tls"), "{name: absent, creationPolicy: Merge}"),
			"created.yaml": withTarget(f.es("created", "w=p/tls"), "{name: created, creationPolicy: CreateOrMerge}"),
		})
		f.parity(t, map[string]bool{"tls": true})
		if f.secret("old") != nil || f.secret("new") == nil || f.secret("del") != nil || f.secret("created") == nil {
			t.Errorf("the pass did not do what it planned: old %v, new %v, del %v, created %v",
				f.secret("old") != nil, f.secret("new") != nil, f.secret("del") != nil, f.secret("created") != nil)
		}
	})
	t.Run("rollouts of the workloads whose Secrets change, and a new process's first rollout", func(t *testing.T) {
		f := newFixture(t)
		f.rec = f.newReconciler(func(c *reconciler.Config) { c.ReloadWorkloads = true })
		f.seed("r/a", "value-a-"+randomSuffix())
		f.seed("r/b", "value-b-"+randomSuffix())
		f.deployment("web", "a")
		f.deployment("other", "b")
		f.commit(map[string]string{"store.yaml": f.store(), "a.yaml": f.es("a", "v=r/a"), "b.yaml": f.es("b", "v=r/b")})
		mustOK(t, f.pass())

		f.rotate("r/a", "value-a2-"+randomSuffix())
		if res := f.parity(t, nil); res.Rollouts != 1 {
			t.Errorf("a rotation of a rolled out %d workloads, want web only", res.Rollouts)
		}
		// A workload opted in since: a new process's first pass checks
		// every one, so it rolls out though no Secret changed.
		f.deployment("late", "b")
		f.rec = f.newReconciler(func(c *reconciler.Config) { c.ReloadWorkloads = true })
		if res := f.parity(t, nil); res.Rollouts != 1 {
			t.Errorf("a new process rolled out %d workloads, want late only", res.Rollouts)
		}
	})
	for _, c := range pruneGuardCases {
		t.Run("a prune refused "+c.name, func(t *testing.T) {
			f := guardedThree(t, c)
			if res := f.parity(t, nil); res.Pruned != 0 || len(res.PruneRefused) == 0 {
				t.Errorf("pruned %d, refused %v", res.Pruned, res.PruneRefused)
			}
		})
	}
}
