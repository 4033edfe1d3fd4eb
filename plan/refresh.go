package plan

import "time"

// Refresh is what ESO's shouldRefresh reads of one ExternalSecret (or of a
// PushSecret, whose refresh is periodic only).
type Refresh struct {
	Policy   string        // spec.refreshPolicy
	Interval time.Duration // spec.refreshInterval, or the configured default
	Synced   bool          // values were fetched before (ESO: a syncedResourceVersion)
	At       time.Time     // when (ESO: refreshTime); zero: not known
	// Changed: the resource version is not the one they were fetched for,
	// or a force asked (`reconcile --refresh`, --schedule), which ESO's
	// force-sync annotation does by changing it.
	Changed bool
	// Touched: an AWS event named one of its remote secrets.
	Touched bool
}

// Due is the one refresh rule, for ExternalSecrets, their generators and
// PushSecrets: ESO 2.9.0's shouldRefresh and shouldRefreshPeriodic.
// CreatedOnce is fetched once; OnChange again when it changes; an interval
// of 0 (with Periodic or no policy) once, a change included; Periodic with
// an interval on a change, on an AWS event (not ESO's: it has none), or
// once the interval has passed since the last refresh (or that time is in
// the future).
func (c Refresh) Due(now time.Time) bool {
	if !c.Synced {
		return true
	}
	switch c.Policy {
	case "CreatedOnce":
		return false
	case "OnChange":
		return c.Changed
	}
	if c.Interval <= 0 {
		return false
	}
	return c.Changed || c.Touched || c.At.IsZero() || c.At.After(now) || c.At.Add(c.Interval).Before(now)
}

// Periodic reports whether time alone makes a refresh of this policy and
// interval due.
func Periodic(policy string, interval time.Duration) bool {
	return policy != "CreatedOnce" && policy != "OnChange" && interval > 0
}

// CreatedOnce reports whether a policy fetches only once: with no state
// known, such an ExternalSecret's Secret stands for its values.
func CreatedOnce(policy string) bool { return policy == "CreatedOnce" }
