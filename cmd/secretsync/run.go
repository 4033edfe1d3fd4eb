package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/rs/zerolog"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/yaml"

	"github.com/secretsync/secretsync/gitsource"
	"github.com/secretsync/secretsync/inventory"
	"github.com/secretsync/secretsync/providers/aws"
	"github.com/secretsync/secretsync/reconciler"
	"github.com/secretsync/secretsync/render"
	"github.com/secretsync/secretsync/service"
)

// runConfig is every setting of `secretsync run`. Each flag has an
// environment variable; the flag wins.
type runConfig struct {
	repo, ref, path           string
	interval, refreshInterval time.Duration
	once                      bool
	instance, inventoryNS     string
	defaultNamespace          string
	gitUsername               string
	gitPasswordFile           string
	gitBearerTokenFile        string
	gitTimeout                time.Duration
	gitSSHKeyFile             string
	gitKnownHostsFile         string
	gitTrustedKeysFile        string
	workdir                   string
	awsRegion, awsEndpoint    string
	kmsEndpoint               string
	stsEndpoint               string
	ssmEndpoint               string
	sqsEndpoint               string
	acmEndpoint               string
	eventsQueueURL            string
	eventsAccounts            string
	eventsMinInterval         time.Duration
	passTimeout               time.Duration
	schedule                  string
	jitter                    float64
	leaderElect               bool
	metricsAddr               string
	webhookAddr               string
	webhookSecretFile         string
	shutdownTimeout           time.Duration
	reloadWorkloads           bool
	concurrency               int
	awsConcurrency            int
	kubeQPS                   float64
	configFile                string
	namespaces                string
	allowEmpty                bool
	namespacedOnly            bool
	pruneBudget               int
	eventsPerPass             int
	logLevel                  string
}

func env(key, def string) string {
	if v, ok := os.LookupEnv(key); ok {
		return v
	}
	return def
}

func envDuration(key string, def time.Duration) time.Duration {
	if v, ok := os.LookupEnv(key); ok {
		if d, err := time.ParseDuration(v); err == nil {
			return d
		}
	}
	return def
}

// applyConfigFile sets the flags not given on the command line from a
// YAML map of flag names to values: flags win over the file, and the file
// over environment variables (the flags' defaults). An unknown name is an
// error, so a typo is not silently ignored.
func applyConfigFile(fs *pflag.FlagSet, path string) error {
	if path == "" {
		return nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("config file: %w", err)
	}
	var settings map[string]any
	if err := yaml.Unmarshal(b, &settings); err != nil {
		return fmt.Errorf("config file %s: %w", path, err)
	}
	for k, v := range settings {
		f := fs.Lookup(k)
		if k == "config" || f == nil {
			return fmt.Errorf("config file %s: unknown setting %q", path, k)
		}
		if f.Changed {
			continue
		}
		if list, ok := v.([]any); ok {
			parts := make([]string, len(list))
			for i, p := range list {
				parts[i] = fmt.Sprint(p)
			}
			v = strings.Join(parts, ",")
		}
		if err := fs.Set(k, fmt.Sprint(v)); err != nil {
			return fmt.Errorf("config file %s: %s: %w", path, k, err)
		}
	}
	return nil
}

func envFloat(key string, def float64) float64 {
	if v, ok := os.LookupEnv(key); ok {
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			return f
		}
	}
	return def
}

func envInt(key string, def int) int {
	if v, ok := os.LookupEnv(key); ok {
		if n, err := strconv.Atoi(v); err == nil {
			return n
		}
	}
	return def
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// reconcilerConfig is the reconciler's part of the settings.
func (c *runConfig) reconcilerConfig() reconciler.Config {
	return reconciler.Config{
		Instance:           c.instance,
		InventoryNamespace: c.inventoryNS,
		Path:               c.path,
		RefreshInterval:    c.refreshInterval,
		PassTimeout:        c.passTimeout,
		Concurrency:        c.concurrency,
		Namespaces:         splitList(c.namespaces),
		AllowEmpty:         c.allowEmpty,
		PruneBudget:        c.pruneBudget,
		EventsPerPass:      c.eventsPerPass,
		ReloadWorkloads:    c.reloadWorkloads,
		OwnNamespaces:      ownNamespaces(c.inventoryNS),
		Render:             render.Options{DefaultNamespace: c.defaultNamespace, NamespacedOnly: c.namespacedOnly},
	}
}

func (c *runConfig) serviceConfig() service.Config {
	return service.Config{
		Instance:           c.instance,
		InventoryNamespace: c.inventoryNS,
		Interval:           c.interval,
		Schedule:           c.schedule,
		Jitter:             c.jitter,
		PassTimeout:        c.passTimeout,
		ShutdownTimeout:    c.shutdownTimeout,
		LeaderElect:        c.leaderElect,
		MetricsAddr:        c.metricsAddr,
		WebhookAddr:        c.webhookAddr,
		WebhookSecretFile:  c.webhookSecretFile,
		EventsQueueURL:     c.eventsQueueURL,
		EventsAccounts:     c.eventsAccounts,
		EventsMinInterval:  c.eventsMinInterval,
	}
}

// ownNamespaces are the namespaces of secretsync's own objects: the pod's
// (its Git and webhook Secrets are mounted from there) and the inventory's.
func ownNamespaces(inventoryNS string) []string {
	if pod := defaultNamespace(); pod != inventoryNS {
		return []string{pod, inventoryNS}
	}
	return []string{inventoryNS}
}

func defaultNamespace() string {
	if ns := env("POD_NAMESPACE", ""); ns != "" {
		return ns
	}
	if b, err := os.ReadFile("/var/run/secrets/kubernetes.io/serviceaccount/namespace"); err == nil {
		return strings.TrimSpace(string(b))
	}
	return "secretsync"
}

// addRunFlags defines run's flags on fs, each with its environment variable.
func addRunFlags(fs *pflag.FlagSet) *runConfig {
	c := &runConfig{}
	fs.StringVar(&c.repo, "repo", env("SECRETSYNC_REPO", ""), "Git repo URL: https://, ssh:// (or git's git@host:path), http:// or file:// [SECRETSYNC_REPO]")
	fs.StringVar(&c.ref, "ref", env("SECRETSYNC_REF", "main"), "branch, tag or 40-hex commit to apply [SECRETSYNC_REF]")
	fs.StringVar(&c.path, "path", env("SECRETSYNC_PATH", "."), "folder in the repo to render; kustomization.yaml if present, else every YAML file below it [SECRETSYNC_PATH]")
	fs.DurationVar(&c.interval, "interval", envDuration("SECRETSYNC_INTERVAL", time.Minute), "how often to poll the repo [SECRETSYNC_INTERVAL]")
	fs.DurationVar(&c.refreshInterval, "refresh-interval", envDuration("SECRETSYNC_REFRESH_INTERVAL", time.Hour), "how often to fetch every remote value again when the revision is unchanged [SECRETSYNC_REFRESH_INTERVAL]")
	fs.BoolVar(&c.once, "once", false, "run one pass and exit (values are fetched when each ExternalSecret's refresh rules say so, as in a running instance); the exit code is 1 if the pass failed")
	fs.StringVar(&c.instance, "instance", env("SECRETSYNC_INSTANCE", "secretsync"), "instance name: the secretsync.io/instance label and the inventory's name [SECRETSYNC_INSTANCE]")
	fs.StringVar(&c.inventoryNS, "inventory-namespace", env("SECRETSYNC_NAMESPACE", defaultNamespace()), "namespace of the inventory ConfigMap [SECRETSYNC_NAMESPACE, else POD_NAMESPACE, else the pod's namespace]")
	fs.StringVar(&c.defaultNamespace, "default-namespace", env("SECRETSYNC_DEFAULT_NAMESPACE", "default"), "namespace for manifests that name none [SECRETSYNC_DEFAULT_NAMESPACE]")
	fs.StringVar(&c.gitUsername, "git-username", env("SECRETSYNC_GIT_USERNAME", ""), "HTTPS basic auth user; the password comes from SECRETSYNC_GIT_PASSWORD or --git-password-file [SECRETSYNC_GIT_USERNAME]")
	fs.StringVar(&c.gitPasswordFile, "git-password-file", env("SECRETSYNC_GIT_PASSWORD_FILE", ""), "file holding the HTTPS basic auth password or token [SECRETSYNC_GIT_PASSWORD_FILE]")
	fs.StringVar(&c.gitBearerTokenFile, "git-bearer-token-file", env("SECRETSYNC_GIT_BEARER_TOKEN_FILE", ""), "file holding a token sent as Authorization: Bearer; or set SECRETSYNC_GIT_BEARER_TOKEN [SECRETSYNC_GIT_BEARER_TOKEN_FILE]")
	fs.StringVar(&c.gitSSHKeyFile, "git-ssh-key-file", env("SECRETSYNC_GIT_SSH_KEY_FILE", ""), "private key for ssh:// repos [SECRETSYNC_GIT_SSH_KEY_FILE]")
	fs.StringVar(&c.gitKnownHostsFile, "git-known-hosts-file", env("SECRETSYNC_GIT_KNOWN_HOSTS_FILE", ""), "known_hosts for ssh:// repos; an unknown host is refused [SECRETSYNC_GIT_KNOWN_HOSTS_FILE]")
	fs.StringVar(&c.gitTrustedKeysFile, "git-trusted-keys-file", env("SECRETSYNC_GIT_TRUSTED_KEYS_FILE", ""), "armored OpenPGP public keyring; when set, only commits (or annotated tags) signed by one of its keys are applied [SECRETSYNC_GIT_TRUSTED_KEYS_FILE]")
	fs.DurationVar(&c.gitTimeout, "git-timeout", envDuration("SECRETSYNC_GIT_TIMEOUT", 60*time.Second), "bound on each Git network step [SECRETSYNC_GIT_TIMEOUT]")
	fs.StringVar(&c.workdir, "workdir", env("SECRETSYNC_WORKDIR", filepath.Join(os.TempDir(), "secretsync")), "folder for the checkout, kept across passes [SECRETSYNC_WORKDIR]")
	fs.StringVar(&c.awsRegion, "aws-region", env("SECRETSYNC_AWS_REGION", env("AWS_REGION", "")), "region for stores that name none [SECRETSYNC_AWS_REGION, else AWS_REGION]")
	fs.StringVar(&c.awsEndpoint, "aws-endpoint", env("SECRETSYNC_AWS_ENDPOINT", ""), "Secrets Manager endpoint URL, for AWS-compatible services or custom VPC endpoints; empty uses AWS [SECRETSYNC_AWS_ENDPOINT]")
	fs.StringVar(&c.kmsEndpoint, "kms-endpoint", env("SECRETSYNC_KMS_ENDPOINT", ""), "KMS endpoint URL, for stores with service KMS; empty uses AWS [SECRETSYNC_KMS_ENDPOINT]")
	fs.StringVar(&c.ssmEndpoint, "ssm-endpoint", env("SECRETSYNC_SSM_ENDPOINT", ""), "Parameter Store (SSM) endpoint URL, for stores with service ParameterStore; empty uses AWS [SECRETSYNC_SSM_ENDPOINT]")
	fs.StringVar(&c.acmEndpoint, "acm-endpoint", env("SECRETSYNC_ACM_ENDPOINT", ""), "Certificate Manager endpoint URL, for stores with service CertificateManager; empty uses AWS [SECRETSYNC_ACM_ENDPOINT]")
	fs.StringVar(&c.eventsQueueURL, "events-queue-url", env("SECRETSYNC_EVENTS_QUEUE_URL", ""), "SQS queue that an EventBridge rule fills with Secrets Manager and Parameter Store change events: the leader refreshes the ExternalSecrets an event names at once (docs/events.md) [SECRETSYNC_EVENTS_QUEUE_URL]")
	fs.StringVar(&c.eventsAccounts, "events-accounts", env("SECRETSYNC_EVENTS_ACCOUNTS", ""), "comma-separated AWS account ids whose change events act; an event of another account, or naming another account's ARN, is dropped; empty: the queue URL's account [SECRETSYNC_EVENTS_ACCOUNTS]")
	fs.DurationVar(&c.eventsMinInterval, "events-min-interval", envDuration("SECRETSYNC_EVENTS_MIN_INTERVAL", 10*time.Second), "at most one event-driven pass per this interval (up to 1h); events received in between wait and share the next one [SECRETSYNC_EVENTS_MIN_INTERVAL]")
	fs.StringVar(&c.sqsEndpoint, "sqs-endpoint", env("SECRETSYNC_SQS_ENDPOINT", ""), "SQS endpoint URL, for --events-queue-url; empty uses AWS [SECRETSYNC_SQS_ENDPOINT]")
	fs.StringVar(&c.stsEndpoint, "sts-endpoint", env("SECRETSYNC_STS_ENDPOINT", ""), "STS endpoint URL, for role assumption; empty uses AWS [SECRETSYNC_STS_ENDPOINT]")
	fs.DurationVar(&c.passTimeout, "pass-timeout", envDuration("SECRETSYNC_PASS_TIMEOUT", 5*time.Minute), "bound on one pass; AWS retries and rate-limit waits end there; /healthz fails once a pass runs past twice this [SECRETSYNC_PASS_TIMEOUT]")
	fs.StringVar(&c.namespaces, "namespaces", env("SECRETSYNC_NAMESPACES", ""), "comma-separated namespaces secretsync may write Secrets to; empty allows all [SECRETSYNC_NAMESPACES]")
	fs.BoolVar(&c.namespacedOnly, "namespaced-only", env("SECRETSYNC_NAMESPACED_ONLY", "") == "true", namespacedOnlyUsage)
	fs.BoolVar(&c.allowEmpty, "allow-empty", env("SECRETSYNC_ALLOW_EMPTY", "") == "true", "let a revision that renders no ExternalSecret prune everything [SECRETSYNC_ALLOW_EMPTY]")
	fs.IntVar(&c.eventsPerPass, "events-per-pass", envInt("SECRETSYNC_EVENTS_PER_PASS", 100), "per-Secret Events one pass may record; past it, one Event per reason on the inventory ConfigMap counts the rest: fewer writes on a large first pass, less detail in kubectl get events [SECRETSYNC_EVENTS_PER_PASS]")
	fs.IntVar(&c.pruneBudget, "prune-budget", envInt("SECRETSYNC_PRUNE_BUDGET", 0), "most Secrets one pass may delete; 0: the larger of 25% of the inventory and 50; negative: no cap [SECRETSYNC_PRUNE_BUDGET]")
	fs.StringVar(&c.schedule, "schedule", env("SECRETSYNC_SCHEDULE", ""), "cron expression (5 fields, or @every 30m) for full refreshes, as reconcile --refresh (ESO's force-sync: all but CreatedOnce and refreshInterval 0); empty: each ExternalSecret's refreshInterval [SECRETSYNC_SCHEDULE]")
	fs.Float64Var(&c.jitter, "jitter", envFloat("SECRETSYNC_JITTER", 0.1), "random extra delay added to each poll and scheduled refresh, as a fraction of the interval [SECRETSYNC_JITTER]")
	fs.BoolVar(&c.leaderElect, "leader-elect", env("SECRETSYNC_LEADER_ELECT", "true") == "true", "elect one leader through a Lease; only the leader reconciles [SECRETSYNC_LEADER_ELECT]")
	fs.StringVar(&c.metricsAddr, "metrics-addr", env("SECRETSYNC_METRICS_ADDR", ":8080"), "address for /healthz, /readyz and /metrics; empty disables [SECRETSYNC_METRICS_ADDR]")
	fs.StringVar(&c.webhookAddr, "webhook-addr", env("SECRETSYNC_WEBHOOK_ADDR", ":8081"), "address for the push webhook receiver (/hook/github, /hook/gitlab, /hook/generic); it runs only with a webhook secret [SECRETSYNC_WEBHOOK_ADDR]")
	fs.StringVar(&c.webhookSecretFile, "webhook-secret-file", env("SECRETSYNC_WEBHOOK_SECRET_FILE", ""), "file holding the webhook HMAC secret or token; or set SECRETSYNC_WEBHOOK_SECRET [SECRETSYNC_WEBHOOK_SECRET_FILE]")
	fs.DurationVar(&c.shutdownTimeout, "shutdown-timeout", envDuration("SECRETSYNC_SHUTDOWN_TIMEOUT", 25*time.Second), "on SIGTERM, how long a pass in flight may run before it is cut off [SECRETSYNC_SHUTDOWN_TIMEOUT]")
	fs.BoolVar(&c.reloadWorkloads, "reload-workloads", env("SECRETSYNC_RELOAD_WORKLOADS", "") == "true", "roll out Deployments, StatefulSets and DaemonSets annotated secretsync.io/reload when their Secrets change [SECRETSYNC_RELOAD_WORKLOADS]")
	fs.StringVar(&c.configFile, "config", env("SECRETSYNC_CONFIG", ""), "YAML file of settings named like these flags (repo: ..., interval: 1m); flags win over it, and it wins over environment variables [SECRETSYNC_CONFIG]")
	fs.IntVar(&c.concurrency, "concurrency", envInt("SECRETSYNC_CONCURRENCY", 32), "API-server writes in flight: more is faster until the API server's own limit; each costs a connection's share of its priority level [SECRETSYNC_CONCURRENCY]")
	fs.IntVar(&c.awsConcurrency, "aws-concurrency", envInt("SECRETSYNC_AWS_CONCURRENCY", 16), "AWS calls in flight per identity; the token buckets still cap the rate [SECRETSYNC_AWS_CONCURRENCY]")
	fs.Float64Var(&c.kubeQPS, "kube-qps", envFloat("SECRETSYNC_KUBE_QPS", 0), "client-side limit on API requests per second; 0 leaves the limiting to the API server's priority and fairness [SECRETSYNC_KUBE_QPS]")
	fs.StringVar(&c.logLevel, "log-level", env("SECRETSYNC_LOG_LEVEL", "info"), "debug, info, warn or error [SECRETSYNC_LOG_LEVEL]")
	return c
}

// check applies the config file and checks what flags alone cannot.
func (c *runConfig) check(fs *pflag.FlagSet) error {
	if err := applyConfigFile(fs, c.configFile); err != nil {
		return err
	}
	if c.repo == "" {
		return errors.New("--repo (or SECRETSYNC_REPO, or repo: in --config) is required")
	}
	return nil
}

func (c *runConfig) gitAuth() (gitsource.Auth, error) {
	a := gitsource.Auth{Username: c.gitUsername, Password: os.Getenv("SECRETSYNC_GIT_PASSWORD"), BearerToken: os.Getenv("SECRETSYNC_GIT_BEARER_TOKEN")}
	read := func(path string) (string, error) {
		b, err := os.ReadFile(path)
		if err != nil {
			return "", fmt.Errorf("read git credential file: %w", err)
		}
		return strings.TrimSpace(string(b)), nil
	}
	var err error
	if c.gitPasswordFile != "" {
		if a.Password, err = read(c.gitPasswordFile); err != nil {
			return a, err
		}
	}
	if c.gitBearerTokenFile != "" {
		if a.BearerToken, err = read(c.gitBearerTokenFile); err != nil {
			return a, err
		}
	}
	return a, nil
}

func newRunCmd(s streams, cluster *clusterFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "run --repo URL [flags]",
		Short: "Reconcile: poll the repo, apply Secrets, prune (--once for one pass)",
		Long: `Run the reconciler, as the Deployment in manifests/ does: poll the repo every
--interval, render --path, resolve values from AWS, server-side-apply the
Secrets and prune the ones that left Git. Several replicas elect one leader.
Logs are JSON lines on stderr; /metrics, /healthz and /readyz are served on
--metrics-addr.

Every flag has an environment variable (in brackets) and may be set in the
--config file; a flag wins over the file, and the file over the environment.

Exit codes: 0 stopped cleanly (or, with --once, a successful pass); 1 a failed
pass with --once, or the lease lost; 2 bad usage or startup.`,
		Example: `  secretsync run --repo https://github.com/acme/secrets --path clusters/prod --aws-region eu-west-1
  secretsync run --once --repo file:///srv/secrets --kubeconfig ~/.kube/config
  secretsync run --config /etc/secretsync/config.yaml`,
		Args: cobra.NoArgs,
	}
	c := addRunFlags(cmd.Flags())
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if err := c.check(cmd.Flags()); err != nil {
			return fail(exitUsage, "%v", err)
		}
		return exit(c.run(cmd.Context(), cluster, s.err))
	}
	return cmd
}

// run runs the reconciler with c and returns the exit code.
// newReconciler is the Reconciler with its metadata client, which the
// PushSecret source watch uses: names and versions, never values.
func (c *runConfig) newReconciler(src reconciler.Source, kube kubernetes.Interface, rc *rest.Config, pf *aws.Factory, log zerolog.Logger) (*reconciler.Reconciler, error) {
	rec, err := reconciler.New(c.reconcilerConfig(), src, kube, pf, log)
	if err != nil {
		return nil, err
	}
	meta, err := metadata.NewForConfig(rc)
	if err != nil {
		return nil, err
	}
	rec.SetMetadataClient(meta)
	return rec, nil
}

func (c *runConfig) run(ctx context.Context, cluster *clusterFlags, stderr io.Writer) int {
	// Most of the heap is one pass's working set, garbage after it: a
	// collection at 50% growth rather than Go's default 100% keeps the peak
	// RSS at 10,000 Secrets about a seventh lower (170 -> 148 MiB) for a few
	// percent more CPU in the collector. GOGC set in the environment wins.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(50)
	}
	level, err := zerolog.ParseLevel(c.logLevel)
	if err != nil {
		fmt.Fprintf(stderr, "secretsync run: --log-level: %v\n", err)
		return exitUsage
	}
	log := zerolog.New(stderr).Level(level).With().Timestamp().Str("instance", c.instance).Logger()

	auth, err := c.gitAuth()
	if err != nil {
		log.Error().Err(err).Msg("startup")
		return 2
	}
	gopts := gitsource.Options{
		URL: c.repo, Ref: c.ref, Auth: auth, Timeout: c.gitTimeout,
		Dir: filepath.Join(c.workdir, c.instance, "checkout"),
	}
	if c.gitSSHKeyFile != "" {
		gopts.SSH = &gitsource.SSHAuth{PrivateKeyFile: c.gitSSHKeyFile, KnownHostsFile: c.gitKnownHostsFile, Passphrase: os.Getenv("SECRETSYNC_GIT_SSH_PASSPHRASE")}
	}
	if c.gitTrustedKeysFile != "" {
		b, err := os.ReadFile(c.gitTrustedKeysFile)
		if err != nil {
			log.Error().Err(err).Msg("startup: read trusted keys")
			return 2
		}
		gopts.TrustedKeys = string(b)
	}
	src, err := gitsource.New(gopts)
	if err != nil {
		log.Error().Err(err).Msg("startup")
		return 2
	}
	rc, err := cluster.restConfig()
	if err != nil {
		log.Error().Err(err).Msg("startup")
		return 2
	}
	if c.kubeQPS > 0 {
		rc.RateLimiter = nil
		rc.QPS, rc.Burst = float32(c.kubeQPS), int(2*c.kubeQPS)+1
	}
	kube, err := kubernetes.NewForConfig(rc)
	if err != nil {
		log.Error().Err(err).Msg("startup")
		return 2
	}
	pf := aws.NewFactory(aws.Options{Endpoint: c.awsEndpoint, KMSEndpoint: c.kmsEndpoint, STSEndpoint: c.stsEndpoint, SSMEndpoint: c.ssmEndpoint, ACMEndpoint: c.acmEndpoint, SQSEndpoint: c.sqsEndpoint, DefaultRegion: c.awsRegion, Concurrency: c.awsConcurrency})
	rec, err := c.newReconciler(src, kube, rc, pf, log)
	if err != nil {
		log.Error().Err(err).Msg("startup")
		return 2
	}

	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	log.Info().Str("repo", src.URL()).Str("ref", c.ref).Str("path", c.path).Msg("starting")
	if c.once {
		return c.runOnce(ctx, kube, rec, log)
	}
	svc, err := service.New(ctx, c.serviceConfig(), rec, pf, kube, log)
	if err != nil {
		log.Error().Err(err).Msg("startup")
		return 2
	}
	return svc.Run(ctx)
}

// runOnce is run --once: one pass, unless the instance is suspended.
func (c *runConfig) runOnce(ctx context.Context, kube kubernetes.Interface, rec *reconciler.Reconciler, log zerolog.Logger) int {
	// A suspended instance applies and prunes nothing, whichever process
	// asks (a CronJob's run --once too), as Flux's suspend.
	if suspended, err := suspendedNow(ctx, kube, c.inventoryNS, c.instance); err != nil {
		log.Error().Err(err).Msg("reading the inventory to see whether the instance is suspended")
		return 1
	} else if suspended {
		log.Warn().Msgf("instance %s is suspended: no pass (`secretsync resume` starts it again)", c.instance)
		return 0
	}
	// Not forced: a new process decides from the inventory's rows what is
	// due, as a running instance does (ESO's refresh rules).
	if res := rec.Pass(ctx, false); !res.OK() {
		return 1
	}
	return 0
}

// suspendedNow reports whether the inventory of instance in ns says it is
// suspended (`secretsync suspend`); an instance with no inventory yet is not.
func suspendedNow(ctx context.Context, kube kubernetes.Interface, ns, instance string) (bool, error) {
	cm, err := kube.CoreV1().ConfigMaps(ns).Get(ctx, inventory.Name(instance), metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return false, nil
	case err != nil:
		return false, err
	}
	return service.Suspended(cm), nil
}
