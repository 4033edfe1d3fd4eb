// Command demo shows secretsync end to end on this machine alone: a real
// kube-apiserver and etcd, the project's Secrets Manager server, and a Git
// repo made from examples/basic served over HTTP with basic auth. It runs
// the secretsync binary itself, exactly as `secretsync run --once`, and
// prints each Secret as keys with lengths and hashes, never values.
package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/secretsync/secretsync/internal/gittest"
	"github.com/secretsync/secretsync/internal/smserver"
	"github.com/secretsync/secretsync/internal/testenv"
)

func main() {
	bin := flag.String("secretsync", "bin/secretsync", "the secretsync binary to run")
	example := flag.String("example", "examples/basic", "example repo to serve")
	keep := flag.Bool("keep", false, "after the demo, keep the control plane, Git and AWS servers running until interrupted (make demo KEEP=1)")
	flag.Parse()
	if err := run(*bin, *example, *keep); err != nil {
		fmt.Fprintln(os.Stderr, "demo failed:", err)
		os.Exit(1)
	}
}

func step(format string, a ...any) { fmt.Printf("\n==> "+format+"\n", a...) }

func random() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// demo is the running demo: its folder, cluster, AWS server and Git server.
type demo struct {
	ctx         context.Context
	bin         string
	work        string
	kube        *testenv.Env
	smURL       string
	client      *secretsmanager.Client
	repo        *gittest.Repo
	git         *gittest.Server
	gitPassword string
}

func run(bin, example string, keep bool) error {
	work, err := os.MkdirTemp("", "secretsync-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	d := &demo{ctx: context.Background(), bin: bin, work: work}

	step("starting kube-apiserver and etcd (KUBEBUILDER_ASSETS=%s)", os.Getenv("KUBEBUILDER_ASSETS"))
	if d.kube, err = testenv.Start(work); err != nil {
		return err
	}
	defer d.kube.Stop()
	for _, ns := range []string{"demo", "secretsync"} {
		if _, err := d.kube.Client.CoreV1().Namespaces().Create(d.ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			return err
		}
	}
	step("starting the AWS Secrets Manager-compatible server and seeding two secrets")
	if err := d.startAWS(); err != nil {
		return err
	}
	step("committing %s to a Git repo served over HTTP with basic auth", example)
	if err := d.startGit(example); err != nil {
		return err
	}
	defer d.git.Close()
	fmt.Println("    " + d.git.URL + "/secrets")

	if err := d.twoPasses(); err != nil {
		return err
	}
	if keep {
		return d.keepRunning()
	}
	return nil
}

// startAWS serves the Secrets Manager-compatible server and seeds two secrets.
func (d *demo) startAWS() error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	d.smURL = "http://" + ln.Addr().String()
	go func() { _ = http.Serve(ln, smserver.New()) }()
	d.client = secretsmanager.New(secretsmanager.Options{Region: "us-east-1", BaseEndpoint: aws.String(d.smURL),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDDEMO", "demo", "")})
	if _, err := d.client.CreateSecret(d.ctx, &secretsmanager.CreateSecretInput{Name: aws.String("demo/database"),
		SecretString: aws.String(fmt.Sprintf(`{"username":"app","password":%q}`, random()))}); err != nil {
		return err
	}
	if _, err := d.client.CreateSecret(d.ctx, &secretsmanager.CreateSecretInput{Name: aws.String("demo/payments"),
		SecretString: aws.String(fmt.Sprintf(`{"stripe_key":%q,"webhook_secret":%q}`, random(), random()))}); err != nil {
		return err
	}
	fmt.Println("    demo/database  {username, password}")
	fmt.Println("    demo/payments  {stripe_key, webhook_secret}")
	return nil
}

// startGit commits the example to a repo and serves it with basic auth.
func (d *demo) startGit(example string) error {
	repo, err := gittest.Init(filepath.Join(d.work, "git", "secrets"))
	if err != nil {
		return err
	}
	if _, err := repo.CopyDir("add secret mappings", example, "."); err != nil {
		return err
	}
	d.repo = repo
	d.gitPassword = random()
	d.git, err = gittest.Serve(filepath.Join(d.work, "git"), "demo", d.gitPassword, "")
	return err
}

// runCmd is `secretsync run` against the demo's Git, cluster and AWS, with
// extra flags.
func (d *demo) runCmd(extra ...string) *exec.Cmd {
	cmd := exec.CommandContext(d.ctx, d.bin, append([]string{"run",
		"--repo", d.git.URL + "/secrets", "--ref", "main", "--path", ".",
		"--git-username", "demo",
		"--kubeconfig", d.kube.Kubeconfig, "--inventory-namespace", "secretsync",
		"--aws-endpoint", d.smURL, "--workdir", filepath.Join(d.work, "secretsync")}, extra...)...)
	cmd.Env = append(os.Environ(),
		"SECRETSYNC_GIT_PASSWORD="+d.gitPassword,
		"AWS_ACCESS_KEY_ID=AKIDDEMO", "AWS_SECRET_ACCESS_KEY=demo",
		"AWS_EC2_METADATA_DISABLED=true", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null")
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stdout
	return cmd
}

// once runs one pass. A refresh interval of 1s (the default is 1h) makes
// database's values due again by pass 2, as ESO's Periodic refresh would:
// run --once fetches only what is due.
func (d *demo) once() error {
	fmt.Printf("    $ %s run --once --refresh-interval 1s --repo %s/secrets ...\n", d.bin, d.git.URL)
	return d.runCmd("--once", "--refresh-interval", "1s").Run()
}

// twoPasses runs pass 1, commits a removal and rotates a value, runs pass 2,
// and checks what the demo claims: a prune, an update, an unchanged key.
func (d *demo) twoPasses() error {
	step("pass 1: secretsync run --once")
	passOne := time.Now()
	if err := d.once(); err != nil {
		return fmt.Errorf("pass 1: %w", err)
	}
	before, err := show(d.ctx, d.kube)
	if err != nil {
		return err
	}

	step("commit: remove the payments-api ExternalSecret; rotate demo/database's password")
	if _, err := d.repo.Commit("drop payments", map[string]string{
		"payments.yaml":      "",
		"kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: demo\nresources:\n  - store.yaml\n  - database.yaml\n",
	}); err != nil {
		return err
	}
	if _, err := d.client.PutSecretValue(d.ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String("demo/database"),
		SecretString: aws.String(fmt.Sprintf(`{"username":"app","password":%q}`, random()))}); err != nil {
		return err
	}

	// Refresh times are kept to the second: be past pass 1's by more than 1s.
	time.Sleep(time.Until(passOne.Truncate(time.Second).Add(2 * time.Second)))
	step("pass 2: secretsync run --once (database's refresh is due: its interval has passed)")
	if err := d.once(); err != nil {
		return fmt.Errorf("pass 2: %w", err)
	}
	after, err := show(d.ctx, d.kube)
	if err != nil {
		return err
	}

	switch {
	case before["payments-api"] == nil || after["payments-api"] != nil:
		return errors.New("payments-api was not created and then pruned")
	case before["database-credentials"]["password"] == after["database-credentials"]["password"]:
		return errors.New("the rotated password did not reach database-credentials")
	case before["database-credentials"]["username"] != after["database-credentials"]["username"]:
		return errors.New("the unchanged username changed")
	}
	step("done: payments-api was pruned, database-credentials.password was updated, username unchanged")
	return nil
}

// keepRunning leaves a running instance, as in a cluster, for reconcile,
// suspend and resume to talk to, until interrupted; its log goes to a file.
func (d *demo) keepRunning() error {
	bin := d.bin
	logPath := filepath.Join(d.work, "secretsync-run.log")
	logf, err := os.Create(logPath)
	if err != nil {
		return err
	}
	defer logf.Close()
	svc := d.runCmd("--interval", "1m", "--leader-elect=false", "--metrics-addr", "")
	svc.Stdout, svc.Stderr = logf, logf
	if err := svc.Start(); err != nil {
		return err
	}
	defer func() { _ = svc.Process.Kill(); _ = svc.Wait() }()
	step("kept running until Ctrl-C, with `secretsync run` polling (log: %s); try, in another shell:", logPath)
	fmt.Printf("    export KUBECONFIG=%s SECRETSYNC_NAMESPACE=secretsync\n", d.kube.Kubeconfig)
	fmt.Printf("    %s status -A\n", bin)
	fmt.Printf("    %s explain demo/database-credentials %s\n", bin, d.repo.Dir)
	fmt.Printf("    %s reconcile --refresh\n", bin)
	fmt.Printf("    %s suspend; %s status -A; %s resume\n", bin, bin, bin)
	fmt.Printf("    AWS_ACCESS_KEY_ID=AKIDDEMO AWS_SECRET_ACCESS_KEY=demo %s diff --aws-endpoint %s %s\n", bin, d.smURL, d.repo.Dir)
	fmt.Printf("    git clone http://demo:%s@%s/secrets   # the repo secretsync polls\n", d.gitPassword, strings.TrimPrefix(d.git.URL, "http://"))
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
	return nil
}

// show prints the Secrets in namespace demo and returns key -> fingerprint.
func show(ctx context.Context, kube *testenv.Env) (map[string]map[string]string, error) {
	list, err := kube.Client.CoreV1().Secrets("demo").List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	out := map[string]map[string]string{}
	fmt.Println("\n    namespace demo:")
	for _, s := range list.Items {
		out[s.Name] = map[string]string{}
		fmt.Printf("    secret %-22s revision %s\n", s.Name, s.Annotations["secretsync.io/revision"])
		keys := make([]string, 0, len(s.Data))
		for k := range s.Data {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			sum := sha256.Sum256(s.Data[k])
			fp := hex.EncodeToString(sum[:])[:12]
			out[s.Name][k] = fp
			fmt.Printf("      %-16s %3d bytes  sha256:%s\n", k, len(s.Data[k]), fp)
		}
	}
	if len(list.Items) == 0 {
		fmt.Println("    (none)")
	}
	return out, nil
}
