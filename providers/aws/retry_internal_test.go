package aws

import (
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// TestRetryIntervalIsAFixedDelay: with a positive interval every retry
// waits exactly that long, as ESO's fixedDelayer; without one the SDK's
// jittered backoff stays.
func TestRetryIntervalIsAFixedDelay(t *testing.T) {
	throttled := errors.New("throttled")
	r := (&Retry{MaxAttempts: 4, Interval: 7 * time.Second}).retryer()
	if r.MaxAttempts() != 4 {
		t.Fatalf("max attempts = %d, want 4", r.MaxAttempts())
	}
	for attempt := 1; attempt <= 3; attempt++ {
		if d, err := r.RetryDelay(attempt, throttled); err != nil || d != 7*time.Second {
			t.Fatalf("attempt %d: delay %s (%v), want 7s", attempt, d, err)
		}
	}
	var sdk aws.Retryer = (&Retry{MaxAttempts: 2}).retryer()
	if d, err := sdk.RetryDelay(1, throttled); err != nil || d > 20*time.Second {
		t.Fatalf("without an interval: delay %s (%v), want the SDK's backoff (at most 20s)", d, err)
	}
}
