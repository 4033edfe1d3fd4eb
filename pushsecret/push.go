package pushsecret

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/secretsync/secretsync/cluster"
	"github.com/secretsync/secretsync/desired"
	"github.com/secretsync/secretsync/internal/parallel"
	"github.com/secretsync/secretsync/inventory"
	"github.com/secretsync/secretsync/providers"
	"github.com/secretsync/secretsync/render"
)

// run is one pass of Push.
type run struct {
	*Pusher
	Pass
	stores   map[desired.StoreKey]*render.SecretStore
	rewrites *desired.PushBudget // the pass's dataTo rewrites, an account a namespace (planAll)
	// claims are the properties the steps' rows write, by namespace, store
	// and remote key (claimsOf): what a push replacing a whole secret keeps.
	claims map[string][]string
	turns  *turns // the order of pushes of one remote secret (newTurns)
}

// event is one Event a PushSecret's push asks for.
type event struct{ ps, typ, reason, msg string }

// pushed is what one PushSecret's step left once executed: its rows, its
// state for the next pass, and what the pass reports of it.
type pushed struct {
	rows    []inventory.PushRow
	state   *state
	err     error
	count   int
	events  []event
	actions []Action
}

func comparePushRows(a, b inventory.PushRow) int { return strings.Compare(a.Key(), b.Key()) }

// Push decides every PushSecret's step (planAll reads the sources, decide
// chooses), executes those that push, and returns the rows for the
// inventory: the pushed ones, those carried over, and those whose deletion
// was refused or failed (so that a later pass tries again), with the
// actions it took. PushSecrets are planned and pushed concurrently (at
// most Config.Concurrency at a time), each into its own slot; what they
// did is merged in their order afterwards.
func (p *Pusher) Push(ctx context.Context, in Pass) Outcome {
	// Events from here on make the next pass due; this one reads them.
	p.watch.lastGen.Store(p.watch.gen.Load())
	p.watch.dirty.Store(false)
	defer p.watch.indexSources(in.Set.PushSecrets, p.cfg.Namespaces)
	r := &run{Pusher: p, Pass: in, stores: desired.IndexStores(in.Set)}
	pss := in.Set.PushSecrets
	steps := r.decideAll(ctx)
	r.claims = r.claimsOf(steps)
	done := make([]pushed, len(pss))
	r.turns = newTurns(steps, r.entryKey)
	r.each(len(pss), func(i int) { done[i] = r.execute(ctx, i, pss[i], steps[i]) })
	var out Outcome
	states := make(map[string]*state, len(pss))
	var events []event
	for i, ps := range pss {
		states[ps.ID()] = done[i].state
		out.Rows = append(out.Rows, done[i].rows...)
		out.Pushed += done[i].count
		out.Actions = append(out.Actions, done[i].actions...)
		if done[i].err != nil {
			out.Failed = append(out.Failed, done[i].err)
			out.FailedIDs = append(out.FailedIDs, ps.ID())
		}
		events = append(events, done[i].events...)
	}
	p.states = states
	r.record(ctx, events)
	out.Rows = append(out.Rows, r.prune(ctx, out.Rows, &out)...)
	slices.SortFunc(out.Rows, comparePushRows)
	p.remotes = remoteIndex(out.Rows, r.stores, r.cfg.OwnNamespaces)
	for i := range out.Actions {
		out.Actions[i] = r.redact(out.Actions[i])
	}
	return out
}

// decideAll is the step of every PushSecret of the pass: each one's plan
// (planAll: its sources read, its writes made), then decide, which calls
// nothing. Push executes them; Diff asks what they would do.
func (r *run) decideAll(ctx context.Context) []step {
	oldBy := map[string][]inventory.PushRow{}
	for _, row := range r.Old {
		oldBy[row.PushSecret] = append(oldBy[row.PushSecret], row)
	}
	plans := r.planAll(ctx, oldBy)
	now := r.cfg.Now()
	steps := make([]step, len(plans))
	for i, ps := range r.Set.PushSecrets {
		steps[i] = decide(ps, &plans[i], r.states[ps.ID()], oldBy[ps.ID()], r.stores, r.Redactor, now)
	}
	return steps
}

// planAll plans every PushSecret of the pass (plan), then refuses those
// that push to a remote secret PushSecrets of another namespace push to:
// what decide reads.
func (r *run) planAll(ctx context.Context, oldBy map[string][]inventory.PushRow) []pushPlan {
	pss := r.Set.PushSecrets
	nsLabels := cluster.NamespaceLabels(ctx, r.cfg.Kube)
	gens := desired.IndexGenerators(r.Set)
	r.rewrites = desired.NewPushBudget(ctx)
	plans := make([]pushPlan, len(pss))
	r.each(len(pss), func(i int) { plans[i] = r.plan(ctx, pss[i], gens, nsLabels, oldBy[pss[i].ID()]) })
	planOf := make(map[string]*pushPlan, len(pss))
	for i, ps := range pss {
		planOf[ps.ID()] = &plans[i]
	}
	// One that keeps, fails or backs off holds what its rows record (dataTo
	// names them after source keys, which Git does not show) and what Git names.
	shared := desired.SharedRemotes(pss, r.stores, func(ps *render.PushSecret) []desired.PushRemote {
		if pl := planOf[ps.ID()]; pl.err == nil && !pl.kept && !pl.waits {
			return desired.EntryRemotes(pl.entries)
		}
		return heldRemotes(ps, r.stores, oldBy[ps.ID()])
	})
	for i, ps := range pss {
		if shared[ps.ID()] != nil && plans[i].err == nil {
			plans[i].err = *shared[ps.ID()]
		}
	}
	r.onePolicyPerSecret(pss, plans)
	return plans
}

// heldRemotes are the remote secrets a PushSecret that does not push this
// pass still holds, for SharedRemotes: those Git names, and those its rows
// record (dataTo named them after its source's keys).
func heldRemotes(ps *render.PushSecret, stores map[desired.StoreKey]*render.SecretStore, old []inventory.PushRow) []desired.PushRemote {
	out := desired.StaticRemotes(ps, stores)
	for _, row := range old {
		if row.RemoteKey != "" {
			out = append(out, desired.PushRemote{Field: "spec.dataTo (as last pushed)", Store: storeKeyOfString(row.Store), RemoteKey: row.RemoteKey, Property: row.Property})
		}
	}
	return out
}

// redact scrubs a's names and reason of the pass's values.
func (r *run) redact(a Action) Action {
	a.RemoteKey, a.Reason = r.Redactor.String(a.RemoteKey), r.Redactor.String(a.Reason)
	return a
}

// claimsOf is what the rows of steps write: the properties of each AWS
// secret (AWSKey), by namespace (claimKey), of the rows that push this
// pass or wrote it and vouch for it; a refused or failing row claims
// nothing a narrowing should keep.
func (r *run) claimsOf(steps []step) map[string][]string {
	out := map[string][]string{}
	for _, s := range steps {
		for _, row := range s.rows {
			if row.RemoteKey == "" || s.kind != push && !(row.Ready && row.LastPush != nil) {
				continue
			}
			ns, _, _ := strings.Cut(row.PushSecret, "/")
			k := claimKey(ns, desired.AWSKey(r.stores, storeKeyOfString(row.Store), row.RemoteKey))
			if !slices.Contains(out[k], row.Property) {
				out[k] = append(out[k], row.Property)
			}
		}
	}
	return out
}

func claimKey(ns, awsKey string) string { return ns + "\x00" + awsKey }

// turns order the pushes of one AWS secret (entryKey) across steps in the
// pass's order, so that the first of two PushSecrets writing properties of
// one new secret is the one that creates it, as Diff says. Only entries on
// a shared secret wait, each for the previous step's last entry there;
// everything else runs concurrently. A step waits only for lower ones,
// which parallel.Run started before it, so every wait ends.
type turns struct {
	keys [][]string                // each step's entries' AWS secrets
	prev map[turnKey]int           // (key, step): the step before it on key
	gate map[turnKey]chan struct{} // (key, step) a later step waits on: closed once step is done with key
}

type turnKey struct {
	key  string
	step int
}

// entryKey is the AWS secret e writes (desired.AWSKey): the key of its turns.
func (r *run) entryKey(e desired.PushEntry) string {
	return desired.AWSKey(r.stores, e.Store, e.RemoteKey)
}

func newTurns(steps []step, entryKey func(desired.PushEntry) string) *turns {
	t := &turns{keys: make([][]string, len(steps)), prev: map[turnKey]int{}, gate: map[turnKey]chan struct{}{}}
	last := map[string]int{}
	for i, s := range steps {
		t.keys[i] = make([]string, len(s.entries))
		for j, e := range s.entries {
			k := entryKey(e)
			t.keys[i][j] = k
			if p, ok := last[k]; ok && p != i {
				t.prev[turnKey{k, i}] = p
				if t.gate[turnKey{k, p}] == nil {
					t.gate[turnKey{k, p}] = make(chan struct{})
				}
			}
			last[k] = i
		}
	}
	return t
}

// wait is step's turn on key: when the step before it there is done.
func (t *turns) wait(ctx context.Context, step int, key string) error {
	j, ok := t.prev[turnKey{key, step}]
	if !ok {
		return nil
	}
	select {
	case <-t.gate[turnKey{key, j}]:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// done ends step's turn on key, for the step that waits on it, if any.
func (t *turns) done(step int, key string) {
	if g := t.gate[turnKey{key, step}]; g != nil {
		close(g)
	}
}

// each runs job(0) to job(n-1), at most Config.Concurrency at a time.
func (r *run) each(n int, job func(i int)) {
	jobs := make([]func(), n)
	for i := range jobs {
		jobs[i] = func() { job(i) }
	}
	parallel.Run(r.cfg.Concurrency, jobs)
}

// record records the Events the pushes asked for.
func (r *run) record(ctx context.Context, events []event) {
	jobs := make([]func(), len(events))
	for i, e := range events {
		jobs[i] = func() { r.cfg.Events(ctx, eventRef(e.ps), e.typ, e.reason, e.msg) }
	}
	parallel.Run(r.cfg.Concurrency, jobs)
}

// execute runs s for ps: a push step's entries through their stores'
// providers; any other step is already what the pass does (no call).
func (r *run) execute(ctx context.Context, at int, ps *render.PushSecret, s step) pushed {
	id := ps.ID()
	if s.kind != push {
		return pushed{rows: s.rows, state: s.state, err: s.err, events: s.events, actions: s.actions(id)}
	}
	now := r.cfg.Now()
	one := pushed{rows: s.rows, actions: s.actions(id)}
	errs := r.pushEntries(ctx, at, ps, s, now, &one)
	if len(errs) > 0 {
		one.err = r.Redactor.Error(fmt.Errorf("PushSecret %s (%s): %w", id, ps.Source, errors.Join(errs...)))
		one.events = append(one.events, event{id, corev1.EventTypeWarning, "PushFailed", one.err.Error()})
		one.state = r.states[id].failed(*s.state, one.err, now)
		return one
	}
	one.state = s.state
	return one
}

// held is the state of a PushSecret backing off, as its last failure left
// it, with the PushSecret as rendered now.
func (st *state) held(ps *render.PushSecret) *state {
	next := *st
	if next.ps != nil {
		next.ps = ps
	}
	return &next
}

// vouched reports whether the remote secrets of pl's rows are known to
// hold what pl pushes and not due for a check, and since when: in memory
// (prev), the same values pushed without failure or event; after a
// restart (no prev), the rows as the inventory recorded them (trustRows).
// Every row must be recorded, so that the rows kept are whole.
func vouched(prev *state, pl *pushPlan, rows []inventory.PushRow, last map[string]inventory.PushRow, interval time.Duration, now time.Time) (time.Time, bool) {
	for _, row := range rows {
		if _, ok := last[row.Key()]; !ok {
			return time.Time{}, false
		}
	}
	if prev != nil {
		ok := prev.failures == 0 && !prev.touched && prev.sum == pl.sum && !refreshDue(interval, prev.last, now)
		return prev.last, ok
	}
	return trustRows(rows, last, pl.synced, interval, now)
}

// trustRows reports whether the recorded rows vouch, across a restart, for
// the remote secrets rows name: each ready, checked (by a push or a
// comparison) with the same synced digest and not due (plan.Refresh: a
// check time ahead of now is due); it returns the oldest check. A row without them or
// without its remote name (an older record) vouches for nothing: that PushSecret is
// pushed, as before, and its rows gain the name.
func trustRows(rows []inventory.PushRow, last map[string]inventory.PushRow, synced string, interval time.Duration, now time.Time) (time.Time, bool) {
	var at time.Time
	for _, row := range rows {
		o := last[row.Key()]
		if !o.Ready || o.Synced != synced || o.Checked == nil || o.RemoteName == "" || refreshDue(interval, o.Checked.Time, now) {
			return time.Time{}, false
		}
		if at.IsZero() || o.Checked.Time.Before(at) {
			at = o.Checked.Time
		}
	}
	return at, len(rows) > 0
}

// failedRows are the rows of a PushSecret refused before it pushed: its
// rows as they were (nothing it wrote is pruned for it), one for each
// remote secret (and property) Git names for it that none covers, or one
// without a remote key, so that status shows it refused.
func failedRows(ps *render.PushSecret, stores map[desired.StoreKey]*render.SecretStore, old []inventory.PushRow) []inventory.PushRow {
	rows := slices.Clone(old)
	have := map[string]bool{}
	for _, row := range old {
		have[row.Key()] = true
	}
	for _, rm := range desired.StaticRemotes(ps, stores) {
		row := inventory.PushRow{PushSecret: ps.ID(), Source: ps.Source, Store: rm.Store.String(), RemoteKey: rm.RemoteKey, Property: rm.Property, Delete: ps.Deletes()}
		if !have[row.Key()] {
			have[row.Key()] = true
			rows = append(rows, row)
		}
	}
	if len(rows) == 0 {
		rows = append(rows, inventory.PushRow{PushSecret: ps.ID(), Source: ps.Source})
	}
	return rows
}

// pushEntries writes each entry through its store's provider and fills its
// row in one; it returns the errors.
func (r *run) pushEntries(ctx context.Context, at int, ps *render.PushSecret, s step, now time.Time, one *pushed) []error {
	var errs []error
	keys := r.turns.keys[at]
	lastOn := map[string]int{} // each remote secret's last entry: the step's turn there ends after it
	for i, k := range keys {
		lastOn[k] = i
	}
	for i := range s.entries {
		if err := r.pushEntry(ctx, at, keys[i], ps, s, i, now, one); err != nil {
			errs = append(errs, err)
		}
		if lastOn[keys[i]] == i {
			r.turns.done(at, keys[i])
		}
	}
	return errs
}

// pushEntry writes s's entry i, in its turn on that remote secret (key),
// through its store's provider and fills its row in one.
func (r *run) pushEntry(ctx context.Context, at int, key string, ps *render.PushSecret, s step, i int, now time.Time, one *pushed) error {
	e, row := s.entries[i], &one.rows[i]
	prev := s.last[row.Key()]
	// Until this push succeeds, the row names what the last one wrote.
	row.LastPush, row.RemoteName = prev.LastPush, prev.RemoteName
	var did providers.Pushed
	var remoteKey string
	pusher, err := r.pusher(ctx, r.stores[e.Store], e.Store, ps.Namespace)
	if err == nil {
		err = r.turns.wait(ctx, at, key)
	}
	if err == nil {
		remoteKey = pusher.(providers.Provider).Canonical(providers.Ref{Key: e.RemoteKey}).Key
		did, err = pusher.Push(ctx, r.pushOf(ps, e, remoteKey, s.policies))
		one.actions[i] = resolved(one.actions[i], did, err)
		if err != nil {
			err = fmt.Errorf("push %s to %s: %w", e.Field, e.Store, err)
		}
	} else {
		one.actions[i] = resolved(one.actions[i], did, err)
	}
	if err != nil {
		row.Reason, row.Message, row.Synced = reasonFailed, r.Redactor.String(err.Error()), ""
		row.RemoteName = recordedName(prev.RemoteName, remoteKey, false)
		return err
	}
	checked := metav1.NewTime(now)
	row.Ready, row.Reason, row.Checked = true, string(did), &checked
	if prev.RemoteName != "" && prev.RemoteName != remoteKey {
		// The store's prefix moved: what was written is the old name's,
		// which prune deletes; this one was written only if did says so.
		row.LastPush = nil
	}
	row.RemoteName = remoteKey
	if did == providers.Created || did == providers.Updated {
		t := metav1.NewTime(now)
		row.LastPush = &t
		one.count++
		one.events = append(one.events, event{ps.ID(), corev1.EventTypeNormal, "Pushed", fmt.Sprintf("%s %s in %s from Secret %s", did, remoteKey, e.Store, row.Secret)})
	}
	return nil
}

// recordedName is the remote name a row records after its push: the name
// it pushed (pushed), or, after a failure, the name its last push wrote,
// which stays paired with its LastPush; a row that never wrote names the
// one it writes now (now, "" when its store cannot say), so that what it
// claims is held against the deletions of the rows it replaces
// (pruneVerdict), in the pass and in Diff alike.
func recordedName(last, now string, pushed bool) string {
	if pushed || last == "" {
		return now
	}
	return last
}

// pusher is the provider that writes to the store key names, for a
// PushSecret of namespace ns.
func (r *run) pusher(ctx context.Context, st *render.SecretStore, key desired.StoreKey, ns string) (providers.Pusher, error) {
	// A store that fails PushProblems is refused before any push; one that
	// left Git since is still missing here.
	if st == nil || !desired.Service(st).Pushes() {
		return nil, fmt.Errorf("%s is not a SecretsManager store in the rendered manifests", key)
	}
	p, err := r.cfg.Provider(ctx, st, ns)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	pusher, ok := p.(providers.Pusher)
	if !ok {
		return nil, fmt.Errorf("%s cannot be written to", key)
	}
	return pusher, nil
}
