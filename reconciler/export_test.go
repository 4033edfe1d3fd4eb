package reconciler

import (
	"time"

	"k8s.io/client-go/rest"

	"github.com/secretsync/secretsync/plan"
)

// testConfig lets internal tests reach the control plane TestMain started.
var testConfig *rest.Config

// SetTestConfig is for TestMain only.
func SetTestConfig(c *rest.Config) { testConfig = c }

// SetPartSize makes parts of n ExternalSecrets until the test ends.
func SetPartSize(t interface{ Cleanup(func()) }, n int) {
	old := partSize
	partSize = n
	t.Cleanup(func() { partSize = old })
}

// SetBeforeCreate runs fn in the window between a pass's LIST and its
// create of a new Secret, until the test ends.
func SetBeforeCreate(t interface{ Cleanup(func()) }, fn func(namespace, name string)) {
	beforeCreate = fn
	t.Cleanup(func() { beforeCreate = nil })
}

// SetNow replaces r's clock.
func SetNow(r *Reconciler, now func() time.Time) { r.now = now }

// SetShardBytes cuts the inventory record into shards of n bytes until
// the test ends.
func SetShardBytes(t interface{ Cleanup(func()) }, n int) {
	old := shardBytes
	shardBytes = n
	t.Cleanup(func() { shardBytes = old })
}

// SetOnAction makes fn see every action of the plan r's passes execute.
func SetOnAction(r *Reconciler, fn func(plan.Action)) { r.onAction = fn }

// PushWatchUp reports every source watch the last pass asked for running.
func (r *Reconciler) PushWatchUp() bool { return r.push.WatchUp() }
