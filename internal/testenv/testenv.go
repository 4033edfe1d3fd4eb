// Package testenv starts the test control plane: kube-apiserver and etcd
// built by hack/testbin.sh, run through controller-runtime's envtest.
package testenv

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"

	"github.com/go-logr/logr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/flowcontrol"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
)

// Env is a running control plane.
type Env struct {
	env *envtest.Environment
	// Config is an admin client config.
	Config *rest.Config
	// Kubeconfig is a file with the same admin credentials, for processes.
	Kubeconfig string
	Client     kubernetes.Interface
}

// Start starts kube-apiserver and etcd from $KUBEBUILDER_ASSETS, which
// `make testbin` prints. dir holds the kubeconfig it writes.
func Start(dir string) (*Env, error) {
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		return nil, errors.New("KUBEBUILDER_ASSETS is not set: run the tests with `make test`, which builds the control plane with hack/testbin.sh")
	}
	for _, bin := range []string{"kube-apiserver", "etcd"} {
		if _, err := os.Stat(filepath.Join(assets, bin)); err != nil {
			return nil, fmt.Errorf("KUBEBUILDER_ASSETS=%s has no %s: run hack/testbin.sh", assets, bin)
		}
	}
	ctrllog.SetLogger(logr.Discard()) // envtest logs through controller-runtime
	env := &envtest.Environment{BinaryAssetsDirectory: assets}
	cfg, err := env.Start()
	if err != nil {
		return nil, fmt.Errorf("start control plane: %w", err)
	}
	e := &Env{env: env, Config: cfg}
	user, err := env.AddUser(envtest.User{Name: "secretsync-test", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		_ = env.Stop()
		return nil, err
	}
	kc, err := user.KubeConfig()
	if err != nil {
		_ = env.Stop()
		return nil, err
	}
	e.Kubeconfig = filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(e.Kubeconfig, kc, 0o600); err != nil {
		_ = env.Stop()
		return nil, err
	}
	if e.Client, err = kubernetes.NewForConfig(cfg); err != nil {
		_ = env.Stop()
		return nil, err
	}
	return e, nil
}

// Stop stops the control plane.
func (e *Env) Stop() error { return e.env.Stop() }

// Counter counts API requests by whether they write.
type Counter struct{ writes, reads atomic.Int64 }

// Writes is the number of create, update, patch and delete requests seen.
func (c *Counter) Writes() int64 { return c.writes.Load() }

// Reads is the number of get, list and watch requests seen.
func (c *Counter) Reads() int64 { return c.reads.Load() }

// Reset zeroes both counts.
func (c *Counter) Reset() { c.writes.Store(0); c.reads.Store(0) }

// CountingClient returns a client whose every request is counted in c.
func (e *Env) CountingClient(c *Counter) (kubernetes.Interface, error) {
	cfg := rest.CopyConfig(e.Config)
	cfg.RateLimiter = flowcontrol.NewFakeAlwaysRateLimiter() // as secretsync run does
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper {
		return roundTripper(func(r *http.Request) (*http.Response, error) {
			switch r.Method {
			case http.MethodGet, http.MethodHead:
				c.reads.Add(1)
			default:
				c.writes.Add(1)
			}
			return rt.RoundTrip(r)
		})
	})
	return kubernetes.NewForConfig(cfg)
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
