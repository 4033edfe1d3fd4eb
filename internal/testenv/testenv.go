// Package testenv starts the test control plane: kube-apiserver and etcd
// built by hack/testbin.sh, run through controller-runtime's envtest.
package testenv

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
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

// Counter counts API requests by whether they write, and by verb and
// resource.
type Counter struct {
	writes, reads atomic.Int64
	mu            sync.Mutex
	verbs         map[string]int64
	paths         map[string]int64 // "<verb> <URL path>"
}

// Writes is the number of create, update, patch and delete requests seen.
func (c *Counter) Writes() int64 { return c.writes.Load() }

// Reads is the number of get, list and watch requests seen.
func (c *Counter) Reads() int64 { return c.reads.Load() }

// ByVerb counts requests by "<verb> <resource>", as in "apply secrets" or
// "list secrets".
func (c *Counter) ByVerb() map[string]int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.verbs)
}

// Path counts the requests of one verb (as ByVerb names them) to one URL
// path, as in Path("get", "/api/v1/namespaces/b/secrets/creds"): proof that
// an object was, or was never, read.
func (c *Counter) Path(verb, path string) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.paths[verb+" "+path]
}

// Reset zeroes every count.
func (c *Counter) Reset() {
	c.writes.Store(0)
	c.reads.Store(0)
	c.mu.Lock()
	c.verbs, c.paths = nil, nil
	c.mu.Unlock()
}

func (c *Counter) count(r *http.Request) {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		c.reads.Add(1)
	default:
		c.writes.Add(1)
	}
	key := describe(r)
	c.mu.Lock()
	if c.verbs == nil {
		c.verbs, c.paths = map[string]int64{}, map[string]int64{}
	}
	c.verbs[key]++
	verb, _, _ := strings.Cut(key, " ")
	c.paths[verb+" "+r.URL.Path]++
	c.mu.Unlock()
}

// describe names a request "<verb> <resource>" the way the API server's
// audit log does: /api/v1/namespaces/ns/secrets/x read is "get secrets".
func describe(r *http.Request) string {
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	switch {
	case len(parts) >= 2 && parts[0] == "api":
		parts = parts[2:]
	case len(parts) >= 3 && parts[0] == "apis":
		parts = parts[3:]
	}
	if len(parts) > 2 && parts[0] == "namespaces" {
		parts = parts[2:]
	}
	resource, named := "?", len(parts) >= 2
	if len(parts) > 0 {
		resource = parts[0]
	}
	verb := strings.ToLower(r.Method)
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		switch {
		case r.URL.Query().Get("watch") == "true":
			verb = "watch"
		case named:
			verb = "get"
		default:
			verb = "list"
		}
	case http.MethodPost:
		verb = "create"
	case http.MethodPut:
		verb = "update"
	case http.MethodPatch:
		if strings.HasPrefix(r.Header.Get("Content-Type"), "application/apply-patch") {
			verb = "apply"
		}
	}
	return verb + " " + resource
}

// CountingClient returns a client whose every request is counted in c.
func (e *Env) CountingClient(c *Counter) (kubernetes.Interface, error) {
	cfg := rest.CopyConfig(e.Config)
	cfg.RateLimiter = flowcontrol.NewFakeAlwaysRateLimiter() // as secretsync run does
	cfg.ContentType = "application/vnd.kubernetes.protobuf"  // as secretsync run does
	cfg.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper {
		return roundTripper(func(r *http.Request) (*http.Response, error) {
			c.count(r)
			return rt.RoundTrip(r)
		})
	})
	return kubernetes.NewForConfig(cfg)
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
