package main

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
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

	"github.com/secretsync/secretsync/gitsource"
	"github.com/secretsync/secretsync/internal/gittest"
	"github.com/secretsync/secretsync/internal/smserver"
	"github.com/secretsync/secretsync/internal/testenv"
	awsprov "github.com/secretsync/secretsync/providers/aws"
	"github.com/secretsync/secretsync/reconciler"
)

// benchRun is one scenario's shared state: the AWS server and its client,
// the repo, the reconciler under test and the request counter its steps
// reset and read.
type benchRun struct {
	ctx      context.Context
	kube     *testenv.Env
	dir      string
	n        int
	l        string // the size's label, as figures name it
	instance string
	sm       *smserver.Server
	awsURL   string
	client   *secretsmanager.Client
	repo     *gittest.Repo
	counter  *testenv.Counter
	rec      *reconciler.Reconciler // the one the cold passes made last
	// newReconciler makes a reconciler with a new process's memory.
	newReconciler func() (*reconciler.Reconciler, error)
	env           []string // the secretsync process's environment
	args          []string // and its `run` arguments
}

// scenario measures n ExternalSecrets: cold, refresh, no-op and idle passes
// of the reconciler in process, the baselines, and the secretsync process
// itself; at 10k also latencies, rotation and prune.
func scenario(kube *testenv.Env, dir string, n int) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel() // stops the drift watch
	sm := smserver.New()
	srv := httptest.NewServer(sm)
	defer srv.Close()
	instance := "bench-" + label(n)
	b := &benchRun{ctx: ctx, kube: kube, dir: dir, n: n, l: label(n), instance: instance, sm: sm, awsURL: srv.URL,
		client: secretsmanager.New(secretsmanager.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL),
			Credentials: credentials.NewStaticCredentialsProvider("AKIDBENCH", "bench", "")})}
	if err := b.seedRepo(); err != nil {
		return err
	}
	// Seed before latency is switched on.
	if err := b.seedValues(); err != nil {
		return err
	}
	sm.SetLatency(latency)
	if err := b.wireReconciler(); err != nil {
		return err
	}
	ourRate, err := b.coldPasses()
	if err != nil {
		return err
	}
	ours, err := b.refreshPasses()
	if err != nil {
		return err
	}
	if err := b.noopPasses(); err != nil {
		return err
	}
	b.idlePass()
	if err := b.baselines(ourRate, ours); err != nil {
		return err
	}
	b.setProcess()
	if err := b.processPasses(); err != nil {
		return err
	}
	if n == 10000 {
		return b.large()
	}
	return nil
}

// seedRepo creates the namespaces and commits one SecretStore and n/20
// ExternalSecrets to each.
func (b *benchRun) seedRepo() error {
	repo, err := gittest.Init(filepath.Join(b.dir, "repo"))
	if err != nil {
		return err
	}
	b.repo = repo
	files := map[string]string{}
	for i := range namespaces {
		ns := fmt.Sprintf("%s-%02d", b.instance, i)
		if _, err := b.kube.Client.CoreV1().Namespaces().Create(b.ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			return err
		}
		var s strings.Builder
		fmt.Fprintf(&s, "apiVersion: external-secrets.io/v1\nkind: SecretStore\nmetadata: {name: aws, namespace: %s}\nspec: {provider: {aws: {service: SecretsManager, region: us-east-1}}}\n", ns)
		for j := i; j < b.n; j += namespaces {
			fmt.Fprintf(&s, "---\napiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: {name: es-%05d, namespace: %s}\nspec:\n  secretStoreRef: {name: aws}\n  data: [{secretKey: value, remoteRef: {key: %s/es-%05d, property: password}}]\n", j, ns, b.instance, j)
		}
		files[fmt.Sprintf("overlays/%s/secrets.yaml", ns)] = s.String()
	}
	_, err = repo.Commit("bench", files)
	return err
}

// seedValues creates the n remote secrets, concurrently.
func (b *benchRun) seedValues() error {
	var wg sync.WaitGroup
	var seedErr atomic.Value
	sem := make(chan struct{}, 32)
	for j := range b.n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			_, err := b.client.CreateSecret(b.ctx, &secretsmanager.CreateSecretInput{Name: aws.String(fmt.Sprintf("%s/es-%05d", b.instance, j)),
				SecretString: aws.String(fmt.Sprintf(`{"password":"p-%05d-%s"}`, j, strings.Repeat("x", 64)))})
			if err != nil {
				seedErr.Store(err)
			}
		}()
	}
	wg.Wait()
	if err, _ := seedErr.Load().(error); err != nil {
		return err
	}
	return nil
}

// wireReconciler makes what every reconciler of the scenario shares: the
// Git source, the counting client and the AWS factory.
func (b *benchRun) wireReconciler() error {
	src, err := gitsource.New(gitsource.Options{URL: "file://" + b.repo.Dir, Ref: "main", Dir: filepath.Join(b.dir, "checkout")})
	if err != nil {
		return err
	}
	b.counter = &testenv.Counter{}
	kc, err := b.kube.CountingClient(b.counter)
	if err != nil {
		return err
	}
	pf := awsprov.NewFactory(awsprov.Options{Endpoint: b.awsURL, DefaultRegion: "us-east-1"})
	b.newReconciler = func() (*reconciler.Reconciler, error) {
		return reconciler.New(reconciler.Config{Instance: b.instance, InventoryNamespace: "default", Path: "overlays", RefreshInterval: time.Hour},
			src, kc, pf, zerolog.Nop())
	}
	return nil
}

// coldPasses applies every Secret from nothing, reps times, and returns our
// Secrets per second in the median pass.
func (b *benchRun) coldPasses() (float64, error) {
	var cold reconciler.Result
	var colds, coldCPU []float64
	for rep := range reps {
		if rep > 0 {
			// Cold again: no Secret, no inventory, a new process's memory.
			if err := clearInstance(b.ctx, b.kube, b.instance); err != nil {
				return 0, err
			}
		}
		var err error
		if b.rec, err = b.newReconciler(); err != nil {
			return 0, err
		}
		runtime.GC()
		b.sm.ResetCalls()
		b.counter.Reset()
		stopProfile, err := startColdProfile(b.n, rep)
		if err != nil {
			return 0, err
		}
		c0 := cpuSeconds()
		cold = b.rec.Pass(b.ctx, true)
		coldCPU = append(coldCPU, cpuSeconds()-c0)
		stopProfile()
		if !cold.OK() || cold.Applied != b.n {
			return 0, fmt.Errorf("cold pass: applied %d of %d, errors %v", cold.Applied, b.n, first(cold.Errors))
		}
		colds = append(colds, cold.Duration.Seconds())
	}
	l := b.l
	recordSpread("cold_apply_"+l+"_seconds", colds, "s", fmt.Sprintf("%d new Secrets; median of %d; stages of the last %v", b.n, reps, cold.Timings))
	recordSpread("cold_apply_"+l+"_cpu_seconds", coldCPU, "s", "user+sys of this process in the cold pass (includes the in-process AWS server)")
	ourRate := float64(b.n) / percentile(colds, 0.5)
	record("cold_apply_"+l+"_vs_raw", ourRate/rawRate, "", "our Secrets/s (median pass) over the raw apply rate (median)")
	record("cold_fetch_"+l+"_seconds", cold.FetchTime.Seconds(), "s", "time spent fetching values, 20 ms per AWS call; overlapped with the apply")
	record("cold_aws_calls_"+l, float64(b.sm.TotalCalls()), "", callsNote(b.sm))
	record("cold_api_requests_"+l, float64(b.counter.Reads()+b.counter.Writes()), "", verbsNote(b.counter))
	return ourRate, nil
}

// refreshPasses refreshes unchanged values: everything fetched again,
// nothing written. It returns the AWS calls of the last.
func (b *benchRun) refreshPasses() (int, error) {
	var refreshes, refreshCPU []float64
	var ours int
	for range reps {
		b.sm.ResetCalls()
		b.counter.Reset()
		c0 := cpuSeconds()
		refresh := b.rec.Pass(b.ctx, true)
		refreshCPU = append(refreshCPU, cpuSeconds()-c0)
		if !refresh.OK() || refresh.Unchanged != b.n {
			return 0, fmt.Errorf("refresh pass: unchanged %d of %d, errors %v", refresh.Unchanged, b.n, first(refresh.Errors))
		}
		refreshes = append(refreshes, refresh.Duration.Seconds())
		ours = b.sm.TotalCalls()
	}
	l := b.l
	recordSpread("refresh_pass_"+l+"_seconds", refreshes, "s", "every value fetched again, none changed")
	recordSpread("refresh_pass_"+l+"_cpu_seconds", refreshCPU, "s", "user+sys of this process in it")
	record("refresh_aws_calls_"+l, float64(ours), "", callsNote(b.sm))
	record("refresh_writes_"+l, float64(b.counter.Writes()), "", "API-server writes in that refresh")
	return ours, nil
}

// noopPasses measures commits that change nothing for Secrets: render and
// compare all, fetch and write nothing. First without the drift watch
// (every live Secret is read to check reuse), then with it, as
// `secretsync run` runs: the watch vouches for the Secrets it saw no change
// to. The watch runs until the scenario ends.
func (b *benchRun) noopPasses() error {
	if err := b.noops("noop_pass_" + b.l + "_unwatched"); err != nil {
		return err
	}
	go b.rec.WatchDrift(b.ctx, func() {})
	time.Sleep(2 * time.Second) // the watches start
	if _, err := b.repo.Commit("docs", map[string]string{"README.md": "watch started " + b.l}); err != nil {
		return err
	}
	if warm := b.rec.Pass(b.ctx, false); !warm.OK() { // the first pass after the watch starts reads every Secret
		return fmt.Errorf("pass after the watch started: %v", first(warm.Errors))
	}
	return b.noops("noop_pass_" + b.l)
}

// noops runs reps passes, each after an unrelated commit, and records them
// under name.
func (b *benchRun) noops(name string) error {
	var secs, cpu []float64
	var last reconciler.Result
	var writes, calls int
	for i := range reps {
		if _, err := b.repo.Commit("docs", map[string]string{"README.md": fmt.Sprintf("unrelated %s %s %d", b.l, name, i)}); err != nil {
			return err
		}
		b.sm.ResetCalls()
		b.counter.Reset()
		c0 := cpuSeconds()
		last = b.rec.Pass(b.ctx, false)
		cpu = append(cpu, cpuSeconds()-c0)
		if !last.OK() {
			return fmt.Errorf("no-op pass: %v", first(last.Errors))
		}
		secs = append(secs, last.Duration.Seconds())
		writes, calls = max(writes, int(b.counter.Writes())), max(calls, b.sm.TotalCalls())
	}
	recordSpread(name+"_seconds", secs, "s", fmt.Sprintf("new revision, nothing changed; stages of the last %v", last.Timings))
	recordSpread(name+"_cpu_seconds", cpu, "s", "user+sys of this process in it")
	record(name+"_writes", float64(writes), "", "API-server writes in the worst of them; requests of the last: "+verbsNote(b.counter))
	record(name+"_aws_calls", float64(calls), "", "no refresh due; the worst of them")
	return nil
}

// idlePass: nothing due, the pass stops after the fetch.
func (b *benchRun) idlePass() {
	b.sm.ResetCalls()
	b.counter.Reset()
	idle := b.rec.Pass(b.ctx, false)
	record("idle_pass_"+b.l+"_aws_calls", float64(b.sm.TotalCalls()), "", "revision unchanged, no refresh due: stage "+string(idle.Stage))
}

// baselines measures ESO's default refresh (one GetSecretValue per
// reference, every refresh) and, up to 1k, its default apply.
func (b *benchRun) baselines(ourRate float64, ours int) error {
	l := b.l
	b.sm.ResetCalls()
	start := time.Now()
	if err := baseline(b.ctx, b.client, b.instance, b.n); err != nil {
		return err
	}
	base := b.sm.TotalCalls()
	record("baseline_refresh_aws_calls_"+l, float64(base), "", "one GetSecretValue per reference (ESO default)")
	record("baseline_resolve_"+l+"_seconds", time.Since(start).Seconds(), "s", fmt.Sprintf("at concurrency %d (ESO's default is 1)", baselineConcurrency))
	if ours > 0 {
		record("refresh_aws_calls_ratio_"+l, float64(base)/float64(ours), "x", "baseline calls / our calls")
	}
	if b.n <= 1000 {
		kc2, err := b.kube.CountingClient(&testenv.Counter{})
		if err != nil {
			return err
		}
		if naiveRate, err = naive(b.ctx, kc2, b.client, b.instance, b.n); err != nil {
			return err
		}
		record("naive_apply_per_second", naiveRate, "/s", "ESO's default way: concurrency 1, GetSecretValue, GET, then Create or Update")
	}
	if naiveRate > 0 {
		record("cold_apply_"+l+"_speedup", ourRate/naiveRate, "x", "our Secrets/s over the naive baseline's (measured at 1k; linear at concurrency 1)")
	}
	return nil
}

// setProcess sets the environment and arguments of the secretsync process
// over this scenario's repo, cluster and AWS server.
func (b *benchRun) setProcess() {
	b.env = []string{"AWS_ACCESS_KEY_ID=AKIDBENCH", "AWS_SECRET_ACCESS_KEY=bench", "AWS_EC2_METADATA_DISABLED=true", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null"}
	b.args = []string{"run", "--repo", "file://" + b.repo.Dir, "--path", "overlays", "--instance", b.instance, "--inventory-namespace", "default",
		"--kubeconfig", b.kube.Kubeconfig, "--aws-endpoint", b.awsURL, "--aws-region", "us-east-1", "--workdir", filepath.Join(b.dir, "proc")}
}

// processPasses measures the secretsync process itself: RSS of one --once
// pass over n managed Secrets (everything resolved and compared, nothing
// written), and `secretsync status -A` over the inventory of n rows
// (sharded past about 20,000): the whole command, as a user runs it.
func (b *benchRun) processPasses() error {
	l := b.l
	var rsss, onceCPU []float64
	for range reps {
		rss, cpu, _, err := procRun(secretsyncBin, b.env, append(b.args, "--once")...)
		if err != nil {
			return err
		}
		rsss, onceCPU = append(rsss, rss), append(onceCPU, cpu)
	}
	recordSpread("rss_"+l+"_mib", rsss, "MiB", fmt.Sprintf("peak RSS of secretsync run --once over %d managed Secrets of ~1 KiB, GOMEMLIMIT unset", b.n))
	recordSpread("once_pass_"+l+"_cpu_seconds", onceCPU, "s", "user+sys of that process (exact: its own rusage)")

	var reads []float64
	for range reps {
		start := time.Now()
		_, _, out, err := procRun(secretsyncBin, b.env, "status", "-A", "-o", "json", "--instance", b.instance, "--inventory-namespace", "default", "--kubeconfig", b.kube.Kubeconfig)
		if err != nil {
			return fmt.Errorf("status: %v: %s", err, out[:min(len(out), 300)])
		}
		if rows := strings.Count(string(out), `"externalSecret":`); rows != b.n {
			return fmt.Errorf("status listed %d rows, want %d", rows, b.n)
		}
		reads = append(reads, time.Since(start).Seconds())
	}
	recordSpread("status_read_"+l+"_seconds", reads, "s", "secretsync status -A -o json: the whole command, reading the inventory's shards")
	return nil
}

// large measures what only the 10k scenario does: RSS beside unrelated
// Secrets and under GOMEMLIMIT, commit-to-applied latency by webhook and by
// polling, rotation by refresh and by AWS event, and a prune of 1,000.
func (b *benchRun) large() error {
	if err := b.rssVariants(); err != nil {
		return err
	}
	file := filepath.Join(b.repo.Dir, "overlays", b.instance+"-00", "secrets.yaml")
	if err := b.webhookLatency(file); err != nil {
		return err
	}
	if err := b.pollingLatency(file); err != nil {
		return err
	}
	if err := b.refreshRotation(); err != nil {
		return err
	}
	if err := b.eventRotation(); err != nil {
		return err
	}
	return b.prune1k()
}

// rssVariants: the --once pass with 30,000 unrelated Secrets in the
// cluster, and with GOMEMLIMIT set.
func (b *benchRun) rssVariants() error {
	if err := fillUnrelated(b.ctx, b.kube, 30000); err != nil {
		return err
	}
	rss2, _, _, err := procRun(secretsyncBin, b.env, append(b.args, "--once")...)
	if err != nil {
		return err
	}
	record("rss_10k_with_30k_unrelated_mib", rss2, "MiB", "the same with 30,000 unrelated Secrets in the cluster; must stay flat")
	rss3, _, _, err := procRun(secretsyncBin, append(b.env, "GOMEMLIMIT=128MiB"), append(b.args, "--once")...)
	if err != nil {
		return err
	}
	record("rss_10k_gomemlimit_128_mib", rss3, "MiB", "the same pass with GOMEMLIMIT=128MiB (a soft limit the Go GC works to)")
	return nil
}

// webhookLatency: commit to applied when a webhook triggers the pass.
func (b *benchRun) webhookLatency(file string) error {
	hookAddr, err := freeAddr()
	if err != nil {
		return err
	}
	const hookSecret = "bench-webhook-secret"
	stop, logs, err := startService(secretsyncBin, append(b.env, "SECRETSYNC_WEBHOOK_SECRET="+hookSecret),
		append(b.args, "--webhook-addr", hookAddr, "--interval", "1h", "--leader-elect=false", "--metrics-addr", ""))
	if err != nil {
		return err
	}
	lat, err := commitLatency(b.ctx, b.kube.Client, b.repo, file, b.instance+"-00", "es-00000", b.instance, hookAddr, hookSecret, 10)
	stop()
	if err != nil {
		return fmt.Errorf("%w\n%s", err, logs())
	}
	record("commit_to_applied_p50_seconds", percentile(lat, 0.5), "s", "webhook-triggered, 10 commits to a 10k repo")
	record("commit_to_applied_p99_seconds", percentile(lat, 0.99), "s", "the slowest of the 10")
	return nil
}

// pollingLatency: commit to applied when the service polls every 10 s. Then,
// while that service still runs, es-00040 is given a refresh interval of 5 s
// for refreshRotation.
func (b *benchRun) pollingLatency(file string) error {
	stop, logs, err := startService(secretsyncBin, b.env, append(b.args, "--interval", "10s", "--jitter", "0", "--leader-elect=false", "--metrics-addr", ""))
	if err != nil {
		return err
	}
	defer stop()
	lat, err := commitLatency(b.ctx, b.kube.Client, b.repo, file, b.instance+"-00", "es-00000", b.instance, "", "", 6)
	if err != nil {
		return fmt.Errorf("%w\n%s", err, logs())
	}
	record("commit_to_applied_polling_p50_seconds", percentile(lat, 0.5), "s", "polling every 10 s, 6 commits")
	record("commit_to_applied_polling_p99_seconds", percentile(lat, 0.99), "s", "the slowest of the 6")

	text, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	meta := "metadata: {name: es-00040, namespace: " + b.instance + "-00}\nspec:\n"
	withRefresh := strings.Replace(string(text), meta, meta+"  refreshInterval: 5s\n", 1)
	rel, _ := filepath.Rel(b.repo.Dir, file)
	_, err = b.repo.Commit("refresh", map[string]string{rel: withRefresh})
	return err
}

// refreshRotation: es-00040 refreshes every 5 s; the service polls each second.
func (b *benchRun) refreshRotation() error {
	stop, logs, err := startService(secretsyncBin, b.env, append(b.args, "--interval", "1s", "--jitter", "0", "--leader-elect=false", "--metrics-addr", ""))
	if err != nil {
		return err
	}
	rot, err := rotationLatency(b.ctx, b.kube.Client, b.client, b.instance+"-00", "es-00040", b.instance+"/es-00040", 5)
	stop()
	if err != nil {
		return fmt.Errorf("%w\n%s", err, logs())
	}
	record("rotation_to_updated_p50_seconds", percentile(rot, 0.5), "s", "refreshInterval 5s (+ up to 10% jitter), polling each second, 5 rotations")
	record("rotation_to_updated_p99_seconds", percentile(rot, 0.99), "s", "the slowest of the 5")
	return nil
}

// eventRotation: rotation by AWS event, with refresh and poll intervals of
// an hour, so only the event can explain the update.
func (b *benchRun) eventRotation() error {
	q, stopQueue, err := startQueue(b.ctx)
	if err != nil {
		return err
	}
	defer stopQueue()
	stop, logs, err := startService(secretsyncBin, b.env, append(b.args, "--interval", "1h", "--refresh-interval", "1h", "--jitter", "0",
		"--leader-elect=false", "--metrics-addr", "", "--events-queue-url", q.url, "--sqs-endpoint", q.endpoint, "--events-min-interval", "100ms"))
	if err != nil {
		return err
	}
	// es-00060 is in namespace -00 (ExternalSecret j is in j mod 20).
	evLat, evCalls, err := eventRotationLatency(b.ctx, b.kube.Client, b.client, b.sm, q, b.instance+"-00", "es-00060", b.instance+"/es-00060", 20)
	if err != nil {
		err = fmt.Errorf("%w\n%s", err, logs()) // before stop, which removes the log
	}
	stop()
	if err != nil {
		return err
	}
	record("rotation_to_updated_event_p50_seconds", percentile(evLat, 0.5), "s", "PutSecretValue then its event on SQS → Secret updated, 10k managed, intervals 1h, --events-min-interval 100ms; 20 rotations")
	record("rotation_to_updated_event_p99_seconds", percentile(evLat, 0.99), "s", "the slowest of the 20")
	record("rotation_event_aws_calls", evCalls, "", "Secrets Manager calls one event costs (median)")
	return nil
}

// prune1k: every tenth ExternalSecret leaves Git and one pass prunes them.
func (b *benchRun) prune1k() error {
	files := map[string]string{}
	for i := range namespaces {
		p := filepath.Join("overlays", fmt.Sprintf("%s-%02d", b.instance, i), "secrets.yaml")
		text, err := os.ReadFile(filepath.Join(b.repo.Dir, p))
		if err != nil {
			return err
		}
		docs := strings.Split(string(text), "---\n")
		var kept []string
		for k, d := range docs {
			if k > 0 && (k-1)%10 == 0 {
				continue
			}
			kept = append(kept, d)
		}
		files[p] = strings.Join(kept, "---\n")
	}
	if _, err := b.repo.Commit("prune", files); err != nil {
		return err
	}
	pr := b.rec.Pass(b.ctx, false)
	if !pr.OK() || pr.Pruned != 1000 {
		return fmt.Errorf("prune pass: pruned %d, errors %v", pr.Pruned, first(pr.Errors))
	}
	record("prune_1k_seconds", pr.Timings[reconciler.StagePrune].Seconds(), "s", "1,000 removed ExternalSecrets: label check and conditional delete each")
	return nil
}
