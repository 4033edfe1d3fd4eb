package service

import (
	"context"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/secretsync/secretsync/gitsource"
	"github.com/secretsync/secretsync/internal/awstest"
	"github.com/secretsync/secretsync/internal/gittest"
	"github.com/secretsync/secretsync/internal/testenv"
	"github.com/secretsync/secretsync/reconciler"
)

// TestHealthzFailsWhenAPassCannotEnd: the service whose pass never
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
	src, err := gitsource.New(gitsource.Options{URL: "file://" + repo.Dir, Ref: "main", Dir: filepath.Join(dir, "work")})
	if err != nil {
		t.Fatal(err)
	}
	rec, err := reconciler.New(reconciler.Config{Instance: "secretsync", InventoryNamespace: "default", PassTimeout: 200 * time.Millisecond},
		src, kube.Client, awstest.Factory(awstest.Endpoints{}), zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	// As `secretsync run --metrics-addr ADDR --interval 1h --pass-timeout 200ms --shutdown-timeout 1s` (leader election on).
	ctx, cancel := context.WithCancel(context.Background())
	s, err := New(ctx, Config{Instance: "secretsync", InventoryNamespace: "default", Interval: time.Hour, Jitter: 0.1,
		PassTimeout: 200 * time.Millisecond, ShutdownTimeout: time.Second, LeaderElect: true, MetricsAddr: addr}, rec, nil, kube.Client, zerolog.Nop())
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	started, release := make(chan struct{}, 1), make(chan struct{})
	s.pass = func(context.Context, bool) reconciler.Result {
		select {
		case started <- struct{}{}:
		default:
		}
		<-release // as work that ignores the pass's context
		return reconciler.Result{}
	}
	exited := make(chan int, 1)
	go func() { exited <- s.Run(ctx) }()
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
