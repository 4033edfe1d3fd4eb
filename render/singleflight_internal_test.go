package render

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"
)

// TestAnAbandonedBuildNeverRunsBesideTheNext: a pass whose context ends
// returns at once and leaves its kustomize build running (it cannot be
// stopped); the next render waits for that build under its own context,
// never building beside it, and runs once it has ended.
func TestAnAbandonedBuildNeverRunsBesideTheNext(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{
		"kustomization.yaml": "resources: [es.yaml]\n",
		"es.yaml":            "apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: {name: a, namespace: app}\nspec:\n  secretStoreRef: {name: aws}\n  data: [{secretKey: k, remoteRef: {key: k}}]\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	var active, most atomic.Int32
	entered, release := make(chan struct{}, 3), make(chan struct{})
	buildStarted = func() {
		n := active.Add(1)
		if n > most.Load() {
			most.Store(n)
		}
		entered <- struct{}{}
		<-release
		active.Add(-1)
	}
	defer func() { buildStarted = func() {} }()
	var once atomic.Bool
	defer func() {
		if once.CompareAndSwap(false, true) {
			close(release)
		}
	}()

	first, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := Render(first, dir, "", Options{})
		errc <- err
	}()
	<-entered
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("the cut-off render: %v", err)
	}

	// The next pass ends by its own deadline while the first build runs.
	second, cancel2 := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel2()
	if _, err := Render(second, dir, "", Options{}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("the render after it: %v", err)
	}
	if most.Load() != 1 || len(entered) != 0 {
		t.Fatalf("a build started beside the abandoned one (%d at once)", most.Load())
	}

	once.Store(true)
	close(release)
	set, err := Render(context.Background(), dir, "", Options{})
	if err != nil || len(set.ExternalSecrets) != 1 {
		t.Fatalf("the render once the abandoned build ended: %v", err)
	}
	if most.Load() != 1 {
		t.Fatalf("two builds ran at once (%d)", most.Load())
	}
}
