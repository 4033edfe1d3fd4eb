package reconciler_test

import (
	"fmt"
	"os"
	"testing"

	"github.com/secretsync/secretsync/internal/testenv"
	"github.com/secretsync/secretsync/reconciler"
)

var env *testenv.Env

// TestMain starts one real control plane for the package; each test works
// in namespaces of its own.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "secretsync-reconciler-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	env, err = testenv.Start(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	reconciler.SetTestConfig(env.Config)
	code := m.Run()
	_ = env.Stop()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}
