// Command bench measures secretsync's cost and speed on this machine: real
// kube-apiserver and etcd, the project's Secrets Manager server with 20 ms
// of injected latency, and a generated repo of ExternalSecrets across 20
// namespaces. In the same run it measures a baseline that works the way
// External Secrets Operator does by default: one GetSecretValue per
// reference on every refresh. It prints a table, then one line per figure:
// `bench: <name> <value> <unit>`.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
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
}

var figures []figure

func record(name string, value float64, unit, note string) {
	figures = append(figures, figure{name, value, unit, note})
}

func main() {
	sizes := flag.String("sizes", "1000,10000", "ExternalSecret counts to run")
	bin := flag.String("secretsync", "bin/secretsync", "the secretsync binary, for the review commands")
	flag.Parse()
	if err := reviewBench(*bin); err != nil {
		fmt.Fprintln(os.Stderr, "bench failed:", err)
		os.Exit(1)
	}
	if err := run(*sizes); err != nil {
		fmt.Fprintln(os.Stderr, "bench failed:", err)
		os.Exit(1)
	}
	fmt.Printf("\n%-34s %12s  %-4s %s\n", "figure", "value", "unit", "note")
	for _, f := range figures {
		fmt.Printf("%-34s %12s  %-4s %s\n", f.name, format(f.value), f.unit, f.note)
	}
	fmt.Println()
	for _, f := range figures {
		fmt.Printf("bench: %s %s %s\n", f.name, format(f.value), f.unit)
	}
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
	for _, s := range strings.Split(sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			return err
		}
		if err := scenario(kube, filepath.Join(work, s), n); err != nil {
			return fmt.Errorf("%d ExternalSecrets: %w", n, err)
		}
	}
	return nil
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
	rec, err := reconciler.New(reconciler.Config{Instance: instance, InventoryNamespace: "default", Path: "overlays", RefreshInterval: time.Hour},
		src, kc, pf, zerolog.Nop())
	if err != nil {
		return err
	}

	runtime.GC()
	sm.ResetCalls()
	cold := rec.Pass(ctx, true)
	if !cold.OK() || cold.Applied != n {
		return fmt.Errorf("cold pass: applied %d of %d, errors %v", cold.Applied, n, first(cold.Errors))
	}
	coldCalls := sm.TotalCalls()
	record("cold_pass_"+l+"_seconds", cold.Duration.Seconds(), "s", fmt.Sprintf("fetch+render+resolve+apply of %d new Secrets", n))
	record("cold_resolve_"+l+"_seconds", cold.Timings[reconciler.StageResolve].Seconds(), "s", "resolve stage alone, 20 ms per AWS call")
	record("cold_aws_calls_"+l, float64(coldCalls), "", callsNote(sm))

	// A refresh of unchanged values: everything fetched again, nothing written.
	sm.ResetCalls()
	counter.Reset()
	refresh := rec.Pass(ctx, true)
	if !refresh.OK() || refresh.Unchanged != n {
		return fmt.Errorf("refresh pass: unchanged %d of %d, errors %v", refresh.Unchanged, n, first(refresh.Errors))
	}
	ours := sm.TotalCalls()
	record("refresh_pass_"+l+"_seconds", refresh.Duration.Seconds(), "s", "every value fetched again, none changed")
	record("refresh_aws_calls_"+l, float64(ours), "", callsNote(sm))
	record("refresh_writes_"+l, float64(counter.Writes()), "", "API-server writes in that refresh")

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
		record("refresh_aws_calls_ratio_"+l, float64(base)/float64(ours), "x", "baseline calls / our calls; target >= 15")
		if n == 10000 {
			record("refresh_aws_calls_ratio", float64(base)/float64(ours), "x", "at 10k")
		}
	}
	record("peak_rss_after_"+l+"_mib", peakRSSMiB(), "MiB", "bench process, which also holds the AWS test server")
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

// peakRSSMiB reads VmHWM, the process's peak resident set size.
func peakRSSMiB() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}
