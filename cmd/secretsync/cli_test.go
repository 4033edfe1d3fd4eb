package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/sivchari/kumo"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/secretsync/secretsync/internal/awstest"
	"github.com/secretsync/secretsync/internal/gittest"
	"github.com/secretsync/secretsync/internal/leaktest"
	"github.com/secretsync/secretsync/internal/testenv"
	"github.com/secretsync/secretsync/inventory"
	"github.com/secretsync/secretsync/reconciler"
)

// The tests in this file run the built binary, as a user or a CI job does.

var built struct {
	once sync.Once
	path string
	err  error
	out  []byte
}

// binary builds secretsync once for the package's tests, with a version
// stamped as the Makefile does.
func binary(t *testing.T) string {
	t.Helper()
	built.once.Do(func() {
		dir, err := os.MkdirTemp("", "secretsync-cli-")
		if err != nil {
			built.err = err
			return
		}
		built.path = filepath.Join(dir, "secretsync")
		built.out, built.err = exec.Command("go", "build", "-ldflags", "-X main.version=v9.8.7-test", "-o", built.path, ".").CombinedOutput()
	})
	if built.err != nil {
		t.Fatalf("build: %v\n%s", built.err, built.out)
	}
	return built.path
}

func TestMain(m *testing.M) {
	code := m.Run()
	if built.path != "" {
		os.RemoveAll(filepath.Dir(built.path))
	}
	os.Exit(code)
}

// lockedBuffer is a process's log, written by exec's copying goroutine
// while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

// startRun runs `secretsync run args...` (no leader election, no metrics
// server) against the cluster of kubeconfig until the test ends. Its log
// is returned, and printed with the seeded values masked if the test fails.
func startRun(t *testing.T, kubeconfig string, seeded []string, args ...string) *lockedBuffer {
	t.Helper()
	proc := exec.Command(binary(t), append(append([]string{"run"}, args...), "--metrics-addr", "", "--leader-elect=false")...)
	proc.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig)
	logs := &lockedBuffer{}
	proc.Stdout, proc.Stderr = logs, logs
	if err := proc.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = proc.Process.Kill()
		_, _ = proc.Process.Wait()
		if t.Failed() {
			out := logs.String()
			for _, v := range seeded {
				out = redact(out, v)
			}
			t.Logf("run's log:\n%s", out)
		}
	})
	return logs
}

type result struct {
	code           int
	stdout, stderr string
}

// sh runs the binary with args and env (added to this process's).
func sh(t *testing.T, env []string, args ...string) result {
	t.Helper()
	cmd := exec.Command(binary(t), args...)
	cmd.Env = append(os.Environ(), env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errOut.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestTheCommandLineBehavesAsKubectlAndFlux(t *testing.T) {
	awstest.Isolate(t)
	for _, c := range []struct {
		name string
		args []string
		code int
		// each of want must be in stdout+stderr, with "out:" or "err:"
		// to say which
		want []string
	}{
		{"flags after the path are honoured", []string{"validate", "../../examples/basic", "--namespaces", "other"}, 1,
			[]string{"out:namespace demo is not one secretsync may write to", "err:2 findings"}},
		{"flags before the path are the same", []string{"validate", "--namespaces", "other", "../../examples/basic"}, 1,
			[]string{"err:2 findings"}},
		{"a second argument is an error", []string{"validate", "../../examples/basic", "extra"}, 2,
			[]string{"err:accepts at most 1 arg(s), received 2", "err:Run 'secretsync validate --help' for usage."}},
		{"an unknown output format is an error", []string{"validate", "-o", "xml", "../../examples/basic"}, 2,
			[]string{`err:"xml" is not one of table, json, yaml, markdown, github`}},
		{"an unknown flag is an error", []string{"status", "--nope"}, 2, []string{"err:unknown flag: --nope"}},
		{"a mistyped command suggests the nearest", []string{"valdate"}, 2, []string{"err:Did you mean this?", "err:validate"}},
		{"help CMD shows the command's help", []string{"help", "validate"}, 0,
			[]string{"out:validate [PATH] [flags]", "out:Examples:", "out:Exit codes: 0 clean, 1 findings"}},
		{"every group is listed in the top help", []string{"--help"}, 0,
			[]string{"out:Review a change", "out:reconcile", "out:suspend", "out:completion"}},
		{"--version", []string{"--version"}, 0, []string{"out:v9.8.7-test"}},
		{"version -o json", []string{"version", "-o", "json"}, 0, []string{`out:"version": "v9.8.7-test"`, `out:"goVersion": "go`, `out:"platform": "`}},
		{"completion for bash", []string{"completion", "bash"}, 0, []string{"out:bash completion V2 for secretsync"}},
		{"completion for zsh", []string{"completion", "zsh"}, 0, []string{"out:#compdef secretsync"}},
		{"completion for fish", []string{"completion", "fish"}, 0, []string{"out:complete -c secretsync"}},
		{"completion for powershell", []string{"completion", "powershell"}, 0, []string{"out:Register-ArgumentCompleter"}},
		{"plan's usage error names one problem", []string{"plan", "../../examples/basic"}, 2, []string{`err:required flag(s) "base" not set`}},
		{"plan takes flags after the path", []string{"plan", "../../examples/basic", "--base", "HEAD", "-o", "json"}, 0, []string{`out:"summary": {`}},
		{"plan's old --format still works, with a warning", []string{"plan", "--base", "HEAD", "--format", "json", "../../examples/basic"}, 0,
			[]string{`out:"summary": {`, "err:--format has been deprecated"}},
		{"a value as an argument to encrypt is refused without echoing it", []string{"encrypt", "hunter2-seeded"}, 2,
			[]string{"err:the value is read from stdin"}},
		{"a ClusterExternalSecret is shown in the namespaces it names, with a note on its selectors", []string{"validate", "../../examples/policies"}, 0,
			[]string{"err:ClusterExternalSecret platform-pull (examples/policies/cluster-wide.yaml) also chooses namespaces by label", "err:9 ExternalSecrets"}},
		{"render -o json is one List", []string{"render", "../../examples/basic", "-o", "json"}, 0, []string{`out:"kind": "List"`}},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := sh(t, []string{"NO_COLOR=1"}, c.args...)
			if r.code != c.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, c.code, r.stdout, r.stderr)
			}
			for _, w := range c.want {
				stream, text, _ := strings.Cut(w, ":")
				got := r.stdout
				if stream == "err" {
					got = r.stderr
				}
				if !strings.Contains(got, text) {
					t.Fatalf("std%s lacks %q\nstdout:\n%s\nstderr:\n%s", stream, text, r.stdout, r.stderr)
				}
			}
			if strings.Contains(r.stdout+r.stderr, "hunter2-seeded") {
				t.Fatal("a value given as an argument was echoed")
			}
		})
	}
}

func TestValidateWritesGitHubAnnotations(t *testing.T) {
	dir := t.TempDir()
	repo, err := gittest.Init(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := repo.Commit("base", map[string]string{"secrets/store.yaml": "apiVersion: external-secrets.io/v1\nkind: SecretStore\nmetadata: {name: aws, namespace: team}\nspec: {provider: {aws: {service: SecretsManager, region: us-east-1}}}\n"}); err != nil {
		t.Fatal(err)
	}
	es := "apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: {name: x, namespace: team}\nspec:\n  secretStoreRef: {name: aws}\n  data:\n  - {secretKey: k, remoteRef: {key: a, verison: v}}\n"
	if err := os.WriteFile(filepath.Join(dir, "secrets", "es.yaml"), []byte(es), 0o644); err != nil {
		t.Fatal(err)
	}
	r := sh(t, nil, "validate", filepath.Join(dir, "secrets"), "--base", "main", "-o", "github")
	if r.code != 1 {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	// One workflow command, at the file (relative to the repo, as GitHub
	// wants it) and the line of the typo.
	want := "::error file=secrets/es.yaml,line=7,title=secretsync%3A ExternalSecret team/x::"
	if !strings.HasPrefix(r.stdout, want) || strings.Count(r.stdout, "\n") != 1 {
		t.Fatalf("stdout:\n%s\nwant a line starting %s", r.stdout, want)
	}
}

// TestOperatorControlsOnARunningInstance runs `secretsync run` as a process
// on the real control plane and drives it with the other commands:
// status (-n, -A, a name, --wait), reconcile (--refresh), suspend, resume.
func TestOperatorControlsOnARunningInstance(t *testing.T) {
	awstest.Isolate(t)
	dir := t.TempDir()
	kube, err := testenv.Start(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = kube.Stop() }) // after startRun's cleanup stops the process
	sm := awstest.StartSM(t)
	const first, rotated = "controls-seeded-one", "controls-seeded-two"
	sm.Create(t, "app/key", first)
	repo, err := gittest.Init(filepath.Join(dir, "repo"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, ns := range []string{"team-a", "team-b"} {
		if _, err := kube.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	es := func(ns, name, key string) string {
		return "apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: {name: " + name + ", namespace: " + ns + "}\nspec:\n  refreshInterval: 1h\n  secretStoreRef: {name: aws, kind: ClusterSecretStore}\n  data: [{secretKey: key, remoteRef: {key: " + key + "}}]\n"
	}
	store := "apiVersion: external-secrets.io/v1\nkind: ClusterSecretStore\nmetadata: {name: aws}\nspec: {provider: {aws: {service: SecretsManager, region: us-east-1}}}\n"
	const pushed = "controls-pushed-value"
	if _, err := kube.Client.CoreV1().Secrets("team-a").Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "src", Namespace: "team-a"}, Data: map[string][]byte{"k": []byte(pushed)}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	push := "apiVersion: external-secrets.io/v1alpha1\nkind: PushSecret\nmetadata: {name: pub, namespace: team-a}\nspec:\n  deletionPolicy: Delete\n  secretStoreRefs: [{name: aws, kind: ClusterSecretStore}]\n  selector: {secret: {name: src}}\n  data: [{match: {secretKey: k, remoteRef: {remoteKey: pushed/key}}}]\n"
	commit, err := repo.Commit("one", map[string]string{"store.yaml": store, "a.yaml": es("team-a", "app", "app/key"), "b.yaml": es("team-b", "broken", "app/missing"), "p.yaml": push})
	if err != nil {
		t.Fatal(err)
	}
	kc := "KUBECONFIG=" + kube.Kubeconfig
	common := []string{"--inventory-namespace", "default"}
	// A poll interval of an hour: only the controls start passes after the first.
	logs := startRun(t, kube.Kubeconfig, []string{first, rotated, pushed}, "--repo", "file://"+repo.Dir, "--interval", "1h", "--jitter", "0",
		"--inventory-namespace", "default", "--aws-endpoint", sm.URL, "--workdir", filepath.Join(dir, "work"))

	t.Run("status --wait waits for the revision and fails on a failing ExternalSecret", func(t *testing.T) {
		r := sh(t, []string{kc}, append([]string{"status", "-A", "--wait", "--revision", commit[:10], "--timeout", "60s"}, common...)...)
		if r.code != 1 || !strings.Contains(r.stdout, "team-a") || !strings.Contains(r.stdout, "team-b") || !strings.Contains(r.stdout, "NAMESPACE") ||
			!regexp.MustCompile(`team-a +pub +ClusterSecretStore/aws +pushed/key +true +created `).MatchString(r.stdout) {
			t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
		r = sh(t, []string{kc}, append([]string{"status", "-n", "team-a", "--wait", "--revision", commit[:10], "--timeout", "60s"}, common...)...)
		if r.code != 0 || strings.Contains(r.stdout, "broken") || strings.Contains(r.stdout, "NAMESPACE") {
			t.Fatalf("-n team-a: exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
		r = sh(t, []string{kc}, append([]string{"status", "broken", "-n", "team-b", "-o", "json"}, common...)...)
		var got statusJSON
		if err := json.Unmarshal([]byte(r.stdout), &got); err != nil || len(got.ExternalSecrets) != 1 || got.ExternalSecrets[0].Ready {
			t.Fatalf("status broken -n team-b: %v\n%s%s", err, r.stdout, r.stderr)
		}
		// A PushSecret by name, and every row streamed (-A -o json): its
		// source and remote key, never the value it pushed.
		for _, args := range [][]string{{"status", "pub", "-n", "team-a", "-o", "json"}, {"status", "-A", "-o", "json"}} {
			r = sh(t, []string{kc}, append(args, common...)...)
			var st statusJSON
			if err := json.Unmarshal([]byte(r.stdout), &st); err != nil || len(st.PushSecrets) != 1 || st.PushSecrets[0].RemoteKey != "pushed/key" ||
				st.PushSecrets[0].Secret != "team-a/src" || !st.PushSecrets[0].Ready || st.PushSecrets[0].LastPush == nil || strings.Contains(r.stdout, pushed) {
				t.Fatalf("%s: %v\n%s%s", strings.Join(args, " "), err, r.stdout, r.stderr)
			}
		}
		r = sh(t, []string{kc}, append([]string{"status", "-o", "wide"}, common...)...)
		if r.code != 0 || !strings.Contains(r.stderr, "No ExternalSecrets in namespace default") {
			t.Fatalf("the context's namespace by default: exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
		r = sh(t, []string{kc}, append([]string{"status", "-A", "--wait", "--revision", "0000000", "--timeout", "2s"}, common...)...)
		if r.code != 1 || !strings.Contains(r.stderr, "timed out after 2s waiting for revision 0000000") {
			t.Fatalf("a revision never handled: exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
	})

	value := func() string {
		s, err := kube.Client.CoreV1().Secrets("team-a").Get(ctx, "app", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return string(s.Data["key"])
	}
	sm.Put(t, "app/key", rotated)

	t.Run("reconcile without --refresh runs a pass that fetches nothing not due", func(t *testing.T) {
		r := sh(t, []string{kc}, append([]string{"reconcile", "--timeout", "60s"}, common...)...)
		// team-b/broken still fails, so the pass is not ok.
		if r.code != 1 || !strings.HasPrefix(r.stdout, "failed reason=ResolveFailed revision=main@sha1:"+commit) {
			t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
		if value() != first {
			t.Fatal("a pass without --refresh fetched a value whose refresh was not due")
		}
	})

	t.Run("reconcile --refresh fetches every value again", func(t *testing.T) {
		r := sh(t, []string{kc}, append([]string{"reconcile", "--refresh", "--timeout", "60s"}, common...)...)
		if r.code != 1 || !strings.Contains(r.stdout, "applied=1") {
			t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
		if value() != rotated {
			t.Fatal("reconcile --refresh did not apply the rotated value")
		}
		if strings.Contains(r.stdout+r.stderr, rotated) || strings.Contains(r.stdout+r.stderr, first) {
			t.Fatal("a value was printed")
		}
	})

	t.Run("suspend stops applying, status says so, resume applies at once", func(t *testing.T) {
		if r := sh(t, []string{kc}, append([]string{"suspend"}, common...)...); r.code != 0 {
			t.Fatalf("suspend: exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
		if err := kube.Client.CoreV1().Secrets("team-a").Delete(ctx, "app", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		// The PushSecret (deletionPolicy Delete) moves to another remote
		// key: a suspended instance deletes nothing in AWS.
		if _, err := repo.Commit("pub moves", map[string]string{"p.yaml": strings.Replace(push, "pushed/key", "pushed/moved", 1)}); err != nil {
			t.Fatal(err)
		}
		remoteDeleted := func() bool {
			d, err := sm.Client().DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String("pushed/key")})
			if err != nil {
				t.Fatal(err)
			}
			return d.DeletedDate != nil
		}
		r := sh(t, []string{kc}, append([]string{"reconcile", "--timeout", "60s"}, common...)...)
		if r.code != 0 || !strings.Contains(r.stderr, "is suspended") {
			t.Fatalf("reconcile while suspended: exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
		if remoteDeleted() {
			t.Fatal("a suspended instance deleted a pushed remote secret")
		}
		if _, err := kube.Client.CoreV1().Secrets("team-a").Get(ctx, "app", metav1.GetOptions{}); err == nil {
			t.Fatal("a suspended instance applied a Secret")
		}
		// run --once (a CronJob, say) of the suspended instance runs no pass.
		r = sh(t, []string{kc}, "run", "--once", "--repo", "file://"+repo.Dir, "--inventory-namespace", "default",
			"--aws-endpoint", sm.URL, "--workdir", filepath.Join(dir, "work-once"), "--metrics-addr", "")
		if r.code != 0 || !strings.Contains(r.stderr, "is suspended") {
			t.Fatalf("run --once while suspended: exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
		if _, err := kube.Client.CoreV1().Secrets("team-a").Get(ctx, "app", metav1.GetOptions{}); err == nil || remoteDeleted() {
			t.Fatalf("run --once of a suspended instance applied a Secret (%v) or deleted a pushed remote secret (%v)", err == nil, remoteDeleted())
		}
		r = sh(t, []string{kc}, append([]string{"status", "-A", "-o", "json"}, common...)...)
		if !strings.Contains(r.stdout, `"suspended": true`) || !strings.Contains(r.stderr, "is suspended") {
			t.Fatalf("status of a suspended instance:\n%s%s", r.stdout, r.stderr)
		}
		if r := sh(t, []string{kc}, append([]string{"resume"}, common...)...); r.code != 0 {
			t.Fatalf("resume: exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
		deadline := time.Now().Add(30 * time.Second)
		for {
			if _, err := kube.Client.CoreV1().Secrets("team-a").Get(ctx, "app", metav1.GetOptions{}); err == nil && remoteDeleted() {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("resume did not apply the Secret and delete the remote secret the PushSecret left within 30 s (the poll interval is 1 h)")
			}
			time.Sleep(200 * time.Millisecond)
		}
		cm, err := kube.Client.CoreV1().ConfigMaps("default").Get(ctx, inventory.Name("secretsync"), metav1.GetOptions{})
		if err != nil || cm.Annotations[reconciler.AnnotationSuspended] != "" {
			t.Fatalf("the suspend annotation is still there: %v %v", err, cm.Annotations)
		}
	})

	t.Run("status --wait sees a commit that changes no Secret", func(t *testing.T) {
		noop, err := repo.Commit("docs", map[string]string{"README.md": "no Secret changes"})
		if err != nil {
			t.Fatal(err)
		}
		if r := sh(t, []string{kc}, append([]string{"reconcile", "--timeout", "60s"}, common...)...); !strings.Contains(r.stdout, noop) {
			t.Fatalf("reconcile: exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
		r := sh(t, []string{kc}, append([]string{"status", "-n", "team-a", "--wait", "--revision", noop[:12], "--timeout", "20s"}, common...)...)
		if r.code != 0 {
			t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
	})

	t.Run("plan --cluster-namespaces expands a ClusterExternalSecret against the cluster", func(t *testing.T) {
		n, err := kube.Client.CoreV1().Namespaces().Get(ctx, "team-a", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		n.Labels["tier"] = "frontend"
		if _, err := kube.Client.CoreV1().Namespaces().Update(ctx, n, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		dir := filepath.Join(t.TempDir(), "plan")
		pr, err := gittest.Init(dir)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := pr.Commit("store", map[string]string{"store.yaml": store}); err != nil {
			t.Fatal(err)
		}
		ces := "apiVersion: external-secrets.io/v1\nkind: ClusterExternalSecret\nmetadata: {name: pull}\nspec:\n  namespaces: [shop]\n  namespaceSelectors: [{matchLabels: {tier: frontend}}]\n" +
			"  externalSecretSpec: {secretStoreRef: {name: aws, kind: ClusterSecretStore}, data: [{secretKey: k, remoteRef: {key: k}}]}\n"
		if err := os.WriteFile(filepath.Join(dir, "ces.yaml"), []byte(ces), 0o644); err != nil {
			t.Fatal(err)
		}
		r := sh(t, []string{kc}, "plan", dir, "--base", "main", "--cluster-namespaces", "-o", "json")
		if r.code != 0 || !strings.Contains(r.stdout, `"namespace": "team-a",`) || strings.Contains(r.stdout, `"namespace": "team-b",`) ||
			strings.Contains(r.stdout, `"namespace": "shop",`) || strings.Contains(r.stderr, "note: ClusterExternalSecret") {
			t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
		r = sh(t, nil, "plan", dir, "--base", "main", "-o", "json")
		if r.code != 0 || strings.Contains(r.stdout, `"namespace": "team-a",`) || !strings.Contains(r.stdout, `"namespace": "shop",`) || !strings.Contains(r.stderr, "note: ClusterExternalSecret") {
			t.Fatalf("offline: exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
	})

	t.Run("reconcile with no instance running says so", func(t *testing.T) {
		r := sh(t, []string{kc}, "reconcile", "--inventory-namespace", "default", "--instance", "nobody", "--timeout", "5s")
		if r.code != 2 || !strings.Contains(r.stderr, `instance "nobody" has not completed a pass`) {
			t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
	})
	var seeded leaktest.Canaries
	seeded.Add(first, rotated)
	checkOutlets(t, &seeded, kube, "default", map[string]string{"run's log": logs.String()})
}

// TestAWSEventsRefreshOnlyWhatTheyName runs `secretsync run` with
// --events-queue-url against kumo's SQS (long polling, visibility
// timeouts, receive counts), smserver and the real control plane, with
// hour-long poll and refresh intervals and an hour-long
// --events-min-interval, so that only events (and `reconcile`) can explain
// a pass. The SQS endpoint secretsync talks to is a proxy that reads the
// Secret at every DeleteMessage, so the test sees what a deletion followed.
func TestAWSEventsRefreshOnlyWhatTheyName(t *testing.T) {
	awstest.Isolate(t)
	dir := t.TempDir()
	kube, err := testenv.Start(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = kube.Stop() }) // after startRun's cleanup stops the process
	sm := awstest.StartSM(t)
	const first, rotated = "event-seeded-one", "event-seeded-two"
	// bodyMark is in every message body, and must never reach the log.
	const bodyMark = "body-mark-5d1e7c"
	const account, foreign = "111122223333", "999988887777"
	sm.Create(t, "app/key", first)
	sm.Create(t, "other/key", "event-seeded-other")
	k := kumo.NewServer()
	defer k.Close()
	ctx := context.Background()
	secret := func() (string, string) {
		s, err := kube.Client.CoreV1().Secrets("default").Get(ctx, "app", metav1.GetOptions{})
		if err != nil {
			return "", ""
		}
		return string(s.Data["key"]), s.ResourceVersion
	}
	// deleted is the Secret's value and resourceVersion at each DeleteMessage.
	var deletedMu sync.Mutex
	var deleted [][2]string
	kumoURL, err := url.Parse(k.URL)
	if err != nil {
		t.Fatal(err)
	}
	forward := httputil.NewSingleHostReverseProxy(kumoURL)
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Amz-Target") == "AmazonSQS.DeleteMessage" {
			v, rv := secret()
			deletedMu.Lock()
			deleted = append(deleted, [2]string{v, rv})
			deletedMu.Unlock()
		}
		forward.ServeHTTP(w, r)
	}))
	defer proxy.Close()
	deletes := func() [][2]string { deletedMu.Lock(); defer deletedMu.Unlock(); return slices.Clone(deleted) }

	q := sqs.New(sqs.Options{Region: awstest.Region, BaseEndpoint: aws.String(k.URL), Credentials: credentials.NewStaticCredentialsProvider("AKIDSEED", "seed", "")})
	created, err := q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("secretsync-events")})
	if err != nil {
		t.Fatal(err)
	}
	queue := aws.ToString(created.QueueUrl)
	send := func(body string) {
		t.Helper()
		if _, err := q.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(queue), MessageBody: aws.String(body)}); err != nil {
			t.Fatal(err)
		}
	}
	// event is a PutSecretValue of secretID recorded in acct's trail; a
	// non-empty errorCode makes it a failed call.
	event := func(acct, secretID, errorCode string) string {
		return fmt.Sprintf(`{"account":%q,"source":"aws.secretsmanager","detail-type":"AWS API Call via CloudTrail","time":%q,"detail":{"eventSource":"secretsmanager.amazonaws.com","eventName":"PutSecretValue","errorCode":%q,"requestParameters":{"secretId":%q,"clientRequestToken":%q}}}`,
			acct, time.Now().UTC().Format(time.RFC3339), errorCode, secretID, bodyMark)
	}
	repo, err := gittest.Init(filepath.Join(dir, "repo"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := repo.Commit("one", map[string]string{"es.yaml": `apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {name: aws, namespace: default}
spec: {provider: {aws: {service: SecretsManager, region: us-east-1}}}
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: app, namespace: default}
spec:
  secretStoreRef: {name: aws}
  data: [{secretKey: key, remoteRef: {key: app/key}}]
`}); err != nil {
		t.Fatal(err)
	}
	logs := startRun(t, kube.Kubeconfig, []string{first, rotated}, "--repo", "file://"+repo.Dir, "--interval", "1h", "--refresh-interval", "1h", "--jitter", "0",
		"--inventory-namespace", "default", "--aws-endpoint", sm.URL, "--workdir", filepath.Join(dir, "work"), "--log-level", "debug",
		"--events-queue-url", queue, "--sqs-endpoint", proxy.URL, "--events-accounts", account, "--events-min-interval", "1h")
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(30 * time.Second); !ok(); time.Sleep(100 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
		}
	}
	// passes counts the summary lines: one per pass.
	passes := func() int { return strings.Count(logs.String(), `"message":"pass"}`) }
	waitFor("the first pass", func() bool { v, _ := secret(); return v == first && passes() == 1 })
	queueEmpty := func() bool {
		out, err := q.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(queue),
			AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameApproximateNumberOfMessages, sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible}})
		return err == nil && out.Attributes["ApproximateNumberOfMessages"] == "0" && out.Attributes["ApproximateNumberOfMessagesNotVisible"] == "0"
	}

	t.Run("an event for a secret no ExternalSecret reads costs no AWS call and is deleted", func(t *testing.T) {
		calls, before := sm.SM.TotalCalls(), passes()
		send(event(account, "other/key", ""))
		send("not an event " + bodyMark)
		waitFor("the queue to empty", queueEmpty)
		if n := sm.SM.TotalCalls(); n != calls {
			t.Fatalf("%d AWS calls for events that name nothing secretsync reads", n-calls)
		}
		if n := passes() - before; n != 0 {
			t.Fatalf("%d passes for events that name nothing secretsync reads", n)
		}
	})

	t.Run("failed calls and other accounts' events are deleted, with no pass and no AWS call", func(t *testing.T) {
		calls, before := sm.SM.TotalCalls(), passes()
		send(event(account, "app/key", "AccessDenied"))
		send(event(foreign, "app/key", ""))
		send(event(account, "arn:aws:secretsmanager:us-east-1:"+foreign+":secret:app/key-AbCdEf", ""))
		waitFor("the queue to empty", queueEmpty)
		if n := sm.SM.TotalCalls(); n != calls {
			t.Fatalf("%d AWS calls for dropped events", n-calls)
		}
		if n := passes() - before; n != 0 {
			t.Fatalf("%d passes for dropped events", n)
		}
		if v, _ := secret(); v != first {
			t.Fatal("a dropped event changed the Secret")
		}
		l := logs.String()
		if strings.Count(l, "event ignored: the call failed") != 1 || strings.Count(l, "event dropped: not an account this instance reads") != 2 || !strings.Contains(l, "account "+foreign) {
			t.Fatal("the dropped events are not each logged with their reason")
		}
	})

	t.Run("a rotation and its event reach the Secret at once, and the message is deleted after", func(t *testing.T) {
		sm.Put(t, "app/key", rotated)
		had := len(deletes())
		began := time.Now()
		send(event(account, "arn:aws:secretsmanager:us-east-1:"+account+":secret:app/key-AbCdEf", ""))
		waitFor("the rotated value", func() bool { v, _ := secret(); return v == rotated })
		t.Logf("event to Secret: %s", time.Since(began).Round(10*time.Millisecond))
		waitFor("the message to be deleted", queueEmpty)
		got := deletes()[had:]
		_, rv := secret()
		if len(got) != 1 || got[0] != [2]string{rotated, rv} {
			t.Fatalf("%d deletions for the rotation's message; want one made once the Secret held the rotated value at resourceVersion %s, got resourceVersions %v",
				len(got), rv, resourceVersions(got))
		}
	})

	t.Run("a burst of events waits for --events-min-interval and makes one pass that writes nothing", func(t *testing.T) {
		calls, before := sm.SM.TotalCalls(), passes()
		_, rv := secret()
		const burst = 10
		for i := 1; i <= burst; i++ {
			send(event(account, "app/key", ""))
			// Each is received before the next is sent: without the bound,
			// each would make its own pass.
			waitFor(fmt.Sprintf("event %d to wait for its pass", i), func() bool {
				for _, line := range strings.Split(logs.String(), "\n") {
					if strings.Contains(line, fmt.Sprintf(`"events":%d,`, i)) && strings.Contains(line, `"message":"events wait for their pass (--events-min-interval)"`) {
						return true
					}
				}
				return false
			})
		}
		if n := passes() - before; n != 0 {
			t.Fatalf("%d passes for %d events less than --events-min-interval after the last event pass; want 0 until it elapses", n, burst)
		}
		if n := sm.SM.TotalCalls(); n != calls {
			t.Fatalf("%d AWS calls before the events' pass", n-calls)
		}
		// Any pass carries the touches that wait: reconcile asks for one.
		if r := sh(t, []string{"KUBECONFIG=" + kube.Kubeconfig}, "reconcile", "--inventory-namespace", "default", "--timeout", "60s"); r.code != 0 {
			t.Fatalf("reconcile: exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
		waitFor("the burst's messages to be deleted", queueEmpty)
		if n := passes() - before; n != 1 {
			t.Fatalf("%d passes for a burst of %d events and one reconcile; want 1", n, burst)
		}
		if sm.SM.TotalCalls() == calls {
			t.Fatal("the pass did not fetch what the events named")
		}
		if _, now := secret(); now != rv {
			t.Fatal("duplicate events rewrote the Secret")
		}
	})
	for what, v := range map[string]string{"the first value": first, "the rotated value": rotated, "a message body": bodyMark} {
		if strings.Contains(logs.String(), v) {
			t.Fatalf("run's debug log holds %s", what)
		}
	}
	var seeded leaktest.Canaries
	seeded.Add(first, rotated, "event-seeded-other")
	checkOutlets(t, &seeded, kube, "default", map[string]string{"run's log": logs.String()})
}

func resourceVersions(d [][2]string) []string {
	var out []string
	for _, x := range d {
		out = append(out, x[1])
	}
	return out
}
