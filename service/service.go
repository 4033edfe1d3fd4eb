// Package service is `secretsync run` without --once: the poll loop,
// scheduled refreshes, the drift watch, the webhook trigger, the AWS change
// events queue and the operator controls, behind leader election, with
// health, readiness and metrics endpoints. cmd/secretsync parses the flags
// into a Config and calls New and Run.
package service

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/robfig/cron/v3"
	"github.com/rs/zerolog"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"

	"github.com/secretsync/secretsync/providers/aws"
	"github.com/secretsync/secretsync/reconciler"
)

// Config is what the service needs beyond its collaborators; each field is
// the `secretsync run` flag named in its comment, whose name the errors and
// /healthz quote.
type Config struct {
	Instance           string        // --instance
	InventoryNamespace string        // --inventory-namespace
	Interval           time.Duration // --interval
	Schedule           string        // --schedule
	Jitter             float64       // --jitter
	PassTimeout        time.Duration // --pass-timeout
	ShutdownTimeout    time.Duration // --shutdown-timeout
	LeaderElect        bool          // --leader-elect
	MetricsAddr        string        // --metrics-addr
	WebhookAddr        string        // --webhook-addr
	WebhookSecretFile  string        // --webhook-secret-file (else SECRETSYNC_WEBHOOK_SECRET)
	EventsQueueURL     string        // --events-queue-url
	EventsAccounts     string        // --events-accounts
	EventsMinInterval  time.Duration // --events-min-interval
}

// Service runs passes until it is stopped.
type Service struct {
	cfg Config
	rec *reconciler.Reconciler
	// pass runs one pass (rec.Pass); a test puts a pass that never ends in
	// its place.
	pass     func(ctx context.Context, force bool) reconciler.Result
	kube     kubernetes.Interface
	log      zerolog.Logger
	metrics  *metrics
	ready    *readiness
	live     *liveness
	trigger  chan struct{}
	schedule cron.Schedule
	secret   []byte

	// events consumes the AWS change events queue (events.go); nil
	// without --events-queue-url.
	events *eventConsumer

	// Controls from the inventory's annotations (controls.go).
	suspended   atomic.Bool
	requests    chan request
	lastRequest string // only watchControls reads and writes it
	// recording is set while a wanted revision is being recorded.
	recording atomic.Bool
}

// New checks c and returns the service; pf is needed only with
// EventsQueueURL (its SQS client).
func New(ctx context.Context, c Config, rec *reconciler.Reconciler, pf *aws.Factory, kube kubernetes.Interface, log zerolog.Logger) (*Service, error) {
	s := &Service{cfg: c, rec: rec, pass: rec.Pass, kube: kube, log: log, metrics: newMetrics(), ready: &readiness{}, live: newLiveness(c.PassTimeout), trigger: make(chan struct{}, 1), requests: make(chan request, 1)}
	if c.Interval <= 0 {
		return nil, errors.New("--interval must be positive")
	}
	if c.Schedule != "" {
		sched, err := cron.ParseStandard(c.Schedule)
		if err != nil {
			return nil, fmt.Errorf("--schedule: %w", err)
		}
		s.schedule = sched
	}
	if c.EventsQueueURL != "" {
		ec, err := newEventConsumer(ctx, c, pf, rec, s.metrics, log)
		if err != nil {
			return nil, err
		}
		ec.paused = s.suspended.Load
		s.events = ec
	}
	s.secret = []byte(os.Getenv("SECRETSYNC_WEBHOOK_SECRET"))
	if c.WebhookSecretFile != "" {
		b, err := os.ReadFile(c.WebhookSecretFile)
		if err != nil {
			return nil, fmt.Errorf("read webhook secret: %w", err)
		}
		s.secret = []byte(strings.TrimSpace(string(b)))
	}
	return s, nil
}

// livenessFactor times --pass-timeout is how long a pass may run before
// /healthz fails: a pass ends at --pass-timeout unless some work ignores
// its context, and then only a restart (which moves the lease) frees it.
const livenessFactor = 2

// liveness is /healthz: ok, unless a pass has run past its bound.
type liveness struct {
	bound time.Duration
	since atomic.Int64 // start of the pass in flight, unix ns; 0 between passes
}

func newLiveness(passTimeout time.Duration) *liveness {
	if passTimeout <= 0 {
		passTimeout = 5 * time.Minute // the reconciler's default
	}
	return &liveness{bound: livenessFactor * passTimeout}
}

func (l *liveness) begin() { l.since.Store(time.Now().UnixNano()) }
func (l *liveness) end()   { l.since.Store(0) }

func (l *liveness) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	if at := l.since.Load(); at != 0 {
		if d := time.Since(time.Unix(0, at)); d > l.bound {
			http.Error(w, fmt.Sprintf("a pass has run for %s, over %s (%d × --pass-timeout): it cannot end", d.Round(time.Second), l.bound, livenessFactor), http.StatusServiceUnavailable)
			return
		}
	}
	_, _ = w.Write([]byte("ok\n"))
}

// poke asks for a pass as soon as the loop is free; pokes coalesce.
func (s *Service) poke() {
	select {
	case s.trigger <- struct{}{}:
	default:
	}
}

// Run serves until sigCtx ends (SIGTERM) and returns the exit code: 0, or
// 1 when the lease was lost. On the signal, no new pass starts; the pass in
// flight has --shutdown-timeout to finish before its context is cut, and a
// pass cut off is recorded as failed, never as a success.
func (s *Service) Run(sigCtx context.Context) int {
	if s.cfg.MetricsAddr != "" {
		mux := http.NewServeMux()
		mux.Handle("/healthz", s.live)
		mux.Handle("/readyz", s.ready)
		mux.Handle("/metrics", s.metrics.handler())
		s.listen(sigCtx, "metrics", s.cfg.MetricsAddr, mux)
	}
	if len(s.secret) > 0 && s.cfg.WebhookAddr != "" {
		s.listen(sigCtx, "webhook", s.cfg.WebhookAddr, newWebhook(s.secret, s.poke, s.log))
	}

	work, cancelWork := context.WithCancel(context.Background())
	defer cancelWork()
	go func() {
		<-sigCtx.Done()
		time.AfterFunc(s.cfg.ShutdownTimeout, cancelWork)
	}()

	if !s.cfg.LeaderElect {
		s.loop(sigCtx, work)
		return 0
	}
	return s.runElected(sigCtx, work, cancelWork)
}

// runElected runs the loop only while this process holds the Lease; it
// returns 1 when the lease was lost.
func (s *Service) runElected(sigCtx, work context.Context, cancelWork context.CancelFunc) int {
	c := &candidacy{s: s, id: leaderIdentity(), sigCtx: sigCtx, work: work, loopDone: make(chan struct{})}
	lock := &resourcelock.LeaseLock{
		LeaseMeta:  metav1.ObjectMeta{Name: "secretsync-" + s.cfg.Instance, Namespace: s.cfg.InventoryNamespace},
		Client:     s.kube.CoordinationV1(),
		LockConfig: resourcelock.ResourceLockConfig{Identity: c.id},
	}
	s.ready.set(true, "") // a standby is ready to take over
	// The election runs until the loop has ended, not until the signal:
	// client-go returns from RunOrDie (and releases the lease) as soon as
	// its context ends, without waiting for OnStartedLeading, which would
	// exit the process with a pass in flight and let a standby start one
	// beside it. So SIGTERM ends the loop, and the loop's end (or the
	// signal, when not leading) ends the election.
	election, endElection := context.WithCancel(context.Background())
	defer endElection()
	c.endElection = endElection
	go c.endOnSignalUnlessLeading()
	leaderelection.RunOrDie(election, leaderelection.LeaderElectionConfig{
		Lock: lock,
		// A dead leader's lease expires after 10 s; a standby retries every
		// 2 s, so it takes over within 12 s.
		LeaseDuration:   10 * time.Second,
		RenewDeadline:   7 * time.Second,
		RetryPeriod:     2 * time.Second,
		ReleaseOnCancel: true,
		Name:            "secretsync-" + s.cfg.Instance,
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: c.lead,
			OnStoppedLeading: c.stoppedLeading,
			OnNewLeader:      c.newLeader,
		},
	})
	if c.lost {
		cancelWork() // a pass of a lost lease must not write on
	}
	c.mu.Lock()
	led := c.leading
	c.mu.Unlock()
	if led {
		<-c.loopDone
	}
	if c.lost {
		return 1
	}
	return 0
}

// leaderIdentity is this process in the Lease: its pod's name (or host
// name) and a random suffix, so a restarted pod is a new candidate.
func leaderIdentity() string {
	id := os.Getenv("POD_NAME") // from the downward API in the manifests
	if id == "" {
		id, _ = os.Hostname()
	}
	return id + "_" + fmt.Sprintf("%08x", rand.Uint32())
}

// candidacy is this process in one leader election: whether it led, whether
// it lost the lease, and the end of the loop it ran while leading.
type candidacy struct {
	s           *Service
	id          string
	sigCtx      context.Context // the signal
	work        context.Context // a pass's context, ended after the shutdown timeout
	endElection context.CancelFunc
	loopDone    chan struct{}
	lost        bool // set by RunOrDie's OnStoppedLeading, before it returns

	mu      sync.Mutex
	leading bool
}

// endOnSignalUnlessLeading ends the election at the signal when this
// process is not leading; a leader's loop ends it instead.
func (c *candidacy) endOnSignalUnlessLeading() {
	<-c.sigCtx.Done()
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.leading {
		c.endElection()
	}
}

// lead runs the loop until the lease is lost or the signal comes, then ends
// the election.
func (c *candidacy) lead(ctx context.Context) {
	c.mu.Lock()
	if c.sigCtx.Err() != nil {
		c.mu.Unlock()
		return
	}
	c.leading = true
	c.mu.Unlock()
	defer close(c.loopDone)
	defer c.endElection()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(c.sigCtx, cancel)()
	c.s.log.Info().Str("identity", c.id).Msg("leading")
	c.s.markLeader(ctx)
	c.s.ready.set(false, "leader: no successful pass yet")
	c.s.loop(ctx, c.work)
}

func (c *candidacy) stoppedLeading() {
	if c.sigCtx.Err() == nil {
		c.lost = true
		c.s.log.Error().Str("identity", c.id).Msg("lost the lease; exiting so that a clean process takes over")
	}
}

func (c *candidacy) newLeader(identity string) {
	if identity != c.id {
		c.s.log.Info().Str("leader", identity).Msg("standing by")
	}
}

func (s *Service) listen(ctx context.Context, name, addr string, h http.Handler) {
	srv := &http.Server{Addr: addr, Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error().Err(err).Str("server", name).Msg("listen failed")
		}
	}()
	go func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shut)
	}()
}

// loop runs passes until ctx ends: a poll every --interval (plus jitter),
// a full refresh at each --schedule time, and at once on a webhook, on
// drift or on `secretsync reconcile`. Passes never overlap: the loop runs
// one at a time. While suspended it keeps its schedule and runs none.
func (s *Service) loop(ctx, work context.Context) {
	go s.rec.WatchDrift(ctx, s.poke)
	go s.rec.WatchPushSources(ctx, s.poke)
	go s.watchControls(ctx)
	if s.events != nil {
		go s.events.consume(ctx)
	}
	force := false
	var req *request
	// pending are the events taken since the last pass; eventPass fires
	// when their pass may run: --events-min-interval after the start of
	// the last pass that carried events, so a burst makes one pass per
	// interval, however many messages it sends.
	var pending []eventItem
	var eventPass <-chan time.Time
	var lastEvents time.Time
	for {
		started := time.Now()
		var res *reconciler.Result
		if s.suspended.Load() {
			s.log.Info().Msg("suspended: pass skipped")
		} else {
			s.live.begin()
			r := s.pass(work, force)
			s.live.end()
			s.metrics.record(r)
			s.ready.record(r)
			res = &r
		}
		if req != nil {
			s.answer(ctx, *req, res)
			req = nil
		}
		if pending != nil {
			s.events.settle(ctx, pending, res)
			pending, eventPass, lastEvents = nil, nil, started
		}
		force = false
		poll := time.NewTimer(s.jittered(s.cfg.Interval))
		var refresh <-chan time.Time
		if s.schedule != nil {
			next := s.schedule.Next(time.Now())
			refresh = time.After(time.Until(next) + s.jittered(0))
		}
	wait:
		select {
		case <-ctx.Done():
			poll.Stop()
			s.log.Info().Msg("stopping")
			return
		case <-poll.C:
		case <-refresh:
			force = true
		case <-s.trigger:
			poll.Stop()
			time.Sleep(300 * time.Millisecond) // let a burst of triggers coalesce
		case r := <-s.requests:
			poll.Stop()
			req, force = &r, r.refresh
		case b := <-s.eventBatches():
			// Events that name no ExternalSecret are settled at once, and
			// cost no pass; the others wait for the event bound and then
			// share one targeted pass (or ride on any pass before it).
			pending = append(pending, s.events.take(ctx, b)...)
			if pending != nil && eventPass == nil {
				eventPass = time.After(time.Until(lastEvents.Add(s.cfg.EventsMinInterval)))
			}
			if pending != nil {
				s.log.Debug().Int("events", len(pending)).Msg("events wait for their pass (--events-min-interval)")
			}
			goto wait
		case <-eventPass:
			poll.Stop()
		}
	}
}

// jittered adds up to --jitter of d (or of the poll interval when d is 0).
func (s *Service) jittered(d time.Duration) time.Duration {
	base := d
	if base == 0 {
		base = s.cfg.Interval
	}
	if s.cfg.Jitter <= 0 {
		return d
	}
	return d + time.Duration(rand.Float64()*s.cfg.Jitter*float64(base))
}

// LabelLeader marks the leader's pod, so that the webhook Service, which
// selects it, sends pushes to the replica that acts on them.
const LabelLeader = "secretsync.io/leader"

// markLeader labels this pod as the leader when it runs in a pod
// (POD_NAME and POD_NAMESPACE from the downward API). A pod that loses the
// lease exits, and its replacement starts without the label.
func (s *Service) markLeader(ctx context.Context) {
	name, ns := os.Getenv("POD_NAME"), os.Getenv("POD_NAMESPACE")
	if name == "" || ns == "" {
		return
	}
	patch := []byte(`{"metadata":{"labels":{"` + LabelLeader + `":"true"}}}`)
	if _, err := s.kube.CoreV1().Pods(ns).Patch(ctx, name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}); err != nil {
		s.log.Warn().Err(err).Msg("could not label this pod as the leader; webhooks may reach a standby")
	}
}
