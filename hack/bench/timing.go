package main

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/secretsync/secretsync/internal/gittest"
	"github.com/secretsync/secretsync/internal/hostile"
	"github.com/secretsync/secretsync/internal/smserver"
	"github.com/secretsync/secretsync/internal/testenv"
	"github.com/secretsync/secretsync/render"
)

// timingBench measures the two timing claims of the docs' Safety table: a YAML alias bomb
// is refused in milliseconds, and SIGTERM during a pass stuck on AWS ends
// the process at --shutdown-timeout. Each is a median of reps runs.
func timingBench(kube *testenv.Env, dir string) error {
	const bombReps = 5
	bombDir := filepath.Join(dir, "bomb")
	if err := os.MkdirAll(bombDir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(bombDir, "bomb.yaml"), []byte(hostile.AliasBomb()), 0o644); err != nil {
		return err
	}
	var refused []float64
	for range bombReps {
		began := time.Now()
		set, err := render.Render(context.Background(), bombDir, ".", render.Options{})
		took := time.Since(began)
		if err != nil {
			return fmt.Errorf("alias bomb: %w", err)
		}
		if len(set.Errors) != 1 || !strings.Contains(set.Errors[0].Error(), "refused as an alias bomb") {
			return fmt.Errorf("alias bomb: the render reported %v, want its refusal", set.Errors)
		}
		refused = append(refused, float64(took.Microseconds())/1000)
	}
	recordSpread("alias_bomb_refused_ms", refused, "ms", fmt.Sprintf("render of a 9-level alias bomb (387 M nodes) to its refusal; median of %d", bombReps))

	exits, err := sigtermExits(kube, filepath.Join(dir, "sigterm"), reps)
	if err != nil {
		return fmt.Errorf("sigterm: %w", err)
	}
	recordSpread("sigterm_in_flight_exit_seconds", exits, "s", fmt.Sprintf("SIGTERM while a pass waits on AWS (1 min latency) to exit 0, --shutdown-timeout 2s; median of %d", reps))
	return nil
}

// sigtermExits starts `secretsync run` n times; each time a new commit
// makes a pass that waits on AWS, SIGTERM is sent once smserver holds its
// call, and the time to the process's exit (which must be 0) is kept.
func sigtermExits(kube *testenv.Env, dir string, n int) ([]float64, error) {
	ctx := context.Background()
	sm := smserver.New()
	srv := httptest.NewServer(sm)
	defer srv.Close()
	client := secretsmanager.New(secretsmanager.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDBENCH", "bench", "")})
	if _, err := client.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("sigterm/key"), SecretString: aws.String("sigterm-bench")}); err != nil {
		return nil, err
	}
	repo, err := gittest.Init(filepath.Join(dir, "repo"))
	if err != nil {
		return nil, err
	}
	es := func(name string) string {
		return "apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: {name: " + name + ", namespace: default}\nspec:\n  secretStoreRef: {name: aws}\n  data: [{secretKey: key, remoteRef: {key: sigterm/key}}]\n"
	}
	if _, err := repo.Commit("store", map[string]string{"store.yaml": "apiVersion: external-secrets.io/v1\nkind: SecretStore\nmetadata: {name: aws, namespace: default}\nspec: {provider: {aws: {service: SecretsManager, region: us-east-1}}}\n"}); err != nil {
		return nil, err
	}
	var out []float64
	for i := range n {
		sm.SetLatency(0)
		cmd := exec.Command(secretsyncBin, "run", "--repo", "file://"+repo.Dir, "--instance", "bench-sigterm", "--inventory-namespace", "default",
			"--kubeconfig", kube.Kubeconfig, "--aws-endpoint", srv.URL, "--aws-region", "us-east-1", "--workdir", filepath.Join(dir, "proc"),
			"--interval", "200ms", "--jitter", "0", "--shutdown-timeout", "2s", "--leader-elect=false", "--metrics-addr", "")
		cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=AKIDBENCH", "AWS_SECRET_ACCESS_KEY=bench")
		if err := cmd.Start(); err != nil {
			return nil, err
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		took, err := func() (time.Duration, error) {
			sm.SetLatency(time.Minute)
			calls := sm.TotalCalls()
			if _, err := repo.Commit(fmt.Sprintf("es %d", i), map[string]string{fmt.Sprintf("es-%d.yaml", i): es(fmt.Sprintf("sigterm-%d", i))}); err != nil {
				return 0, err
			}
			for deadline := time.Now().Add(2 * time.Minute); sm.TotalCalls() == calls; time.Sleep(20 * time.Millisecond) {
				if time.Now().After(deadline) {
					return 0, errors.New("no pass reached AWS")
				}
			}
			began := time.Now()
			if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
				return 0, err
			}
			select {
			case err := <-exited:
				if err != nil {
					return 0, fmt.Errorf("exit: %w", err)
				}
				return time.Since(began), nil
			case <-time.After(time.Minute):
				return 0, errors.New("still running a minute after SIGTERM")
			}
		}()
		if err != nil {
			_ = cmd.Process.Kill()
			<-exited
			return nil, err
		}
		out = append(out, took.Seconds())
	}
	return out, nil
}

// startColdProfile starts the CPU profile of the first cold pass over n
// ExternalSecrets when -cpuprofile is set, into that file suffixed by n;
// the returned function stops it.
func startColdProfile(n, rep int) (stop func(), err error) {
	if coldProfile == "" || rep > 0 {
		return func() {}, nil
	}
	f, err := os.Create(fmt.Sprintf("%s.%d", coldProfile, n))
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}
