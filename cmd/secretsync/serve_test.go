package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/secretsync/secretsync/internal/awstest"
	"github.com/secretsync/secretsync/internal/gittest"
	"github.com/secretsync/secretsync/internal/testenv"
	"github.com/secretsync/secretsync/reconciler"
)

// TestHealthzFailsWhenAPassCannotEnd: `secretsync run` whose pass never
// returns (work that ignores its context) serves /healthz 503, naming the
// bound, once the pass has run past 2 × --pass-timeout, so that the
// kubelet restarts the pod and the lease moves.
func TestHealthzFailsWhenAPassCannotEnd(t *testing.T) {
	awstest.Isolate(t)
	dir := t.TempDir()
	kube, err := testenv.Start(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer kube.Stop()
	repo, err := gittest.Init(filepath.Join(dir, "repo"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := repo.Commit("add", map[string]string{"README.md": "empty\n"}); err != nil {
		t.Fatal(err)
	}
	started, release := make(chan struct{}, 1), make(chan struct{})
	passFunc = func(*reconciler.Reconciler, context.Context, bool) reconciler.Result {
		select {
		case started <- struct{}{}:
		default:
		}
		<-release // as work that ignores the pass's context
		return reconciler.Result{}
	}
	defer func() { passFunc = (*reconciler.Reconciler).Pass }()

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	c, err := parseRun([]string{"--repo", "file://" + repo.Dir, "--inventory-namespace", "default", "--workdir", filepath.Join(dir, "work"),
		"--metrics-addr", addr, "--interval", "1h", "--pass-timeout", "200ms", "--shutdown-timeout", "1s"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var logs bytes.Buffer
	exited := make(chan int, 1)
	go func() { exited <- c.run(ctx, &clusterFlags{kubeconfig: kube.Kubeconfig}, &logs) }()
	defer func() {
		cancel()
		close(release)
		<-exited
	}()

	healthz := func() (int, string) {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	<-started
	var code int
	var body string
	for limit := time.Now().Add(60 * time.Second); time.Now().Before(limit); time.Sleep(50 * time.Millisecond) {
		if code, body = healthz(); code == http.StatusServiceUnavailable {
			break
		}
	}
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "2 × --pass-timeout") {
		t.Fatalf("healthz while a pass cannot end: %d %q", code, body)
	}
}
