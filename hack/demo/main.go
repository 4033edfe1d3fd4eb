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

func run(bin, example string, keep bool) error {
	ctx := context.Background()
	work, err := os.MkdirTemp("", "secretsync-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)

	step("starting kube-apiserver and etcd (KUBEBUILDER_ASSETS=%s)", os.Getenv("KUBEBUILDER_ASSETS"))
	kube, err := testenv.Start(work)
	if err != nil {
		return err
	}
	defer kube.Stop()
	for _, ns := range []string{"demo", "secretsync"} {
		if _, err := kube.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			return err
		}
	}

	step("starting the AWS Secrets Manager-compatible server and seeding two secrets")
	sm := smserver.New()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	smURL := "http://" + ln.Addr().String()
	go func() { _ = http.Serve(ln, sm) }()
	client := secretsmanager.New(secretsmanager.Options{Region: "us-east-1", BaseEndpoint: aws.String(smURL),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDDEMO", "demo", "")})
	put := func(name, value string, create bool) error {
		var err error
		if create {
			_, err = client.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String(value)})
		} else {
			_, err = client.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(name), SecretString: aws.String(value)})
		}
		return err
	}
	if err := put("demo/database", fmt.Sprintf(`{"username":"app","password":%q}`, random()), true); err != nil {
		return err
	}
	if err := put("demo/payments", fmt.Sprintf(`{"stripe_key":%q,"webhook_secret":%q}`, random(), random()), true); err != nil {
		return err
	}
	fmt.Println("    demo/database  {username, password}")
	fmt.Println("    demo/payments  {stripe_key, webhook_secret}")

	step("committing %s to a Git repo served over HTTP with basic auth", example)
	repo, err := gittest.Init(filepath.Join(work, "git", "secrets"))
	if err != nil {
		return err
	}
	if _, err := repo.CopyDir("add secret mappings", example, "."); err != nil {
		return err
	}
	gitPassword := random()
	git, err := gittest.Serve(filepath.Join(work, "git"), "demo", gitPassword, "")
	if err != nil {
		return err
	}
	defer git.Close()
	fmt.Println("    " + git.URL + "/secrets")

	// runCmd is `secretsync run` against the demo's Git, cluster and AWS,
	// with extra flags.
	runCmd := func(extra ...string) *exec.Cmd {
		cmd := exec.CommandContext(ctx, bin, append([]string{"run",
			"--repo", git.URL + "/secrets", "--ref", "main", "--path", ".",
			"--git-username", "demo",
			"--kubeconfig", kube.Kubeconfig, "--inventory-namespace", "secretsync",
			"--aws-endpoint", smURL, "--workdir", filepath.Join(work, "secretsync")}, extra...)...)
		cmd.Env = append(os.Environ(),
			"SECRETSYNC_GIT_PASSWORD="+gitPassword,
			"AWS_ACCESS_KEY_ID=AKIDDEMO", "AWS_SECRET_ACCESS_KEY=demo",
			"AWS_EC2_METADATA_DISABLED=true", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null")
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stdout
		return cmd
	}
	// A refresh interval of 1s (the default is 1h) makes database's values due
	// again by pass 2, as ESO's Periodic refresh would: run --once fetches
	// only what is due.
	secretsync := func() error {
		fmt.Printf("    $ %s run --once --refresh-interval 1s --repo %s/secrets ...\n", bin, git.URL)
		return runCmd("--once", "--refresh-interval", "1s").Run()
	}

	step("pass 1: secretsync run --once")
	passOne := time.Now()
	if err := secretsync(); err != nil {
		return fmt.Errorf("pass 1: %w", err)
	}
	before, err := show(ctx, kube)
	if err != nil {
		return err
	}

	step("commit: remove the payments-api ExternalSecret; rotate demo/database's password")
	if _, err := repo.Commit("drop payments", map[string]string{
		"payments.yaml":      "",
		"kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: demo\nresources:\n  - store.yaml\n  - database.yaml\n",
	}); err != nil {
		return err
	}
	if err := put("demo/database", fmt.Sprintf(`{"username":"app","password":%q}`, random()), false); err != nil {
		return err
	}

	// Refresh times are kept to the second: be past pass 1's by more than 1s.
	time.Sleep(time.Until(passOne.Truncate(time.Second).Add(2 * time.Second)))
	step("pass 2: secretsync run --once (database's refresh is due: its interval has passed)")
	if err := secretsync(); err != nil {
		return fmt.Errorf("pass 2: %w", err)
	}
	after, err := show(ctx, kube)
	if err != nil {
		return err
	}

	// The demo checks what it claims.
	switch {
	case before["payments-api"] == nil || after["payments-api"] != nil:
		return errors.New("payments-api was not created and then pruned")
	case before["database-credentials"]["password"] == after["database-credentials"]["password"]:
		return errors.New("the rotated password did not reach database-credentials")
	case before["database-credentials"]["username"] != after["database-credentials"]["username"]:
		return errors.New("the unchanged username changed")
	}
	step("done: payments-api was pruned, database-credentials.password was updated, username unchanged")
	if keep {
		// A running instance, as in a cluster, for reconcile, suspend and
		// resume to talk to; its log goes to a file.
		logPath := filepath.Join(work, "secretsync-run.log")
		logf, err := os.Create(logPath)
		if err != nil {
			return err
		}
		defer logf.Close()
		svc := runCmd("--interval", "1m", "--leader-elect=false", "--metrics-addr", "")
		svc.Stdout, svc.Stderr = logf, logf
		if err := svc.Start(); err != nil {
			return err
		}
		defer func() { _ = svc.Process.Kill(); _ = svc.Wait() }()
		step("kept running until Ctrl-C, with `secretsync run` polling (log: %s); try, in another shell:", logPath)
		fmt.Printf("    export KUBECONFIG=%s SECRETSYNC_NAMESPACE=secretsync\n", kube.Kubeconfig)
		fmt.Printf("    %s status -A\n", bin)
		fmt.Printf("    %s explain demo/database-credentials %s\n", bin, repo.Dir)
		fmt.Printf("    %s reconcile --refresh\n", bin)
		fmt.Printf("    %s suspend; %s status -A; %s resume\n", bin, bin, bin)
		fmt.Printf("    AWS_ACCESS_KEY_ID=AKIDDEMO AWS_SECRET_ACCESS_KEY=demo %s diff --aws-endpoint %s %s\n", bin, smURL, repo.Dir)
		fmt.Printf("    git clone http://demo:%s@%s/secrets   # the repo secretsync polls\n", gitPassword, strings.TrimPrefix(git.URL, "http://"))
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
		<-sig
	}
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
