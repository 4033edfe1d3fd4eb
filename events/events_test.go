package events_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/secretsync/secretsync/events"
)

// ours is the account the instance reads in these tests.
var ours = events.Accounts{"111122223333": true}

func TestParse(t *testing.T) {
	for _, c := range []struct {
		name, body string
		service    string
		names      []string
		listing    bool
		err        error
	}{
		{"PutSecretValue by ARN", `{"account":"111122223333","source":"aws.secretsmanager","detail-type":"AWS API Call via CloudTrail","time":"2026-11-29T10:00:00Z","detail":{"eventSource":"secretsmanager.amazonaws.com","eventName":"PutSecretValue","recipientAccountId":"111122223333","requestParameters":{"secretId":"arn:aws:secretsmanager:eu-west-1:111122223333:secret:prod/db-AbC123","clientRequestToken":"x"},"responseElements":{"arn":"arn:aws:secretsmanager:eu-west-1:111122223333:secret:prod/db-AbC123"}}}`,
			"secretsmanager", []string{"prod/db"}, false, nil},
		{"RotationSucceeded", `{"account":"111122223333","source":"aws.secretsmanager","detail-type":"AWS Service Event via CloudTrail","detail":{"eventSource":"secretsmanager.amazonaws.com","eventName":"RotationSucceeded","additionalEventData":{"SecretId":"arn:aws:secretsmanager:eu-west-1:111122223333:secret:app/token-zzzzzz"}}}`,
			"secretsmanager", []string{"app/token"}, false, nil},
		{"TagResource can change a find", `{"account":"111122223333","source":"aws.secretsmanager","detail-type":"AWS API Call via CloudTrail","detail":{"eventSource":"secretsmanager.amazonaws.com","eventName":"TagResource","requestParameters":{"secretId":"team/x"}}}`,
			"secretsmanager", []string{"team/x"}, true, nil},
		{"PutParameter", `{"account":"111122223333","source":"aws.ssm","detail-type":"AWS API Call via CloudTrail","detail":{"eventSource":"ssm.amazonaws.com","eventName":"PutParameter","requestParameters":{"name":"/prod/db","type":"SecureString","overwrite":true}}}`,
			"ssm", []string{"/prod/db"}, true, nil},
		{"Parameter Store Change", `{"account":"111122223333","source":"aws.ssm","detail-type":"Parameter Store Change","detail":{"name":"/prod/api","type":"String","operation":"Update"}}`,
			"ssm", []string{"/prod/api"}, false, nil},
		{"a read changes nothing", `{"account":"111122223333","source":"aws.secretsmanager","detail-type":"AWS API Call via CloudTrail","detail":{"eventSource":"secretsmanager.amazonaws.com","eventName":"GetSecretValue","requestParameters":{"secretId":"a"}}}`,
			"", nil, false, events.ErrForeign},
		{"another service", `{"account":"111122223333","source":"aws.s3","detail-type":"Object Created","detail":{"bucket":{"name":"b"}}}`, "", nil, false, events.ErrForeign},

		// A failed call changed nothing.
		{"a PutSecretValue that was denied", `{"account":"111122223333","source":"aws.secretsmanager","detail-type":"AWS API Call via CloudTrail","detail":{"eventSource":"secretsmanager.amazonaws.com","eventName":"PutSecretValue","errorCode":"AccessDenied","errorMessage":"denied","requestParameters":{"secretId":"prod/db"}}}`,
			"", nil, false, events.ErrFailedCall},
		{"a PutParameter that failed", `{"account":"111122223333","source":"aws.ssm","detail-type":"AWS API Call via CloudTrail","detail":{"eventSource":"ssm.amazonaws.com","eventName":"PutParameter","errorCode":"ParameterAlreadyExists","requestParameters":{"name":"/prod/db"}}}`,
			"", nil, false, events.ErrFailedCall},
		{"a rotation step that failed", `{"account":"111122223333","source":"aws.secretsmanager","detail-type":"AWS API Call via CloudTrail","detail":{"eventSource":"secretsmanager.amazonaws.com","eventName":"UpdateSecretVersionStage","errorCode":"ResourceNotFoundException","requestParameters":{"secretId":"prod/db"}}}`,
			"", nil, false, events.ErrFailedCall},

		// Only the accounts the instance reads.
		{"an event of another account", `{"account":"999988887777","source":"aws.secretsmanager","detail-type":"AWS API Call via CloudTrail","detail":{"eventSource":"secretsmanager.amazonaws.com","eventName":"PutSecretValue","requestParameters":{"secretId":"prod/db"}}}`,
			"", nil, false, events.ErrOtherAccount},
		{"an event that names another account's secret", `{"account":"111122223333","source":"aws.secretsmanager","detail-type":"AWS API Call via CloudTrail","detail":{"eventSource":"secretsmanager.amazonaws.com","eventName":"PutSecretValue","requestParameters":{"secretId":"arn:aws:secretsmanager:eu-west-1:999988887777:secret:prod/db-AbC123"}}}`,
			"", nil, false, events.ErrOtherAccount},
		{"an event that another account's trail received", `{"account":"111122223333","source":"aws.secretsmanager","detail-type":"AWS API Call via CloudTrail","detail":{"eventSource":"secretsmanager.amazonaws.com","eventName":"PutSecretValue","recipientAccountId":"999988887777","requestParameters":{"secretId":"prod/db"}}}`,
			"", nil, false, events.ErrOtherAccount},
		{"another account's parameter", `{"account":"111122223333","source":"aws.ssm","detail-type":"AWS API Call via CloudTrail","detail":{"eventSource":"ssm.amazonaws.com","eventName":"DeleteParameters","requestParameters":{"names":["/prod/a","arn:aws:ssm:eu-west-1:999988887777:parameter/prod/b"]}}}`,
			"", nil, false, events.ErrOtherAccount},
		{"an event with no account", `{"source":"aws.ssm","detail-type":"Parameter Store Change","detail":{"name":"/prod/api","type":"String","operation":"Update"}}`,
			"", nil, false, events.ErrOtherAccount},
		{"another account's failed call is another account's", `{"account":"999988887777","source":"aws.secretsmanager","detail-type":"AWS API Call via CloudTrail","detail":{"eventSource":"secretsmanager.amazonaws.com","eventName":"PutSecretValue","errorCode":"AccessDenied","requestParameters":{"secretId":"prod/db"}}}`,
			"", nil, false, events.ErrOtherAccount},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := events.Parse([]byte(c.body), ours)
			if c.err != nil {
				if !errors.Is(err, c.err) {
					t.Fatalf("err %v, want %v", err, c.err)
				}
				if strings.Contains(err.Error(), "prod/") || strings.Contains(err.Error(), "{") {
					t.Fatalf("the error %q quotes the event", err)
				}
				return
			}
			if err != nil || got.Service != c.service || !slices.Equal(got.Names, c.names) || got.Listing != c.listing {
				t.Fatalf("got %+v, %v", got, err)
			}
		})
	}
	if _, err := events.Parse([]byte("not json"), ours); err == nil || errors.Is(err, events.ErrForeign) {
		t.Fatalf("a malformed body: %v", err)
	}
	for in, want := range map[string]string{
		"arn:aws:ssm:eu-west-1:1:parameter/prod/db": "/prod/db", "arn:aws:ssm:eu-west-1:1:parameter/plain": "plain", "/prod/db:3": "/prod/db",
	} {
		if got := events.ParameterName(in); got != want {
			t.Errorf("ParameterName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseAccounts(t *testing.T) {
	got, err := events.ParseAccounts(" 111122223333, 444455556666,")
	if err != nil || len(got) != 2 || !got["111122223333"] || !got["444455556666"] {
		t.Fatalf("got %v, %v", got, err)
	}
	for _, bad := range []string{"1111", "11112222333a", "arn:aws:iam::111122223333:root"} {
		if _, err := events.ParseAccounts(bad); err == nil || !strings.Contains(err.Error(), bad) {
			t.Errorf("ParseAccounts(%q): %v, want an error naming it", bad, err)
		}
	}
}
