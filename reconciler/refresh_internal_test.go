package reconciler

import (
	"testing"
	"time"

	"github.com/secretsync/secretsync/render"
)

// TestTheRefreshRuleIsESOs holds refreshCheck.due, the one rule for
// ExternalSecrets and generators, to ESO 2.9.0's shouldRefresh and
// shouldRefreshPeriodic, branch by branch.
func TestTheRefreshRuleIsESOs(t *testing.T) {
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	hour := time.Hour
	cases := []struct {
		name string
		c    refreshCheck
		want bool
	}{
		{"never synced: due, whatever the policy (CreatedOnce)", refreshCheck{policy: "CreatedOnce"}, true},
		{"never synced: due (OnChange)", refreshCheck{policy: "OnChange"}, true},
		{"never synced: due (interval 0)", refreshCheck{interval: 0}, true},
		{"CreatedOnce, synced: never again, a change included", refreshCheck{policy: "CreatedOnce", synced: true, at: now.Add(-48 * hour), changed: true, touched: true}, false},
		{"OnChange, synced and unchanged: not due, however old", refreshCheck{policy: "OnChange", interval: hour, synced: true, at: now.Add(-48 * hour)}, false},
		{"OnChange, an AWS event alone: not due", refreshCheck{policy: "OnChange", interval: hour, synced: true, at: now.Add(-48 * hour), touched: true}, false},
		{"OnChange, changed: due", refreshCheck{policy: "OnChange", synced: true, at: now, changed: true}, true},
		{"interval 0, synced: never again, a change included", refreshCheck{interval: 0, synced: true, at: now.Add(-48 * hour), changed: true, touched: true}, false},
		{"Periodic interval 0, synced: never again", refreshCheck{policy: "Periodic", synced: true, at: now.Add(-48 * hour), changed: true}, false},
		{"Periodic, changed: due at once", refreshCheck{policy: "Periodic", interval: hour, synced: true, at: now, changed: true}, true},
		{"Periodic, within the interval: not due", refreshCheck{policy: "Periodic", interval: hour, synced: true, at: now.Add(-59 * time.Minute)}, false},
		{"no policy, exactly one interval since: not due (ESO's strict Before)", refreshCheck{interval: hour, synced: true, at: now.Add(-hour)}, false},
		{"no policy, past the interval: due", refreshCheck{interval: hour, synced: true, at: now.Add(-hour - time.Second)}, true},
		{"Periodic, refresh time in the future: due", refreshCheck{interval: hour, synced: true, at: now.Add(time.Minute)}, true},
		{"Periodic, refresh time not known: due", refreshCheck{interval: hour, synced: true}, true},
		{"Periodic, an AWS event: due (secretsync's events; ESO has none)", refreshCheck{interval: hour, synced: true, at: now, touched: true}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := c.c.due(now); got != c.want {
				t.Fatalf("due = %v, want %v", got, c.want)
			}
		})
	}
}

// TestTheResourceVersionIsESOs: ESO's GetResourceVersion covers the
// generation (the spec) and the labels and annotations; the file an
// ExternalSecret is in is not part of it.
func TestTheResourceVersionIsESOs(t *testing.T) {
	base := func() *render.ExternalSecret {
		es := &render.ExternalSecret{Source: "a.yaml"}
		es.Name, es.Namespace = "app", "team"
		es.Labels = map[string]string{"team": "a"}
		es.Spec.RefreshPolicy = "OnChange"
		return es
	}
	v := versionOf(base())
	changes := []struct {
		name string
		edit func(*render.ExternalSecret)
		same bool
	}{
		{"the same object", func(*render.ExternalSecret) {}, true},
		{"another file", func(es *render.ExternalSecret) { es.Source = "b.yaml" }, true},
		{"a spec field", func(es *render.ExternalSecret) { es.Spec.RefreshPolicy = "Periodic" }, false},
		{"a label", func(es *render.ExternalSecret) { es.Labels["team"] = "b" }, false},
		{"an annotation (ESO's force-sync)", func(es *render.ExternalSecret) { es.Annotations = map[string]string{"force-sync": "1"} }, false},
	}
	for _, c := range changes {
		t.Run(c.name, func(t *testing.T) {
			es := base()
			c.edit(es)
			if got := versionOf(es) == v; got != c.same {
				t.Fatalf("same version = %v, want %v", got, c.same)
			}
			if back, ok := parseVersion(versionOf(es).String()); !ok || back != versionOf(es) {
				t.Fatal("the version does not read back from its string")
			}
		})
	}
}
