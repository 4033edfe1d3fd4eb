package testenv_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// fakeGo stands in for the go command: `go env` answers, and `go build -o
// OUT` takes a moment and then writes OUT, so that two builds overlap.
const fakeGo = `#!/usr/bin/env bash
if [[ $1 == env ]]; then echo fake; exit 0; fi
out=""
while [[ $# -gt 0 ]]; do if [[ $1 == -o ]]; then out=$2; fi; shift; done
sleep 0.5
[[ -n $FAIL_BUILD ]] && { echo "compile error" >&2; exit 3; }
printf '#!/bin/sh\n' > "$out"; chmod +x "$out"
`

func runTestbin(t *testing.T, cache, bin string, env ...string) (string, string, error) {
	cmd := exec.Command("bash", filepath.Join("..", "..", "hack", "testbin.sh"))
	// No KUBEBUILDER_ASSETS (make test sets it) and no archive pins: these
	// cases are about the build.
	cmd.Env = append(os.Environ(), append(env, "KUBEBUILDER_ASSETS=", "SECRETSYNC_ENVTEST_SUMS=/dev/null", "SECRETSYNC_CACHE="+cache, "PATH="+bin+":"+os.Getenv("PATH"))...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}

func TestTestbinBuildsAreSafeToRunTogether(t *testing.T) {
	bin := t.TempDir()
	if err := os.WriteFile(filepath.Join(bin, "go"), []byte(fakeGo), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Run("two runs started together both succeed and print the same folder", func(t *testing.T) {
		cache := t.TempDir()
		var wg sync.WaitGroup
		outs, errs := make([]string, 2), make([]error, 2)
		for i := range 2 {
			wg.Go(func() { outs[i], _, errs[i] = runTestbin(t, cache, bin) })
		}
		wg.Wait()
		for i := range 2 {
			if errs[i] != nil {
				t.Fatalf("run %d: %v", i, errs[i])
			}
		}
		if outs[0] == "" || outs[0] != outs[1] {
			t.Fatalf("outputs %q and %q", outs[0], outs[1])
		}
	})
	t.Run("a failed build fails with its own message and leaves nothing behind", func(t *testing.T) {
		cache := t.TempDir()
		out, stderr, err := runTestbin(t, cache, bin, "FAIL_BUILD=1")
		if err == nil || out != "" {
			t.Fatalf("err %v, stdout %q", err, out)
		}
		if !strings.Contains(stderr, "building etcd failed") {
			t.Fatalf("stderr %q", stderr)
		}
		left, _ := filepath.Glob(filepath.Join(cache, "testbin", "*", "*etcd*"))
		if len(left) != 0 {
			t.Fatalf("left behind: %v", left)
		}
	})
}
