package main

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"maps"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/rs/zerolog"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"

	"github.com/secretsync/secretsync/gitsource"
	"github.com/secretsync/secretsync/internal/gittest"
	"github.com/secretsync/secretsync/internal/smserver"
	"github.com/secretsync/secretsync/internal/testenv"
	awsprov "github.com/secretsync/secretsync/providers/aws"
	"github.com/secretsync/secretsync/reconciler"
)

// awsReads are the Secrets Manager operations that change nothing; every
// other operation the server counts is a write.
var awsReads = map[string]bool{"DescribeSecret": true, "GetSecretValue": true, "BatchGetSecretValue": true, "ListSecrets": true}

// pushChangedReps is how many times one changed source Secret is pushed.
const pushChangedReps = 5

// pushRun is the PushSecret scenario's state: n PushSecrets in one
// namespace, push-NNNNN pushing key "value" of Secret src-NNNNN to the
// remote secret <instance>/push-NNNNN, through the project's Secrets
// Manager server with its injected latency.
type pushRun struct {
	ctx      context.Context
	kube     *testenv.Env
	n        int
	l        string
	instance string
	sm       *smserver.Server
	client   *secretsmanager.Client
	repo     *gittest.Repo
	counter  *testenv.Counter
	rec      *reconciler.Reconciler
	// newReconciler makes a reconciler with a new process's memory.
	newReconciler func() (*reconciler.Reconciler, error)
	// meta is the source watch's metadata client; it counts the watches
	// it opens, so the scenario knows when the watch is up.
	meta *openedMeta
	// stopWatch ends the running reconciler's source watch; passes holds
	// the results of the passes it asked for (watchDriven).
	stopWatch func()
	passes    chan reconciler.Result
}

// pushScenario measures n PushSecrets with the source watch running, as
// `secretsync run` runs it: the cold push, a no-op pass (new revision,
// nothing changed), an idle poll, a no-op pass after a restart, and one
// changed source Secret to its new version in Secrets Manager through the
// pass the watch asks for. A no-op or restart pass that writes to AWS
// fails the bench.
func pushScenario(kube *testenv.Env, dir string, n int) error {
	sm := smserver.New()
	srv := httptest.NewServer(sm)
	defer srv.Close()
	p := &pushRun{ctx: context.Background(), kube: kube, n: n, l: label(n), instance: "bench-push-" + label(n), sm: sm,
		client: secretsmanager.New(secretsmanager.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL),
			Credentials: credentials.NewStaticCredentialsProvider("AKIDBENCH", "bench", "")})}
	if err := p.seed(dir); err != nil {
		return err
	}
	sm.SetLatency(latency)
	if err := p.wire(dir, srv.URL); err != nil {
		return err
	}
	defer func() { p.stopWatch() }()
	for _, step := range []func() error{p.cold, p.noop, p.idle, p.restart, p.changed} {
		if err := step(); err != nil {
			return err
		}
	}
	return nil
}

// seed creates the namespace and the n source Secrets, and commits the
// SecretStore and the n PushSecrets.
func (p *pushRun) seed(dir string) error {
	ns := p.instance
	if _, err := p.kube.Client.CoreV1().Namespaces().Create(p.ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		return err
	}
	var wg sync.WaitGroup
	var seedErr atomic.Value
	sem := make(chan struct{}, 32)
	for j := range p.n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("src-%05d", j), Namespace: ns},
				Data: map[string][]byte{"value": fmt.Appendf(nil, "push-%05d-%s", j, strings.Repeat("x", 64))}}
			if _, err := p.kube.Client.CoreV1().Secrets(ns).Create(p.ctx, s, metav1.CreateOptions{}); err != nil {
				seedErr.Store(err)
			}
		}()
	}
	wg.Wait()
	if err, _ := seedErr.Load().(error); err != nil {
		return err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: external-secrets.io/v1\nkind: SecretStore\nmetadata: {name: aws, namespace: %s}\nspec: {provider: {aws: {service: SecretsManager, region: us-east-1}}}\n", ns)
	for j := range p.n {
		fmt.Fprintf(&b, "---\napiVersion: external-secrets.io/v1alpha1\nkind: PushSecret\nmetadata: {name: push-%05d, namespace: %s}\nspec:\n  secretStoreRefs: [{name: aws}]\n  selector: {secret: {name: src-%05d}}\n  data:\n    - match: {secretKey: value, remoteRef: {remoteKey: %s/push-%05d}}\n", j, ns, j, p.instance, j)
	}
	repo, err := gittest.Init(filepath.Join(dir, "repo"))
	if err != nil {
		return err
	}
	p.repo = repo
	_, err = repo.Commit("bench", map[string]string{"pushsecrets.yaml": b.String()})
	return err
}

// wire makes the Git source, the counting client and the AWS factory every
// reconciler of the scenario shares, and the first reconciler.
func (p *pushRun) wire(dir, awsURL string) error {
	src, err := gitsource.New(gitsource.Options{URL: "file://" + p.repo.Dir, Ref: "main", Dir: filepath.Join(dir, "checkout")})
	if err != nil {
		return err
	}
	p.counter = &testenv.Counter{}
	kc, err := p.kube.CountingClient(p.counter)
	if err != nil {
		return err
	}
	pf := awsprov.NewFactory(awsprov.Options{Endpoint: awsURL, DefaultRegion: "us-east-1"})
	p.newReconciler = func() (*reconciler.Reconciler, error) {
		return reconciler.New(reconciler.Config{Instance: p.instance, InventoryNamespace: "default", Path: ".", RefreshInterval: time.Hour},
			src, kc, pf, zerolog.Nop())
	}
	meta, err := metadata.NewForConfig(rest.CopyConfig(p.kube.Config))
	if err != nil {
		return err
	}
	p.meta = &openedMeta{Interface: meta}
	p.rec, err = p.newReconciler()
	if err != nil {
		return err
	}
	p.startWatch()
	return nil
}

// startWatch starts the running reconciler's source watch, as the service
// does before its first pass: a source change it sees runs a pass
// (watchDriven), after the 300 ms the service waits for a burst of
// triggers to coalesce.
func (p *pushRun) startWatch() {
	p.rec.SetMetadataClient(p.meta)
	ctx, cancel := context.WithCancel(p.ctx)
	p.passes = make(chan reconciler.Result, 1)
	trigger := make(chan struct{}, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		p.rec.WatchPushSources(ctx, func() {
			select {
			case trigger <- struct{}{}:
			default:
			}
		})
	}()
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-trigger:
				time.Sleep(300 * time.Millisecond)
				p.passes <- p.rec.Pass(p.ctx, false)
			}
		}
	}()
	p.stopWatch = func() { cancel(); <-done }
}

// waitWatch waits until the source watch has opened a watch since opened
// was read (it reads the sources it sees before it opens, so their GETs
// are done).
func (p *pushRun) waitWatch(opened int64) error {
	for deadline := time.Now().Add(2 * time.Minute); p.meta.opened.Load() <= opened; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			return fmt.Errorf("the push source watch did not start")
		}
	}
	return nil
}

// pass runs one pass with the counters zeroed, and returns it with the AWS
// calls it made.
func (p *pushRun) pass(force bool) (reconciler.Result, map[string]int) {
	p.sm.ResetCalls()
	p.counter.Reset()
	res := p.rec.Pass(p.ctx, force)
	return res, p.sm.Calls()
}

// cold: the first pass creates the n remote secrets.
// The source watch then starts on the sources the pass read.
func (p *pushRun) cold() error {
	opened := p.meta.opened.Load()
	res, calls := p.pass(false)
	if !res.OK() || res.Pushed != p.n {
		return fmt.Errorf("cold push: pushed %d of %d, errors %v", res.Pushed, p.n, first(res.Errors))
	}
	record("push_"+p.l+"_cold_s", res.Duration.Seconds(), "s", "first pass, one sample (the remote secrets then exist): PushSecrets are pushed concurrently (--concurrency, 32)")
	record("push_"+p.l+"_cold_aws_calls", float64(total(calls)), "", opsNote(calls))
	return p.waitWatch(opened)
}

// noop: reps passes, each after an unrelated commit, same process.
func (p *pushRun) noop() error {
	var secs []float64
	var writes, reads, gets int
	for i := range reps {
		if _, err := p.repo.Commit("docs", map[string]string{"README.md": fmt.Sprintf("unrelated %d", i)}); err != nil {
			return err
		}
		res, calls := p.pass(false)
		if !res.OK() || res.Pushed != 0 {
			return fmt.Errorf("no-op push pass: pushed %d, errors %v", res.Pushed, first(res.Errors))
		}
		secs = append(secs, res.Duration.Seconds())
		w, r := split(calls)
		if w > 0 {
			return fmt.Errorf("no-op push pass made %d AWS writes (%s), want 0", w, opsNote(calls))
		}
		writes, reads, gets = max(writes, w), max(reads, r), max(gets, int(p.counter.ByVerb()["get secrets"]))
	}
	recordSpread("push_"+p.l+"_noop_s", secs, "s", "new revision, no source changed, same process")
	record("push_"+p.l+"_noop_writes", float64(writes), "", "AWS write calls in the worst of them")
	record("push_"+p.l+"_noop_aws_reads", float64(reads), "", "AWS read calls in the worst of them: a digest of each source Secret in memory stands for the remote value")
	record("push_"+p.l+"_noop_source_gets", float64(gets), "", "API GETs of source Secrets in the worst of them: pushAll reads every source Secret")
	return nil
}

// idle: revision unchanged, nothing due, no source changed: the poll that
// runs every --interval, with the source watch up since before the no-op
// passes (which read every source), so it vouches for them.
func (p *pushRun) idle() error {
	res, calls := p.pass(false)
	if !res.OK() {
		return fmt.Errorf("idle poll: %v", first(res.Errors))
	}
	record("push_"+p.l+"_idle_source_gets", float64(p.counter.ByVerb()["get secrets"]), "",
		fmt.Sprintf("API GETs of one idle poll with the source watch up, stage %s: Pusher.Due trusts the watch and reads no source; AWS calls %d", res.Stage, total(calls)))
	record("push_"+p.l+"_idle_s", res.Duration.Seconds(), "s", "that idle poll")
	return nil
}

// restart: a new process's first pass, nothing changed: the inventory's
// push rows (synced digest, check time) vouch for every remote secret, so
// none is read (target: 0 AWS calls).
// The new process's source watch starts as the service's does.
func (p *pushRun) restart() error {
	p.stopWatch()
	var err error
	if p.rec, err = p.newReconciler(); err != nil {
		return err
	}
	p.startWatch()
	opened := p.meta.opened.Load()
	res, calls := p.pass(false)
	if !res.OK() || res.Pushed != 0 {
		return fmt.Errorf("push pass after restart: pushed %d, errors %v", res.Pushed, first(res.Errors))
	}
	w, _ := split(calls)
	if w > 0 {
		return fmt.Errorf("push pass after restart made %d AWS writes (%s), want 0", w, opsNote(calls))
	}
	if err := p.waitWatch(opened); err != nil {
		return err
	}
	record("push_"+p.l+"_restart_s", res.Duration.Seconds(), "s", "first pass of a new process, nothing changed")
	record("push_"+p.l+"_restart_writes", float64(w), "", "AWS write calls in it")
	record("push_"+p.l+"_restart_aws_calls", float64(total(calls)), "", opsNote(calls))
	return nil
}

// changed: one source Secret updated; the source watch sees it and asks
// for a pass, which pushes it. Timed from the update to the end of that
// pass, after which the new version is checked in Secrets Manager. The
// AWS calls are that pass's.
func (p *pushRun) changed() error {
	var secs []float64
	var calls map[string]int
	for i := range pushChangedReps {
		j := i * p.n / pushChangedReps
		name := fmt.Sprintf("src-%05d", j)
		value := fmt.Appendf(nil, "changed-%05d-%d-%s", j, i, strings.Repeat("y", 64))
		secrets := p.kube.Client.CoreV1().Secrets(p.instance)
		s, err := secrets.Get(p.ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		s.Data["value"] = value
		select {
		case <-p.passes: // a pass the watch asked for before: not this change's
		default:
		}
		p.sm.ResetCalls()
		start := time.Now()
		if _, err := secrets.Update(p.ctx, s, metav1.UpdateOptions{}); err != nil {
			return err
		}
		var res reconciler.Result
		select {
		case res = <-p.passes:
		case <-time.After(2 * time.Minute):
			return fmt.Errorf("changed source: the source watch asked for no pass")
		}
		took := time.Since(start)
		calls = p.sm.Calls()
		if !res.OK() || res.Pushed != 1 {
			return fmt.Errorf("changed source: pushed %d, want 1, errors %v", res.Pushed, first(res.Errors))
		}
		out, err := p.client.GetSecretValue(p.ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(fmt.Sprintf("%s/push-%05d", p.instance, j))})
		if err != nil {
			return err
		}
		if !bytes.Equal(out.SecretBinary, value) {
			return fmt.Errorf("changed source: %s/push-%05d does not hold the new value after the pass", p.instance, j)
		}
		secs = append(secs, took.Seconds())
	}
	recordSpread("push_"+p.l+"_changed_p50_s", secs, "s", fmt.Sprintf("source Secret update to its new version in Secrets Manager, through the pass the source watch asks for (the service's 300 ms wait for triggers to coalesce included); median of %d", pushChangedReps))
	record("push_"+p.l+"_changed_aws_calls", float64(total(calls)), "", opsNote(calls))
	return nil
}

// openedMeta is the source watch's metadata client, counting the watches
// it opened.
type openedMeta struct {
	metadata.Interface
	opened atomic.Int64
}

func (m *openedMeta) Resource(gvr schema.GroupVersionResource) metadata.Getter {
	return openedGetter{m.Interface.Resource(gvr), m}
}

type openedGetter struct {
	metadata.Getter
	m *openedMeta
}

func (g openedGetter) Namespace(ns string) metadata.ResourceInterface {
	return openedResource{g.Getter.Namespace(ns), g.m}
}

type openedResource struct {
	metadata.ResourceInterface
	m *openedMeta
}

func (r openedResource) Watch(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
	w, err := r.ResourceInterface.Watch(ctx, opts)
	if err == nil {
		r.m.opened.Add(1)
	}
	return w, err
}

// split counts calls as writes and reads.
func split(calls map[string]int) (writes, reads int) {
	for op, n := range calls {
		if awsReads[op] {
			reads += n
		} else {
			writes += n
		}
	}
	return writes, reads
}

func total(calls map[string]int) int {
	w, r := split(calls)
	return w + r
}

// opsNote lists calls by operation, most first.
func opsNote(calls map[string]int) string {
	ops := slices.Collect(maps.Keys(calls))
	slices.SortFunc(ops, func(a, b string) int { return cmp.Or(cmp.Compare(calls[b], calls[a]), cmp.Compare(a, b)) })
	parts := make([]string, len(ops))
	for i, op := range ops {
		parts[i] = fmt.Sprintf("%s=%d", op, calls[op])
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}
