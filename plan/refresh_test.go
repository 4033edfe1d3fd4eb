package plan

import (
	"testing"
	"time"
)

// TestTheRefreshRuleIsESOs holds Refresh.Due, the one rule for
// ExternalSecrets and generators, to ESO 2.9.0's shouldRefresh and
// shouldRefreshPeriodic, branch by branch.
func TestTheRefreshRuleIsESOs(t *testing.T) {
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	hour := time.Hour
	cases := []struct {
		name string
		c    Refresh
		want bool
	}{
		{"never synced: due, whatever the policy (CreatedOnce)", Refresh{Policy: "CreatedOnce"}, true},
		{"never synced: due (OnChange)", Refresh{Policy: "OnChange"}, true},
		{"never synced: due (interval 0)", Refresh{Interval: 0}, true},
		{"CreatedOnce, synced: never again, a change included", Refresh{Policy: "CreatedOnce", Synced: true, At: now.Add(-48 * hour), Changed: true, Touched: true}, false},
		{"OnChange, synced and unchanged: not due, however old", Refresh{Policy: "OnChange", Interval: hour, Synced: true, At: now.Add(-48 * hour)}, false},
		{"OnChange, an AWS event alone: not due", Refresh{Policy: "OnChange", Interval: hour, Synced: true, At: now.Add(-48 * hour), Touched: true}, false},
		{"OnChange, changed: due", Refresh{Policy: "OnChange", Synced: true, At: now, Changed: true}, true},
		{"interval 0, synced: never again, a change included", Refresh{Interval: 0, Synced: true, At: now.Add(-48 * hour), Changed: true, Touched: true}, false},
		{"Periodic interval 0, synced: never again", Refresh{Policy: "Periodic", Synced: true, At: now.Add(-48 * hour), Changed: true}, false},
		{"Periodic, changed: due at once", Refresh{Policy: "Periodic", Interval: hour, Synced: true, At: now, Changed: true}, true},
		{"Periodic, within the interval: not due", Refresh{Policy: "Periodic", Interval: hour, Synced: true, At: now.Add(-59 * time.Minute)}, false},
		{"no policy, exactly one interval since: not due (ESO's strict Before)", Refresh{Interval: hour, Synced: true, At: now.Add(-hour)}, false},
		{"no policy, past the interval: due", Refresh{Interval: hour, Synced: true, At: now.Add(-hour - time.Second)}, true},
		{"Periodic, refresh time in the future: due", Refresh{Interval: hour, Synced: true, At: now.Add(time.Minute)}, true},
		{"Periodic, refresh time not known: due", Refresh{Interval: hour, Synced: true}, true},
		{"Periodic, an AWS event: due (secretsync's events; ESO has none)", Refresh{Interval: hour, Synced: true, At: now, Touched: true}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := c.c.Due(now); got != c.want {
				t.Fatalf("Due = %v, want %v", got, c.want)
			}
		})
	}
}
