// Command bench measures secretsync's cost and speed on this machine: real
// kube-apiserver and etcd, the project's Secrets Manager server with 20 ms
// of injected latency, and a generated repo of ExternalSecrets across 20
// namespaces. In the same run it measures a baseline that works the way
// External Secrets Operator does by default: one GetSecretValue per
// reference on every refresh. It prints a table, then one line per figure:
// `bench: <name> <value> <unit>`, and with -figures records them in the
// figures file the docs quote (figures.go).
package main

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/rs/zerolog"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"net/http/httptest"

	"github.com/secretsync/secretsync/gitsource"
	"github.com/secretsync/secretsync/internal/gittest"
	"github.com/secretsync/secretsync/internal/smserver"
	"github.com/secretsync/secretsync/internal/testenv"
	awsprov "github.com/secretsync/secretsync/providers/aws"
	"github.com/secretsync/secretsync/reconciler"
)

const (
	namespaces = 20
	latency    = 20 * time.Millisecond
	// baselineConcurrency bounds the baseline's calls in flight. ESO's
	// default is 1; calls do not depend on it, and 16 keeps the run short.
	baselineConcurrency = 16
)

type figure struct {
	name  string
	value float64
	unit  string
	note  string
	// spread is "[min–max]" of a figure's repetitions, empty for one sample.
	spread   string
	min, max float64
}

var figures []figure

// reps is how many times each timed figure is measured; the median is
// quoted, with the min and max beside it.
const reps = 3

// targets are the goals of the issues, by figure: each is printed as met
// or MISSED beside its value.
var targets = map[string]struct {
	atLeast bool
	v       float64
}{
	"cold_apply_10k_vs_raw":                  {true, 0.8},
	"cold_apply_50k_vs_raw":                  {true, 0.8},
	"rss_10k_mib":                            {false, 120},
	"rss_50k_mib":                            {false, 200},
	"noop_pass_50k_seconds":                  {false, 2},
	"status_read_50k_seconds":                {false, 1},
	"noop_pass_1k_writes":                    {false, 0},
	"noop_pass_10k_writes":                   {false, 0},
	"noop_pass_50k_writes":                   {false, 0},
	"noop_pass_1k_aws_calls":                 {false, 0},
	"noop_pass_10k_aws_calls":                {false, 0},
	"noop_pass_50k_aws_calls":                {false, 0},
	"commit_to_applied_p50_seconds":          {false, 1},
	"rotation_to_updated_event_p50_seconds":  {false, 1},
	"rotation_event_aws_calls":               {false, 2},
	"refresh_aws_calls_ratio_10k":            {true, 15},
	"validate_1k_seconds":                    {false, 3},
	"plan_1k_seconds":                        {false, 3},
	"render_10k_seconds":                     {false, 2},
	"render_10k_one_changed_seconds":         {false, 0.2},
	"cold_apply_10k_speedup":                 {true, 10},
	"refresh_aws_calls_ratio_parameterstore": {true, 9},
	"alias_bomb_refused_ms":                  {false, 100},
	"sigterm_in_flight_exit_seconds":         {false, 3},
}

// goal is a figure's target and whether its value meets it, or "".
func goal(f figure) string {
	t, ok := targets[f.name]
	if !ok {
		return ""
	}
	if t.atLeast {
		return fmt.Sprintf(">= %s %s", format(t.v), map[bool]string{true: "met", false: "MISSED"}[f.value >= t.v])
	}
	return fmt.Sprintf("<= %s %s", format(t.v), map[bool]string{true: "met", false: "MISSED"}[f.value <= t.v])
}

// recordSpread records the median of samples, with their min and max.
func recordSpread(name string, samples []float64, unit, note string) {
	s := slices.Clone(samples)
	slices.Sort(s)
	figures = append(figures, figure{name: name, value: percentile(s, 0.5), unit: unit, note: note,
		spread: fmt.Sprintf("[%s–%s]", format(s[0]), format(s[len(s)-1])), min: s[0], max: s[len(s)-1]})
}

// cpuSeconds is the user and system time this process has used: it
// varies far less than wall time on a shared machine. It includes the
// in-process Secrets Manager server; the API server and etcd are other
// processes.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// Set in main: the binary, and rates measured once for ratios.
var (
	secretsyncBin string
	coldProfile   string // -cpuprofile: where the cold passes' CPU profile goes
	rawRate       float64
	naiveRate     float64
)

func record(name string, value float64, unit, note string) {
	figures = append(figures, figure{name: name, value: value, unit: unit, note: note})
}

func main() {
	sizes := flag.String("sizes", "1000,10000", "ExternalSecret counts to run")
	bin := flag.String("secretsync", "bin/secretsync", "the secretsync binary, for the review commands")
	profile := flag.String("cpuprofile", "", "write a CPU profile of the cold passes of the largest size to this file")
	figuresPath := flag.String("figures", "", "record the figures in this file (docs/bench-figures.json), as run -name")
	name := flag.String("name", "bench", "the run's name in the figures file: bench or bench-large")
	fromLog := flag.String("from-log", "", "measure nothing: record the figures of this saved output of make bench in -figures")
	flag.Parse()
	if *fromLog != "" {
		run, figs, err := figuresFromLog(*fromLog)
		if err == nil {
			err = writeFigures(*figuresPath, *name, run, figs)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench failed:", err)
			os.Exit(1)
		}
		return
	}
	secretsyncBin = *bin
	coldProfile = *profile
	if err := reviewBench(*bin); err != nil {
		fmt.Fprintln(os.Stderr, "bench failed:", err)
		os.Exit(1)
	}
	if err := run(*sizes); err != nil {
		fmt.Fprintln(os.Stderr, "bench failed:", err)
		os.Exit(1)
	}
	fmt.Printf("\n"+tableRow, "figure", "value", "unit", "[min–max]", "target", "note")
	for _, f := range figures {
		fmt.Printf(tableRow, f.name, format(f.value), f.unit, f.spread, goal(f), f.note)
	}
	fmt.Println()
	for _, f := range figures {
		fmt.Printf("bench: %s %s %s %s %s\n", f.name, format(f.value), f.unit, f.spread, goal(f))
	}
	if *figuresPath != "" {
		if err := writeFigures(*figuresPath, *name, thisRun(*sizes), figures); err != nil {
			fmt.Fprintln(os.Stderr, "bench failed:", err)
			os.Exit(1)
		}
	}
}

// tableRow is one row of the printed table; figuresFromLog reads the note
// from column noteColumn.
const tableRow = "%-38s %12s  %-4s %-19s %-14s %s\n"

// verbsNote lists API requests by verb and resource, most first.
func verbsNote(c *testenv.Counter) string {
	byVerb := c.ByVerb()
	keys := slices.Collect(maps.Keys(byVerb))
	slices.SortFunc(keys, func(a, b string) int { return cmp.Or(cmp.Compare(byVerb[b], byVerb[a]), cmp.Compare(a, b)) })
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%d", k, byVerb[k])
	}
	return strings.Join(parts, ", ")
}

func format(v float64) string {
	if v == float64(int64(v)) {
		return strconv.FormatInt(int64(v), 10)
	}
	return strconv.FormatFloat(v, 'f', 3, 64)
}

func run(sizes string) error {
	for _, k := range []string{"AWS_EC2_METADATA_DISABLED=true", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null",
		"AWS_ACCESS_KEY_ID=AKIDBENCH", "AWS_SECRET_ACCESS_KEY=bench", "AWS_REGION=us-east-1"} {
		kv := strings.SplitN(k, "=", 2)
		os.Setenv(kv[0], kv[1])
	}
	work, err := os.MkdirTemp("", "secretsync-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	kube, err := testenv.Start(work)
	if err != nil {
		return err
	}
	defer kube.Stop()
	ctx := context.Background()
	var raws []float64
	for i := range reps {
		r, err := rawApplyRate(ctx, kube, fmt.Sprintf("raw-32-%d", i), 3000, 32)
		if err != nil {
			return err
		}
		raws = append(raws, r)
	}
	rawRate = percentile(raws, 0.5)
	recordSpread("raw_apply_per_second", raws, "/s", fmt.Sprintf("plain server-side applies of new 1 KiB Secrets, 32 clients; median of %d", reps))
	one, err := rawApplyRate(ctx, kube, "raw-1", 500, 1)
	if err != nil {
		return err
	}
	record("raw_apply_per_second_1_client", one, "/s", "the same from one client")
	for _, s := range strings.Split(sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			return err
		}
		if err := scenario(kube, filepath.Join(work, s), n); err != nil {
			return fmt.Errorf("%d ExternalSecrets: %w", n, err)
		}
	}
	if err := parameterStoreScenario(kube, filepath.Join(work, "parameterstore"), 1000); err != nil {
		return fmt.Errorf("parameter store: %w", err)
	}
	return timingBench(kube, filepath.Join(work, "timing"))
}

func label(n int) string {
	if n%1000 == 0 {
		return fmt.Sprintf("%dk", n/1000)
	}
	return strconv.Itoa(n)
}

// scenario runs a cold pass, a refresh pass and the baseline over n
// ExternalSecrets, each with one key from its own remote secret.
func scenario(kube *testenv.Env, dir string, n int) error {
	ctx := context.Background()
	l := label(n)
	sm := smserver.New()
	srv := httptest.NewServer(sm)
	defer srv.Close()
	client := secretsmanager.New(secretsmanager.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDBENCH", "bench", "")})
	instance := "bench-" + l

	repo, err := gittest.Init(filepath.Join(dir, "repo"))
	if err != nil {
		return err
	}
	files := map[string]string{}
	for i := range namespaces {
		ns := fmt.Sprintf("%s-%02d", instance, i)
		if _, err := kube.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			return err
		}
		var b strings.Builder
		fmt.Fprintf(&b, "apiVersion: external-secrets.io/v1\nkind: SecretStore\nmetadata: {name: aws, namespace: %s}\nspec: {provider: {aws: {service: SecretsManager, region: us-east-1}}}\n", ns)
		for j := i; j < n; j += namespaces {
			fmt.Fprintf(&b, "---\napiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: {name: es-%05d, namespace: %s}\nspec:\n  secretStoreRef: {name: aws}\n  data: [{secretKey: value, remoteRef: {key: %s/es-%05d, property: password}}]\n", j, ns, instance, j)
		}
		files[fmt.Sprintf("overlays/%s/secrets.yaml", ns)] = b.String()
	}
	if _, err := repo.Commit("bench", files); err != nil {
		return err
	}
	// Seed concurrently, before latency is switched on.
	var wg sync.WaitGroup
	var seedErr atomic.Value
	sem := make(chan struct{}, 32)
	for j := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			_, err := client.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(fmt.Sprintf("%s/es-%05d", instance, j)),
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
	sm.SetLatency(latency)

	src, err := gitsource.New(gitsource.Options{URL: "file://" + repo.Dir, Ref: "main", Dir: filepath.Join(dir, "checkout")})
	if err != nil {
		return err
	}
	counter := &testenv.Counter{}
	kc, err := kube.CountingClient(counter)
	if err != nil {
		return err
	}
	pf := awsprov.NewFactory(awsprov.Options{Endpoint: srv.URL, DefaultRegion: "us-east-1"})
	newReconciler := func() (*reconciler.Reconciler, error) {
		return reconciler.New(reconciler.Config{Instance: instance, InventoryNamespace: "default", Path: "overlays", RefreshInterval: time.Hour},
			src, kc, pf, zerolog.Nop())
	}
	var rec *reconciler.Reconciler
	var cold reconciler.Result
	var colds, coldCPU []float64
	for rep := range reps {
		if rep > 0 {
			// Cold again: no Secret, no inventory, a new process's memory.
			if err := clearInstance(ctx, kube, instance); err != nil {
				return err
			}
		}
		if rec, err = newReconciler(); err != nil {
			return err
		}
		runtime.GC()
		sm.ResetCalls()
		counter.Reset()
		stopProfile, err := startColdProfile(n, rep)
		if err != nil {
			return err
		}
		c0 := cpuSeconds()
		cold = rec.Pass(ctx, true)
		coldCPU = append(coldCPU, cpuSeconds()-c0)
		stopProfile()
		if !cold.OK() || cold.Applied != n {
			return fmt.Errorf("cold pass: applied %d of %d, errors %v", cold.Applied, n, first(cold.Errors))
		}
		colds = append(colds, cold.Duration.Seconds())
	}
	coldCalls := sm.TotalCalls()
	recordSpread("cold_apply_"+l+"_seconds", colds, "s", fmt.Sprintf("%d new Secrets; median of %d; stages of the last %v", n, reps, cold.Timings))
	recordSpread("cold_apply_"+l+"_cpu_seconds", coldCPU, "s", "user+sys of this process in the cold pass (includes the in-process AWS server)")
	ourRate := float64(n) / percentile(colds, 0.5)
	record("cold_apply_"+l+"_vs_raw", ourRate/rawRate, "", "our Secrets/s (median pass) over the raw apply rate (median)")
	record("cold_fetch_"+l+"_seconds", cold.FetchTime.Seconds(), "s", "time spent fetching values, 20 ms per AWS call; overlapped with the apply")
	record("cold_aws_calls_"+l, float64(coldCalls), "", callsNote(sm))
	record("cold_api_requests_"+l, float64(counter.Reads()+counter.Writes()), "", verbsNote(counter))

	// A refresh of unchanged values: everything fetched again, nothing written.
	var refreshes, refreshCPU []float64
	var ours int
	for range reps {
		sm.ResetCalls()
		counter.Reset()
		c0 := cpuSeconds()
		refresh := rec.Pass(ctx, true)
		refreshCPU = append(refreshCPU, cpuSeconds()-c0)
		if !refresh.OK() || refresh.Unchanged != n {
			return fmt.Errorf("refresh pass: unchanged %d of %d, errors %v", refresh.Unchanged, n, first(refresh.Errors))
		}
		refreshes = append(refreshes, refresh.Duration.Seconds())
		ours = sm.TotalCalls()
	}
	recordSpread("refresh_pass_"+l+"_seconds", refreshes, "s", "every value fetched again, none changed")
	recordSpread("refresh_pass_"+l+"_cpu_seconds", refreshCPU, "s", "user+sys of this process in it")
	record("refresh_aws_calls_"+l, float64(ours), "", callsNote(sm))
	record("refresh_writes_"+l, float64(counter.Writes()), "", "API-server writes in that refresh")

	// A commit that changes nothing for Secrets: render and compare all,
	// fetch and write nothing. First without the drift watch (every live
	// Secret is read to check reuse), then with it, as `secretsync run`
	// runs: the watch vouches for the Secrets it saw no change to.
	noops := func(name string) error {
		var secs, cpu []float64
		var last reconciler.Result
		var writes, calls int
		for i := range reps {
			if _, err := repo.Commit("docs", map[string]string{"README.md": fmt.Sprintf("unrelated %s %s %d", l, name, i)}); err != nil {
				return err
			}
			sm.ResetCalls()
			counter.Reset()
			c0 := cpuSeconds()
			last = rec.Pass(ctx, false)
			cpu = append(cpu, cpuSeconds()-c0)
			if !last.OK() {
				return fmt.Errorf("no-op pass: %v", first(last.Errors))
			}
			secs = append(secs, last.Duration.Seconds())
			writes, calls = max(writes, int(counter.Writes())), max(calls, sm.TotalCalls())
		}
		recordSpread(name+"_seconds", secs, "s", fmt.Sprintf("new revision, nothing changed; stages of the last %v", last.Timings))
		recordSpread(name+"_cpu_seconds", cpu, "s", "user+sys of this process in it")
		record(name+"_writes", float64(writes), "", "API-server writes in the worst of them; requests of the last: "+verbsNote(counter))
		record(name+"_aws_calls", float64(calls), "", "no refresh due; the worst of them")
		return nil
	}
	if err := noops("noop_pass_" + l + "_unwatched"); err != nil {
		return err
	}
	watchCtx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	go rec.WatchDrift(watchCtx, func() {})
	time.Sleep(2 * time.Second) // the watches start
	if _, err := repo.Commit("docs", map[string]string{"README.md": "watch started " + l}); err != nil {
		return err
	}
	if warm := rec.Pass(ctx, false); !warm.OK() { // the first pass after the watch starts reads every Secret
		return fmt.Errorf("pass after the watch started: %v", first(warm.Errors))
	}
	if err := noops("noop_pass_" + l); err != nil {
		return err
	}

	// Nothing due: the pass stops after the fetch.
	sm.ResetCalls()
	counter.Reset()
	idle := rec.Pass(ctx, false)
	record("idle_pass_"+l+"_aws_calls", float64(sm.TotalCalls()), "", "revision unchanged, no refresh due: stage "+string(idle.Stage))

	// The baseline: one GetSecretValue per reference, every refresh.
	sm.ResetCalls()
	start := time.Now()
	if err := baseline(ctx, client, instance, n); err != nil {
		return err
	}
	base := sm.TotalCalls()
	record("baseline_refresh_aws_calls_"+l, float64(base), "", "one GetSecretValue per reference (ESO default)")
	record("baseline_resolve_"+l+"_seconds", time.Since(start).Seconds(), "s", fmt.Sprintf("at concurrency %d (ESO's default is 1)", baselineConcurrency))
	if ours > 0 {
		record("refresh_aws_calls_ratio_"+l, float64(base)/float64(ours), "x", "baseline calls / our calls")
	}
	if n <= 1000 {
		kc2, err := kube.CountingClient(&testenv.Counter{})
		if err != nil {
			return err
		}
		if naiveRate, err = naive(ctx, kc2, client, instance, n); err != nil {
			return err
		}
		record("naive_apply_per_second", naiveRate, "/s", "ESO's default way: concurrency 1, GetSecretValue, GET, then Create or Update")
	}
	if naiveRate > 0 {
		record("cold_apply_"+l+"_speedup", ourRate/naiveRate, "x", "our Secrets/s over the naive baseline's (measured at 1k; linear at concurrency 1)")
	}

	// The secretsync process itself: RSS of one --once pass over n managed
	// Secrets (everything resolved and compared, nothing written).
	env := []string{"AWS_ACCESS_KEY_ID=AKIDBENCH", "AWS_SECRET_ACCESS_KEY=bench", "AWS_EC2_METADATA_DISABLED=true", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null"}
	args := []string{"run", "--repo", "file://" + repo.Dir, "--path", "overlays", "--instance", instance, "--inventory-namespace", "default",
		"--kubeconfig", kube.Kubeconfig, "--aws-endpoint", srv.URL, "--aws-region", "us-east-1", "--workdir", filepath.Join(dir, "proc")}
	var rsss, onceCPU []float64
	for range reps {
		rss, cpu, _, err := procRun(secretsyncBin, env, append(args, "--once")...)
		if err != nil {
			return err
		}
		rsss, onceCPU = append(rsss, rss), append(onceCPU, cpu)
	}
	recordSpread("rss_"+l+"_mib", rsss, "MiB", fmt.Sprintf("peak RSS of secretsync run --once over %d managed Secrets of ~1 KiB, GOMEMLIMIT unset", n))
	recordSpread("once_pass_"+l+"_cpu_seconds", onceCPU, "s", "user+sys of that process (exact: its own rusage)")

	// `secretsync status -A` over the inventory of n rows (sharded past
	// about 20,000): the whole command, as a user runs it.
	var reads []float64
	for range reps {
		start := time.Now()
		_, _, out, err := procRun(secretsyncBin, env, "status", "-A", "-o", "json", "--instance", instance, "--inventory-namespace", "default", "--kubeconfig", kube.Kubeconfig)
		if err != nil {
			return fmt.Errorf("status: %v: %s", err, out[:min(len(out), 300)])
		}
		if rows := strings.Count(string(out), `"externalSecret":`); rows != n {
			return fmt.Errorf("status listed %d rows, want %d", rows, n)
		}
		reads = append(reads, time.Since(start).Seconds())
	}
	recordSpread("status_read_"+l+"_seconds", reads, "s", "secretsync status -A -o json: the whole command, reading the inventory's shards")
	if n == 10000 {
		if err := fillUnrelated(ctx, kube, 30000); err != nil {
			return err
		}
		rss2, _, _, err := procRun(secretsyncBin, env, append(args, "--once")...)
		if err != nil {
			return err
		}
		record("rss_10k_with_30k_unrelated_mib", rss2, "MiB", "the same with 30,000 unrelated Secrets in the cluster; must stay flat")
		rss3, _, _, err := procRun(secretsyncBin, append(env, "GOMEMLIMIT=128MiB"), append(args, "--once")...)
		if err != nil {
			return err
		}
		record("rss_10k_gomemlimit_128_mib", rss3, "MiB", "the same pass with GOMEMLIMIT=128MiB (a soft limit the Go GC works to)")

		file := filepath.Join(repo.Dir, "overlays", instance+"-00", "secrets.yaml")
		hookAddr, err := freeAddr()
		if err != nil {
			return err
		}
		const hookSecret = "bench-webhook-secret"
		stop, logs, err := startService(secretsyncBin, append(env, "SECRETSYNC_WEBHOOK_SECRET="+hookSecret),
			append(args, "--webhook-addr", hookAddr, "--interval", "1h", "--leader-elect=false", "--metrics-addr", ""))
		if err != nil {
			return err
		}
		lat, err := commitLatency(ctx, kube.Client, repo, file, instance+"-00", "es-00000", instance, hookAddr, hookSecret, 10)
		stop()
		if err != nil {
			return fmt.Errorf("%w\n%s", err, logs())
		}
		record("commit_to_applied_p50_seconds", percentile(lat, 0.5), "s", "webhook-triggered, 10 commits to a 10k repo")
		record("commit_to_applied_p99_seconds", percentile(lat, 0.99), "s", "the slowest of the 10")

		stop, logs, err = startService(secretsyncBin, env, append(args, "--interval", "10s", "--jitter", "0", "--leader-elect=false", "--metrics-addr", ""))
		if err != nil {
			return err
		}
		lat, err = commitLatency(ctx, kube.Client, repo, file, instance+"-00", "es-00000", instance, "", "", 6)
		if err != nil {
			stop()
			return fmt.Errorf("%w\n%s", err, logs())
		}
		record("commit_to_applied_polling_p50_seconds", percentile(lat, 0.5), "s", "polling every 10 s, 6 commits")
		record("commit_to_applied_polling_p99_seconds", percentile(lat, 0.99), "s", "the slowest of the 6")

		// Rotation: es-00002 refreshes every 5 s; the service polls each second.
		b, err := os.ReadFile(file)
		if err != nil {
			return err
		}
		withRefresh := strings.Replace(string(b), "metadata: {name: es-00040, namespace: "+instance+"-00}\nspec:\n", "metadata: {name: es-00040, namespace: "+instance+"-00}\nspec:\n  refreshInterval: 5s\n", 1)
		rel, _ := filepath.Rel(repo.Dir, file)
		if _, err := repo.Commit("refresh", map[string]string{rel: withRefresh}); err != nil {
			stop()
			return err
		}
		stop()
		stop, logs, err = startService(secretsyncBin, env, append(args, "--interval", "1s", "--jitter", "0", "--leader-elect=false", "--metrics-addr", ""))
		if err != nil {
			return err
		}
		rot, err := rotationLatency(ctx, kube.Client, client, instance+"-00", "es-00040", instance+"/es-00040", 5)
		stop()
		if err != nil {
			return fmt.Errorf("%w\n%s", err, logs())
		}
		record("rotation_to_updated_p50_seconds", percentile(rot, 0.5), "s", "refreshInterval 5s (+ up to 10% jitter), polling each second, 5 rotations")
		record("rotation_to_updated_p99_seconds", percentile(rot, 0.99), "s", "the slowest of the 5")

		// Rotation by AWS event: refresh and poll intervals of an hour, so
		// only the event can explain the update.
		q, stopQueue, err := startQueue(ctx)
		if err != nil {
			return err
		}
		stop, logs, err = startService(secretsyncBin, env, append(args, "--interval", "1h", "--refresh-interval", "1h", "--jitter", "0",
			"--leader-elect=false", "--metrics-addr", "", "--events-queue-url", q.url, "--sqs-endpoint", q.endpoint, "--events-min-interval", "100ms"))
		if err != nil {
			stopQueue()
			return err
		}
		// es-00060 is in namespace -00 (ExternalSecret j is in j mod 20).
		evLat, evCalls, err := eventRotationLatency(ctx, kube.Client, client, sm, q, instance+"-00", "es-00060", instance+"/es-00060", 20)
		if err != nil {
			err = fmt.Errorf("%w\n%s", err, logs()) // before stop, which removes the log
		}
		stop()
		stopQueue()
		if err != nil {
			return err
		}
		record("rotation_to_updated_event_p50_seconds", percentile(evLat, 0.5), "s", "PutSecretValue then its event on SQS → Secret updated, 10k managed, intervals 1h, --events-min-interval 100ms; 20 rotations")
		record("rotation_to_updated_event_p99_seconds", percentile(evLat, 0.99), "s", "the slowest of the 20")
		record("rotation_event_aws_calls", evCalls, "", "Secrets Manager calls one event costs (median)")

		// Prune 1,000: every tenth ExternalSecret leaves Git.
		files := map[string]string{}
		for i := range namespaces {
			p := filepath.Join("overlays", fmt.Sprintf("%s-%02d", instance, i), "secrets.yaml")
			b, err := os.ReadFile(filepath.Join(repo.Dir, p))
			if err != nil {
				return err
			}
			docs := strings.Split(string(b), "---\n")
			var kept []string
			for k, d := range docs {
				if k > 0 && (k-1)%10 == 0 {
					continue
				}
				kept = append(kept, d)
			}
			files[p] = strings.Join(kept, "---\n")
		}
		if _, err := repo.Commit("prune", files); err != nil {
			return err
		}
		pr := rec.Pass(ctx, false)
		if !pr.OK() || pr.Pruned != 1000 {
			return fmt.Errorf("prune pass: pruned %d, errors %v", pr.Pruned, first(pr.Errors))
		}
		record("prune_1k_seconds", pr.Timings[reconciler.StagePrune].Seconds(), "s", "1,000 removed ExternalSecrets: label check and conditional delete each")
	}
	return nil
}

func baseline(ctx context.Context, client *secretsmanager.Client, instance string, n int) error {
	var wg sync.WaitGroup
	var failed atomic.Value
	sem := make(chan struct{}, baselineConcurrency)
	for j := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			if _, err := client.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(fmt.Sprintf("%s/es-%05d", instance, j))}); err != nil {
				failed.Store(err)
			}
		}()
	}
	wg.Wait()
	if err, _ := failed.Load().(error); err != nil {
		return err
	}
	return nil
}

func callsNote(sm *smserver.Server) string {
	var parts []string
	for op, n := range sm.Calls() {
		parts = append(parts, fmt.Sprintf("%s=%d", op, n))
	}
	return strings.Join(parts, " ")
}

func first(errs []error) error {
	if len(errs) == 0 {
		return nil
	}
	return errs[0]
}

// clearInstance deletes an instance's Secrets and inventory, so that the
// next pass is cold again.
func clearInstance(ctx context.Context, kube *testenv.Env, instance string) error {
	sel := metav1.ListOptions{LabelSelector: reconciler.LabelInstance + "=" + instance}
	for i := range namespaces {
		ns := fmt.Sprintf("%s-%02d", instance, i)
		if err := kube.Client.CoreV1().Secrets(ns).DeleteCollection(ctx, metav1.DeleteOptions{}, sel); err != nil {
			return fmt.Errorf("clear %s: %w", ns, err)
		}
	}
	return kube.Client.CoreV1().ConfigMaps("default").DeleteCollection(ctx, metav1.DeleteOptions{}, sel)
}
