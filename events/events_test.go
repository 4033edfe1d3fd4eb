package events_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/secretsync/secretsync/events"
)

func TestParse(t *testing.T) {
	for _, c := range []struct {
		name, body string
		service    string
		names      []string
		listing    bool
		err        error
	}{
		{"PutSecretValue by ARN", `{"source":"aws.secretsmanager","detail-type":"AWS API Call via CloudTrail","time":"2026-11-29T10:00:00Z","detail":{"eventSource":"secretsmanager.amazonaws.com","eventName":"PutSecretValue","requestParameters":{"secretId":"arn:aws:secretsmanager:eu-west-1:111122223333:secret:prod/db-AbC123","clientRequestToken":"x"},"responseElements":{"arn":"arn:aws:secretsmanager:eu-west-1:111122223333:secret:prod/db-AbC123"}}}`,
			"secretsmanager", []string{"prod/db"}, false, nil},
		{"RotationSucceeded", `{"source":"aws.secretsmanager","detail-type":"AWS Service Event via CloudTrail","detail":{"eventSource":"secretsmanager.amazonaws.com","eventName":"RotationSucceeded","additionalEventData":{"SecretId":"arn:aws:secretsmanager:eu-west-1:1:secret:app/token-zzzzzz"}}}`,
			"secretsmanager", []string{"app/token"}, false, nil},
		{"TagResource can change a find", `{"source":"aws.secretsmanager","detail-type":"AWS API Call via CloudTrail","detail":{"eventSource":"secretsmanager.amazonaws.com","eventName":"TagResource","requestParameters":{"secretId":"team/x"}}}`,
			"secretsmanager", []string{"team/x"}, true, nil},
		{"PutParameter", `{"source":"aws.ssm","detail-type":"AWS API Call via CloudTrail","detail":{"eventSource":"ssm.amazonaws.com","eventName":"PutParameter","requestParameters":{"name":"/prod/db","type":"SecureString","overwrite":true}}}`,
			"ssm", []string{"/prod/db"}, true, nil},
		{"Parameter Store Change", `{"source":"aws.ssm","detail-type":"Parameter Store Change","detail":{"name":"/prod/api","type":"String","operation":"Update"}}`,
			"ssm", []string{"/prod/api"}, false, nil},
		{"a read changes nothing", `{"source":"aws.secretsmanager","detail-type":"AWS API Call via CloudTrail","detail":{"eventSource":"secretsmanager.amazonaws.com","eventName":"GetSecretValue","requestParameters":{"secretId":"a"}}}`,
			"", nil, false, events.ErrForeign},
		{"another service", `{"source":"aws.s3","detail-type":"Object Created","detail":{"bucket":{"name":"b"}}}`, "", nil, false, events.ErrForeign},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := events.Parse([]byte(c.body))
			if c.err != nil {
				if !errors.Is(err, c.err) {
					t.Fatalf("err %v, want %v", err, c.err)
				}
				return
			}
			if err != nil || got.Service != c.service || !slices.Equal(got.Names, c.names) || got.Listing != c.listing {
				t.Fatalf("got %+v, %v", got, err)
			}
		})
	}
	if _, err := events.Parse([]byte("not json")); err == nil || errors.Is(err, events.ErrForeign) {
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
