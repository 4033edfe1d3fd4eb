package reconciler_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/rs/zerolog"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/secretsync/secretsync/gitsource"
	"github.com/secretsync/secretsync/internal/acmserver"
	"github.com/secretsync/secretsync/internal/awstest"
	"github.com/secretsync/secretsync/internal/gittest"
	"github.com/secretsync/secretsync/internal/leaktest"
	"github.com/secretsync/secretsync/internal/stsserver"
	"github.com/secretsync/secretsync/internal/testenv"
	"github.com/secretsync/secretsync/inventory"
	"github.com/secretsync/secretsync/providers"
	"github.com/secretsync/secretsync/reconciler"
)

// fixture is one repo, one Secrets Manager, one namespace and one
// reconciler instance, all real: go-git over file://, the AWS SDK against
// smserver, and the test API server.
type fixture struct {
	t        *testing.T
	ns       string
	repo     *gittest.Repo
	sm       awstest.Backend
	ssm      awstest.SSM
	acm      *acmserver.Server
	kmsURL   string
	sts      *stsserver.Server
	pf       providers.Factory
	checkout string
	kube     kubernetes.Interface // counted
	counter  *testenv.Counter
	rec      *reconciler.Reconciler
	logs     *syncBuffer
	seeds    []string
	errs     []string
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func randomSuffix() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	awstest.Isolate(t)
	f := &fixture{t: t, ns: "t-" + randomSuffix(), sm: awstest.StartSM(t), ssm: awstest.StartSSM(t), kmsURL: awstest.StartKMS(t), counter: &testenv.Counter{}, logs: &syncBuffer{}}
	ctx := context.Background()
	if _, err := env.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: f.ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var err error
	dir := t.TempDir()
	if f.repo, err = gittest.Init(filepath.Join(dir, "repo")); err != nil {
		t.Fatal(err)
	}
	f.checkout = filepath.Join(dir, "checkout")
	if f.kube, err = env.CountingClient(f.counter); err != nil {
		t.Fatal(err)
	}
	stsServer, stsURL := awstest.StartSTS(t)
	f.sts = stsServer
	acm, acmURL := awstest.StartACM(t)
	f.acm = acm
	f.pf = awstest.Factory(awstest.Endpoints{SM: f.sm.URL, KMS: f.kmsURL, STS: stsURL, Kumo: f.ssm.URL, ACM: acmURL})
	f.rec = f.newReconciler()
	t.Cleanup(f.checkNoValueLeaked)
	return f
}

// newReconciler makes a reconciler over the fixture's repo, cluster and
// AWS, with the default config changed by edits.
func (f *fixture) newReconciler(edits ...func(*reconciler.Config)) *reconciler.Reconciler {
	f.t.Helper()
	src, err := gitsource.New(gitsource.Options{URL: "file://" + f.repo.Dir, Ref: "main", Dir: f.checkout})
	if err != nil {
		f.t.Fatal(err)
	}
	cfg := reconciler.Config{Instance: f.ns, InventoryNamespace: f.ns, Path: "."}
	for _, e := range edits {
		e(&cfg)
	}
	rec, err := reconciler.New(cfg, src, f.kube, f.pf, zerolog.New(f.logs).Level(zerolog.DebugLevel))
	if err != nil {
		f.t.Fatal(err)
	}
	return rec
}

// seed creates a remote secret and remembers its value (and every JSON
// string in it) as text that must never appear in output.
func (f *fixture) seed(name, value string) {
	f.t.Helper()
	f.sm.Create(f.t, name, value)
	f.remember(value)
}

func (f *fixture) rotate(name, value string) {
	f.t.Helper()
	f.sm.Put(f.t, name, value)
	f.remember(value)
}

func (f *fixture) remember(value string) {
	f.seeds = append(f.seeds, value)
	var m map[string]any
	if json.Unmarshal([]byte(value), &m) == nil {
		for _, v := range m {
			if s, ok := v.(string); ok {
				f.seeds = append(f.seeds, s)
			}
		}
	}
}

// checkNoValueLeaked is the leak check every test of the fixture runs
// when it ends (leaktest): no 8-byte piece of a value the test seeded or
// remembered (generated passwords and tokens read back from their Secret
// too) in the logs at debug level, the pass errors, the Events of the
// namespace and of the instance, or the inventory's ConfigMaps (summary,
// annotations and every shard's rows).
func (f *fixture) checkNoValueLeaked() {
	f.t.Helper()
	var c leaktest.Canaries
	c.Add(f.seeds...)
	ctx := context.Background()
	cms, err := env.Client.CoreV1().ConfigMaps(f.ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		f.t.Fatal(err)
	}
	var record []string
	for _, cm := range cms.Items {
		if !strings.HasPrefix(cm.Name, inventory.Name("")) {
			continue
		}
		meta, _ := json.Marshal(cm.Annotations)
		record = append(record, cm.Data["summary"], string(meta))
		if inv, err := inventory.ReadInventory(ctx, env.Client, &cm); err == nil { // a shard is read with its main ConfigMap
			rows, _ := json.Marshal(inv)
			record = append(record, string(rows))
		}
	}
	events, err := env.Client.CoreV1().Events("").List(ctx, metav1.ListOptions{})
	if err != nil {
		f.t.Fatal(err)
	}
	var evs []string
	for _, e := range events.Items {
		if e.Namespace == f.ns || strings.HasPrefix(e.ReportingInstance, f.ns) {
			evs = append(evs, e.InvolvedObject.Name+"/"+e.Reason+": "+e.Message)
		}
	}
	c.Check(f.t, "the logs", f.logs.String())
	c.Check(f.t, "the pass errors", strings.Join(f.errs, "\n"))
	c.Check(f.t, "the Events", strings.Join(evs, "\n"))
	c.Check(f.t, "the inventory", strings.Join(record, "\n"))
}

func (f *fixture) commit(files map[string]string) {
	f.t.Helper()
	if _, err := f.repo.Commit("change", files); err != nil {
		f.t.Fatal(err)
	}
}

// pass runs a full pass and keeps its errors for the leak check.
func (f *fixture) pass() reconciler.Result {
	f.t.Helper()
	return f.passWith(true)
}

func (f *fixture) passWith(force bool) reconciler.Result {
	res := f.rec.Pass(context.Background(), force)
	for _, e := range res.Errors {
		f.errs = append(f.errs, e.Error())
	}
	return res
}

func (f *fixture) secret(name string) *corev1.Secret {
	f.t.Helper()
	s, err := env.Client.CoreV1().Secrets(f.ns).Get(context.Background(), name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		f.t.Fatal(err)
	}
	return s
}

func (f *fixture) inventory() inventory.Inventory {
	f.t.Helper()
	cm, err := env.Client.CoreV1().ConfigMaps(f.ns).Get(context.Background(), "secretsync-inventory-"+f.ns, metav1.GetOptions{})
	if err != nil {
		f.t.Fatal(err)
	}
	inv, err := inventory.ReadInventory(context.Background(), env.Client, cm)
	if err != nil {
		f.t.Fatal(err)
	}
	return inv
}

func (f *fixture) store() string {
	return fmt.Sprintf(`apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {name: aws, namespace: %s}
spec:
  provider:
    aws: {service: SecretsManager, region: us-east-1}
`, f.ns)
}

// es is an ExternalSecret with one data key per "secretKey=remoteKey#property".
func (f *fixture) es(name string, items ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: {name: %s, namespace: %s}\nspec:\n  secretStoreRef: {name: aws}\n  data:\n", name, f.ns)
	for _, it := range items {
		key, ref, _ := strings.Cut(it, "=")
		remote, prop, _ := strings.Cut(ref, "#")
		fmt.Fprintf(&b, "    - secretKey: %s\n      remoteRef: {key: %s, property: %q}\n", key, remote, prop)
	}
	return b.String()
}

// data returns a Secret's data as strings, for comparison.
func data(s *corev1.Secret) map[string]string {
	if s == nil {
		return nil
	}
	out := map[string]string{}
	for k, v := range s.Data {
		out[k] = string(v)
	}
	return out
}

// sameData compares without printing values on failure.
func sameData(t *testing.T, what string, got, want map[string]string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s has %d keys, want %d", what, len(got), len(want))
	}
	for k, v := range want {
		g, ok := got[k]
		if !ok {
			t.Fatalf("%s has no key %q", what, k)
		}
		if g != v {
			t.Fatalf("%s key %q differs from the seeded value (%d bytes, want %d)", what, k, len(g), len(v))
		}
	}
}

func removeAll(dir string) error { return os.RemoveAll(dir) }

func contains(s, sub string) bool { return strings.Contains(s, sub) }
