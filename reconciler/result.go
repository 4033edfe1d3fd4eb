package reconciler

import (
	"time"

	"github.com/rs/zerolog"

	"github.com/secretsync/secretsync/internal/scrub"
	"github.com/secretsync/secretsync/inventory"
	"github.com/secretsync/secretsync/plan"
	"github.com/secretsync/secretsync/pushsecret"
)

// Stage is how far a pass got.
type Stage string

const (
	StageFetch   Stage = "fetch"
	StageRender  Stage = "render"
	StageResolve Stage = "resolve"
	StageApply   Stage = "apply"
	StagePrune   Stage = "prune"
	StageDone    Stage = "done"
	// StageSkipped: the revision is unchanged and no refresh is due.
	StageSkipped Stage = "skipped"
)

// Reason is the failure reason of the stage that failed.
type Reason string

const (
	FetchFailed   Reason = "FetchFailed"
	RenderFailed  Reason = "RenderFailed"
	ResolveFailed Reason = "ResolveFailed"
	ApplyFailed   Reason = "ApplyFailed"
	PruneFailed   Reason = "PruneFailed"
)

// Result is the outcome of one pass. It is recorded on every exit path.
type Result struct {
	Revision string
	Stage    Stage
	// Reason is empty for a fully successful pass; otherwise the first
	// stage that failed, even when later stages still ran for other objects.
	Reason Reason
	// Resolved counts ExternalSecrets whose values were fetched; the others
	// were not due for a refresh.
	Resolved  int
	Applied   int
	Unchanged int
	Pruned    int
	Failed    int
	// Pushed counts remote secrets a PushSecret created or updated;
	// PushDeleted, those deleted under deletionPolicy Delete.
	Pushed      int
	PushDeleted int
	// PushActions are what the pass did to each remote secret a PushSecret
	// writes (pushsecret.Action; keep included): what DiffPushes, asked
	// before on the same state, says it would do.
	PushActions []pushsecret.Action
	// PruneSkipped says why no prune ran, when none did.
	PruneSkipped string
	// PruneRefused lists the Secrets (namespace/name) a refused prune would
	// have deleted.
	PruneRefused []string
	Errors       []error
	Duration     time.Duration
	// Rollouts counts workloads patched to roll out on changed Secrets.
	Rollouts int
	// Managed is how many Secrets the inventory holds after the pass.
	Managed int
	// OtherObjects counts rendered objects that are not ESO's (ConfigMaps,
	// Deployments...), which secretsync leaves alone.
	OtherObjects int
	// AWSCalls counts the AWS API calls the pass made, by "<operation>
	// <outcome>", when the provider factory counts them.
	AWSCalls map[string]int64
	// Timings is how long each stage took. The resolve stage ends when the
	// first part of the values is fetched; the rest are fetched during the
	// apply stage, while earlier parts are written.
	Timings map[Stage]time.Duration
	// FetchTime is the time spent fetching remote values in all.
	FetchTime time.Duration

	stageStart time.Time
	outcomes   map[string]*outcome // by ExternalSecret namespace/name
	deleted    []inventory.Entry   // Secrets this pass deleted, for their Events
	takenOver  []takeover          // keys a merge took from another field manager
	costPer10k float64             // USD for 10,000 remote calls, for the log line
	pushFailed map[string]bool     // PushSecrets (namespace/name) whose push failed
	pushErrors int                 // how many of Errors are theirs
	// scrub knows the values of the pass: every error it records and
	// every line it logs goes through it. Pass drops it when it ends.
	scrub *scrub.Redactor
}

// enter moves the result to stage at now, timing the stage it leaves.
func (r *Result) enter(stage Stage, now time.Time) {
	if r.Timings == nil {
		r.Timings = map[Stage]time.Duration{}
	}
	if r.Stage != "" {
		r.Timings[r.Stage] += now.Sub(r.stageStart)
	}
	r.Stage, r.stageStart = stage, now
}

// OK reports a pass with no failure of any kind.
func (r Result) OK() bool { return r.Reason == "" }

// settled reports a pass whose only failures are PushSecrets': each
// retries at its own backoff (pushsecret's Due), so an unchanged revision
// needs no full pass on their account.
func (r Result) settled() bool { return r.OK() || len(r.Errors) == r.pushErrors }

// fail records a failure and returns err as recorded: scrubbed of the
// pass's values, for the caller's outcome.
func (r *Result) fail(reason Reason, err error) error {
	if r.Reason == "" {
		r.Reason = reason
	}
	err = r.scrub.Error(err)
	r.Errors = append(r.Errors, err)
	return err
}

// log writes the one summary line of a pass; errors follow, one line each,
// so that each names its object.
func (r Result) log(l zerolog.Logger) {
	for _, err := range r.Errors {
		l.Error().Str("revision", r.Revision).Str("stage", string(r.Stage)).Err(r.scrub.Error(err)).Msg("pass error")
	}
	ev := l.Info()
	if !r.OK() {
		ev = l.Warn().Str("reason", string(r.Reason))
	}
	if r.PruneSkipped != "" {
		ev = ev.Str("prune_skipped", r.PruneSkipped).Strs("prune_refused", r.PruneRefused)
	}
	var calls int64
	for _, n := range r.AWSCalls {
		calls += n
	}
	ev.Str("revision", r.Revision).
		Int64("aws_calls", calls).
		Float64("aws_cost_usd", float64(calls)*r.costPer10k/10000).
		Str("stage", string(r.Stage)).
		Int("resolved", r.Resolved).
		Int("applied", r.Applied).
		Int("unchanged", r.Unchanged).
		Int("pruned", r.Pruned).
		Int("failed", r.Failed).
		Int("rollouts", r.Rollouts).
		Int("other_objects", r.OtherObjects).
		Float64("duration_seconds", r.Duration.Seconds()).
		Msg("pass")
}

// takeover is one key a merging ExternalSecret overwrote while another
// field manager held it.
type takeover struct {
	target       plan.Target
	key, manager string
	es           string
}
