package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/secretsync/secretsync/internal/gittest"
	"github.com/secretsync/secretsync/internal/smserver"
	"github.com/secretsync/secretsync/internal/testenv"
	"github.com/sivchari/kumo"
)

// rawApplyRate measures the API server alone: server-side applies of n new
// 1 KiB Secrets from `workers` concurrent clients, no secretsync logic.
func rawApplyRate(ctx context.Context, kube *testenv.Env, ns string, n, workers int) (float64, error) {
	kc, err := kube.CountingClient(&testenv.Counter{})
	if err != nil {
		return 0, err
	}
	if _, err := kc.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		return 0, err
	}
	payload := []byte(strings.Repeat("x", 1024))
	jobs := make(chan int)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	start := time.Now()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				ac := corev1ac.Secret(fmt.Sprintf("raw-%05d", i), ns).WithData(map[string][]byte{"v": payload})
				if _, err := kc.CoreV1().Secrets(ns).Apply(ctx, ac, metav1.ApplyOptions{FieldManager: "bench", Force: true}); err != nil {
					mu.Lock()
					firstErr = err
					mu.Unlock()
				}
			}
		}()
	}
	for i := range n {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	return float64(n) / time.Since(start).Seconds(), firstErr
}

// naive works the way ESO does by default: one ExternalSecret at a time,
// one GetSecretValue per reference, then a GET and a Create or Update of
// the Secret. It returns Secrets per second.
func naive(ctx context.Context, kube kubernetes.Interface, sm *secretsmanager.Client, instance string, n int) (float64, error) {
	start := time.Now()
	for j := range n {
		ns := fmt.Sprintf("naive-%s-%02d", instance, j%namespaces)
		if j < namespaces {
			if _, err := kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
				return 0, err
			}
		}
		out, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(fmt.Sprintf("%s/es-%05d", instance, j))})
		if err != nil {
			return 0, err
		}
		name := fmt.Sprintf("es-%05d", j)
		s, err := kube.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{})
		data := map[string][]byte{"value": []byte(aws.ToString(out.SecretString))}
		switch {
		case apierrors.IsNotFound(err):
			_, err = kube.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Data: data}, metav1.CreateOptions{})
		case err == nil:
			s.Data = data
			_, err = kube.CoreV1().Secrets(ns).Update(ctx, s, metav1.UpdateOptions{})
		}
		if err != nil {
			return 0, err
		}
	}
	return float64(n) / time.Since(start).Seconds(), nil
}

// procRun runs the secretsync binary and returns its peak RSS in MiB,
// read as VmHWM from /proc while it runs, and its CPU seconds (user+sys).
// (wait4's ru_maxrss would report this much larger bench process: Go
// starts children with a shared-memory fork, and Linux carries that
// address space's peak across exec. Its CPU times are the child's own.)
func procRun(bin string, env []string, args ...string) (rssMiB, cpuSeconds float64, output []byte, err error) {
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return 0, 0, nil, err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	status := fmt.Sprintf("/proc/%d/status", cmd.Process.Pid)
	var peak float64
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			if err != nil {
				return 0, 0, []byte(out.String()), fmt.Errorf("%s: %v\n%s", strings.Join(args, " "), err, tail([]byte(out.String())))
			}
			cpu := (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds()
			return peak, cpu, []byte(out.String()), nil
		case <-tick.C:
			if b, err := os.ReadFile(status); err == nil {
				for _, line := range strings.Split(string(b), "\n") {
					if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmHWM:" {
						if kb, err := strconv.ParseFloat(f[1], 64); err == nil && kb/1024 > peak {
							peak = kb / 1024
						}
					}
				}
			}
		}
	}
}

func tail(b []byte) string {
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

// fillUnrelated creates n unrelated 1 KiB Secrets across 10 namespaces.
func fillUnrelated(ctx context.Context, kube *testenv.Env, n int) error {
	kc, err := kube.CountingClient(&testenv.Counter{})
	if err != nil {
		return err
	}
	for i := range 10 {
		ns := fmt.Sprintf("unrelated-%02d", i)
		if _, err := kc.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return err
		}
	}
	payload := []byte(strings.Repeat("u", 1024))
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				ns := fmt.Sprintf("unrelated-%02d", i%10)
				_, _ = kc.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("u-%05d", i), Namespace: ns},
					Data: map[string][]byte{"v": payload}}, metav1.CreateOptions{})
			}
		}()
	}
	for i := range n {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	return nil
}

// startService runs `secretsync run` as a service and waits for its first
// pass. stop ends it.
func startService(bin string, env, args []string) (stop func(), logs func() string, err error) {
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	logf, err := os.CreateTemp("", "secretsync-bench-service-*.log")
	if err != nil {
		return nil, nil, err
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return nil, nil, err
	}
	logs = func() string { b, _ := os.ReadFile(logf.Name()); return tail(b) }
	stop = func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_, _ = cmd.Process.Wait()
		os.Remove(logf.Name())
	}
	for deadline := time.Now().Add(3 * time.Minute); ; {
		b, _ := os.ReadFile(logf.Name())
		if strings.Contains(string(b), `"message":"pass"`) {
			return stop, logs, nil
		}
		if time.Now().After(deadline) {
			stop()
			return nil, nil, fmt.Errorf("the service never finished its first pass:\n%s", tail(b))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// secretHash reads the content hash secretsync keeps on a Secret.
func secretHash(ctx context.Context, kube kubernetes.Interface, ns, name string) string {
	s, err := kube.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return ""
	}
	return s.Annotations["secretsync.io/data-hash"]
}

// waitChange polls until a Secret's content hash moves from before.
func waitChange(ctx context.Context, kube kubernetes.Interface, ns, name, before string, start time.Time, limit time.Duration) (float64, error) {
	for secretHash(ctx, kube, ns, name) == before {
		if time.Since(start) > limit {
			return 0, fmt.Errorf("secret %s/%s did not change within %s", ns, name, limit)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return time.Since(start).Seconds(), nil
}

// commitLatency commits `samples` changes to one ExternalSecret (its remote
// key alternates between two seeded secrets) and measures commit → applied.
// With a webhook address, each commit is followed by a signed generic push;
// without, the service finds it by polling.
func commitLatency(ctx context.Context, kube kubernetes.Interface, repo *gittest.Repo, file, ns, name, instance, hookAddr, hookSecret string, samples int) ([]float64, error) {
	body, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	original := string(body)
	rel, _ := filepath.Rel(repo.Dir, file)
	var out []float64
	for i := range samples {
		before := secretHash(ctx, kube, ns, name)
		changed := original
		if i%2 == 0 {
			changed = strings.Replace(original, "key: "+instance+"/"+name+",", "key: "+instance+"/es-00001,", 1)
		}
		start := time.Now()
		if _, err := repo.Commit("change", map[string]string{rel: changed}); err != nil {
			return nil, err
		}
		if hookAddr != "" {
			ts := strconv.FormatInt(time.Now().Unix(), 10)
			payload := fmt.Sprintf(`{"n":%d}`, i)
			mac := hmac.New(sha256.New, []byte(hookSecret))
			mac.Write([]byte(ts + "." + payload))
			req, _ := http.NewRequest(http.MethodPost, "http://"+hookAddr+"/hook/generic", strings.NewReader(payload))
			req.Header.Set("X-Secretsync-Timestamp", ts)
			req.Header.Set("X-Secretsync-Signature", "sha256="+hex.EncodeToString(mac.Sum(nil)))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return nil, err
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusAccepted {
				return nil, fmt.Errorf("webhook answered %d", resp.StatusCode)
			}
		}
		d, err := waitChange(ctx, kube, ns, name, before, start, time.Minute)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

// rotationLatency rotates a remote secret read by an ExternalSecret with
// refreshInterval 5s and measures rotation → Secret updated.
func rotationLatency(ctx context.Context, kube kubernetes.Interface, sm *secretsmanager.Client, ns, name, remote string, samples int) ([]float64, error) {
	var out []float64
	for i := range samples {
		before := secretHash(ctx, kube, ns, name)
		start := time.Now()
		if _, err := sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(remote),
			SecretString: aws.String(fmt.Sprintf(`{"password":"rotated-%d-%d"}`, i, start.UnixNano()))}); err != nil {
			return nil, err
		}
		d, err := waitChange(ctx, kube, ns, name, before, start, time.Minute)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func percentile(xs []float64, p float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	i := int(p * float64(len(s)-1))
	return s[i]
}

// queue is an SQS queue in kumo, for the event scenario.
type queue struct {
	client        *sqs.Client
	url, endpoint string
}

func startQueue(ctx context.Context) (*queue, func(), error) {
	k := kumo.NewServer()
	c := sqs.New(sqs.Options{Region: "us-east-1", BaseEndpoint: aws.String(k.URL), Credentials: credentials.NewStaticCredentialsProvider("AKIDBENCH", "bench", "")})
	out, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("bench-events")})
	if err != nil {
		k.Close()
		return nil, nil, err
	}
	return &queue{client: c, url: aws.ToString(out.QueueUrl), endpoint: k.URL}, k.Close, nil
}

// eventRotationLatency rotates a remote secret and sends its CloudTrail
// event to the queue, and measures rotation → Secret updated; it also
// counts the Secrets Manager calls each event cost.
func eventRotationLatency(ctx context.Context, kube kubernetes.Interface, client *secretsmanager.Client, sm *smserver.Server, q *queue, ns, name, remote string, samples int) ([]float64, float64, error) {
	var out, calls []float64
	// The first rotation waits for the service's start-up pass (every value
	// fetched once): it is not counted.
	for i := -1; i < samples; i++ {
		before := secretHash(ctx, kube, ns, name)
		start := time.Now()
		if _, err := client.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(remote),
			SecretString: aws.String(fmt.Sprintf(`{"password":"event-rotated-%d-%d"}`, i, start.UnixNano()))}); err != nil {
			return nil, 0, err
		}
		sm.ResetCalls()
		body := fmt.Sprintf(`{"account":"000000000000","source":"aws.secretsmanager","detail-type":"AWS API Call via CloudTrail","time":%q,"detail":{"eventSource":"secretsmanager.amazonaws.com","eventName":"PutSecretValue","requestParameters":{"secretId":%q}}}`,
			start.UTC().Format(time.RFC3339), remote)
		if _, err := q.client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(q.url), MessageBody: aws.String(body)}); err != nil {
			return nil, 0, err
		}
		d, err := waitChange(ctx, kube, ns, name, before, start, time.Minute)
		if err != nil {
			return nil, 0, err
		}
		if i >= 0 {
			out = append(out, d)
			calls = append(calls, float64(sm.TotalCalls()))
		}
	}
	return out, percentile(calls, 0.5), nil
}
