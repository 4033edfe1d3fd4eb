package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/secretsync/secretsync/internal/awstest"
	"github.com/secretsync/secretsync/internal/gittest"
	"github.com/secretsync/secretsync/internal/testenv"
	"github.com/secretsync/secretsync/service"
)

// TestLeaderFailover runs two secretsync processes against the real control
// plane, kills the leader, and checks that the other takes over and applies
// a new commit. The takeover time is logged, not asserted: it is set by the
// lease (10 s) and retry period (2 s).
func TestLeaderFailover(t *testing.T) {
	awstest.Isolate(t)
	dir := t.TempDir()
	kube, err := testenv.Start(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer kube.Stop()
	sm := awstest.StartSM(t)
	sm.Create(t, "app/key", "leader-value-seeded")
	repo, err := gittest.Init(filepath.Join(dir, "repo"))
	if err != nil {
		t.Fatal(err)
	}
	es := func(name string) string {
		return "apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: {name: " + name + "}\nspec:\n  secretStoreRef: {name: aws}\n  data: [{secretKey: key, remoteRef: {key: app/key}}]\n"
	}
	store := "apiVersion: external-secrets.io/v1\nkind: SecretStore\nmetadata: {name: aws}\nspec: {provider: {aws: {service: SecretsManager, region: us-east-1}}}\n"
	if _, err := repo.Commit("one", map[string]string{"store.yaml": store, "one.yaml": es("one")}); err != nil {
		t.Fatal(err)
	}

	// Pod objects for the two processes, so the leader can label its own.
	for _, name := range []string{"alpha", "beta"} {
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "secretsync", Image: "secretsync"}}}}
		if _, err := kube.Client.CoreV1().Pods("default").Create(context.Background(), pod, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}

	bin := filepath.Join(dir, "secretsync")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	start := func(name string) *exec.Cmd {
		cmd := exec.Command(bin, "run", "--repo", "file://"+repo.Dir, "--interval", "500ms", "--jitter", "0", "--shutdown-timeout", "2s",
			"--kubeconfig", kube.Kubeconfig, "--inventory-namespace", "default", "--aws-endpoint", sm.URL,
			"--workdir", filepath.Join(dir, name), "--metrics-addr", "", "--leader-elect")
		cmd.Env = append(os.Environ(), "POD_NAME="+name, "POD_NAMESPACE=default")
		logf, _ := os.Create(filepath.Join(dir, name+".log"))
		cmd.Stdout, cmd.Stderr = logf, logf
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _, _ = cmd.Process.Wait() })
		return cmd
	}
	procs := map[string]*exec.Cmd{"alpha": start("alpha"), "beta": start("beta")}

	ctx := context.Background()
	holder := func() string {
		l, err := kube.Client.CoordinationV1().Leases("default").Get(ctx, "secretsync-secretsync", metav1.GetOptions{})
		if err != nil || l.Spec.HolderIdentity == nil {
			return ""
		}
		return strings.SplitN(*l.Spec.HolderIdentity, "_", 2)[0]
	}
	secretExists := func(name string) bool {
		_, err := kube.Client.CoreV1().Secrets("default").Get(ctx, name, metav1.GetOptions{})
		return err == nil
	}
	waitFor := func(what string, limit time.Duration, ok func() bool) time.Duration {
		t.Helper()
		begin := time.Now()
		for time.Since(begin) < limit {
			if ok() {
				return time.Since(begin)
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Fatalf("timed out after %s waiting for %s", limit, what)
		return 0
	}
	waitFor("a leader and its first Secret", 60*time.Second, func() bool { return holder() != "" && secretExists("one") })
	leader := holder()
	t.Logf("leader: %s", leader)
	labelled := func(name string) bool {
		p, err := kube.Client.CoreV1().Pods("default").Get(ctx, name, metav1.GetOptions{})
		return err == nil && p.Labels[service.LabelLeader] == "true"
	}
	waitFor("the leader to label its pod for the webhook Service", 10*time.Second, func() bool { return labelled(leader) })

	if err := procs[leader].Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_, _ = procs[leader].Process.Wait()
	if _, err := repo.Commit("two", map[string]string{"two.yaml": es("two")}); err != nil {
		t.Fatal(err)
	}
	took := waitFor("the standby to take over and apply the new commit", 60*time.Second, func() bool {
		h := holder()
		return h != "" && h != leader && secretExists("two")
	})
	t.Logf("takeover and apply after killing the leader: %s", took.Round(100*time.Millisecond))
	waitFor("the new leader to label its pod", 10*time.Second, func() bool { return labelled(holder()) })

	t.Run("SIGTERM during a pass stuck on AWS cuts the pass at --shutdown-timeout, records it as failed, and exits 0", func(t *testing.T) {
		sm.SM.SetLatency(time.Minute)
		calls := sm.SM.TotalCalls()
		if _, err := repo.Commit("three", map[string]string{"three.yaml": es("three")}); err != nil {
			t.Fatal(err)
		}
		// smserver counts a call when it arrives and then holds it for a
		// minute: once the count moves, a pass is waiting on AWS.
		waitFor("the next pass to wait on AWS", 60*time.Second, func() bool { return sm.SM.TotalCalls() > calls })
		name := holder()
		proc := procs[name]
		logPath := filepath.Join(dir, name+".log")
		logged, err := os.ReadFile(logPath)
		if err != nil {
			t.Fatal(err)
		}
		passesBefore := strings.Count(string(logged), `"message":"pass"}`)
		began := time.Now()
		if err := proc.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- proc.Wait() }()
		select {
		case err := <-exited:
			if err != nil || proc.ProcessState.ExitCode() != 0 {
				t.Fatalf("the process exited with %v (status %d), want 0", err, proc.ProcessState.ExitCode())
			}
		case <-time.After(30 * time.Second): // 2 s of grace, and far more than a clean exit needs
			t.Fatal("the process was still running 30 s after SIGTERM with --shutdown-timeout 2s")
		}
		t.Logf("SIGTERM to exit: %s (--shutdown-timeout 2s)", time.Since(began).Round(10*time.Millisecond))
		logged, err = os.ReadFile(logPath)
		if err != nil {
			t.Fatal(err)
		}
		// The pass in flight ends once, cut off: a failed pass, never a success.
		after := strings.Split(string(logged), "\n")
		var cut []string
		for _, line := range after {
			if strings.Contains(line, `"message":"pass"}`) {
				cut = append(cut, line)
			}
		}
		cut = cut[passesBefore:]
		if len(cut) != 1 || !strings.Contains(cut[0], `"reason":"ResolveFailed"`) || !strings.Contains(string(logged), "context canceled") {
			t.Fatalf("%d passes ended after SIGTERM, want one recorded as failed (ResolveFailed, context canceled): %q", len(cut), cut)
		}
		if !strings.Contains(string(logged), `"message":"stopping"`) {
			t.Fatal("no stopping line after SIGTERM")
		}
		if secretExists("three") {
			t.Fatal("the cut-off pass applied the Secret it was fetching")
		}
	})
}
