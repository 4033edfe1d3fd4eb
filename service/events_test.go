package service

import (
	"maps"
	"slices"
	"strings"
	"testing"
)

// TestEventAccountsComeFromTheFlagOrTheQueue: --events-accounts wins; else
// the queue URL's account; a queue URL with none is an error that says
// which flag to set.
func TestEventAccountsComeFromTheFlagOrTheQueue(t *testing.T) {
	for _, c := range []struct {
		name, list, queue string
		want              []string
		err               string
	}{
		{"the flag's list", "111122223333, 444455556666", "https://sqs.eu-west-1.amazonaws.com/999988887777/q", []string{"111122223333", "444455556666"}, ""},
		{"the queue's account by default", "", "https://sqs.eu-west-1.amazonaws.com/999988887777/secretsync-events", []string{"999988887777"}, ""},
		{"a queue URL with no account", "", "https://sqs.example/1/q", nil, "--events-accounts"},
		{"a bad id in the flag", "1111", "https://sqs.eu-west-1.amazonaws.com/999988887777/q", nil, `--events-accounts: account id "1111"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := eventAccounts(c.list, c.queue)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("err %v, want one naming %q", err, c.err)
				}
				return
			}
			if err != nil || !slices.Equal(slices.Sorted(maps.Keys(got)), c.want) {
				t.Fatalf("got %v, %v; want %v", got, err, c.want)
			}
		})
	}
}
