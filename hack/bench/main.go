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
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/secretsync/secretsync/internal/smserver"
	"github.com/secretsync/secretsync/internal/testenv"
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
	"push_1k_noop_writes":                    {false, 0},
	"push_1k_restart_aws_calls":              {false, 0},
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
	only := flag.String("scenarios", "all", "the scenarios to run, comma-separated: "+strings.Join(scenarioNames, ",")+"; with -figures, a subset's figures are merged into the run's record")
	flag.Parse()
	chosen, err := chooseScenarios(*only)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
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
	if chosen["review"] {
		if err := reviewBench(*bin); err != nil {
			fmt.Fprintln(os.Stderr, "bench failed:", err)
			os.Exit(1)
		}
	}
	if err := run(*sizes, chosen); err != nil {
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
		write := writeFigures
		if *only != "all" {
			write = mergeFigures
		}
		if err := write(*figuresPath, *name, thisRun(*sizes), figures); err != nil {
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

// scenarioNames are what -scenarios chooses from; make bench runs them all.
var scenarioNames = []string{"review", "externalsecrets", "parameterstore", "push", "timing"}

func chooseScenarios(list string) (map[string]bool, error) {
	chosen := map[string]bool{}
	if list == "all" {
		for _, s := range scenarioNames {
			chosen[s] = true
		}
		return chosen, nil
	}
	for _, s := range strings.Split(list, ",") {
		s = strings.TrimSpace(s)
		if !slices.Contains(scenarioNames, s) {
			return nil, fmt.Errorf("-scenarios: unknown scenario %q (known: all, %s)", s, strings.Join(scenarioNames, ", "))
		}
		chosen[s] = true
	}
	return chosen, nil
}

// pushSize is how many PushSecrets the push scenario runs (issue 26).
const pushSize = 1000

func run(sizes string, chosen map[string]bool) error {
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
	if chosen["externalsecrets"] {
		if err := externalSecretsScenarios(kube, work, sizes); err != nil {
			return err
		}
	}
	if chosen["parameterstore"] {
		if err := parameterStoreScenario(kube, filepath.Join(work, "parameterstore"), 1000); err != nil {
			return fmt.Errorf("parameter store: %w", err)
		}
	}
	if chosen["push"] {
		if err := pushScenario(kube, filepath.Join(work, "push"), pushSize); err != nil {
			return fmt.Errorf("%d PushSecrets: %w", pushSize, err)
		}
	}
	if chosen["timing"] {
		return timingBench(kube, filepath.Join(work, "timing"))
	}
	return nil
}

// externalSecretsScenarios measures the API server's raw apply rate, then
// the ExternalSecret scenario at each size.
func externalSecretsScenarios(kube *testenv.Env, work, sizes string) error {
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
