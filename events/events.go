// Package events reads the AWS change events that EventBridge sends to an
// SQS queue (CloudTrail API calls of Secrets Manager and Parameter Store,
// and Parameter Store change events) into the names of what changed. It
// never sees a value: these events carry names, ARNs and request
// parameters, and secretsync reads only the names.
package events

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Change is what one event says changed.
type Change struct {
	// Service is "secretsmanager" or "ssm".
	Service string
	// Names are the secret or parameter names (ARNs turned into names).
	Names []string
	// Event is the API call or change, like PutSecretValue.
	Event string
	// Time is when AWS recorded it.
	Time time.Time
	// Listing is set when the change can alter what a find lists: a
	// secret created, deleted, restored or (un)tagged.
	Listing bool
}

// ErrForeign marks a message that is not an event secretsync acts on.
var ErrForeign = errors.New("not a Secrets Manager or Parameter Store change event")

// ErrFailedCall marks the event of a call that failed (CloudTrail's
// errorCode set): it changed nothing, so it must cost no pass.
var ErrFailedCall = errors.New("the call it records failed")

// ErrOtherAccount marks an event of an account the instance does not read,
// or one that names a resource of such an account.
var ErrOtherAccount = errors.New("from an account this instance does not read")

// Accounts are the AWS account ids whose events an instance acts on.
type Accounts map[string]bool

// ParseAccounts reads a comma-separated list of 12-digit account ids.
func ParseAccounts(list string) (Accounts, error) {
	a := Accounts{}
	for _, id := range strings.Split(list, ",") {
		id = strings.TrimSpace(id)
		if id == "" {
			continue
		}
		if !isAccount(id) {
			return nil, fmt.Errorf("account id %q: want 12 digits", id)
		}
		a[id] = true
	}
	return a, nil
}

func isAccount(id string) bool {
	if len(id) != 12 {
		return false
	}
	for _, r := range id {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// arnAccount is the account field of an ARN (arn:partition:service:region:account:...),
// and false for a plain name.
func arnAccount(id string) (string, bool) {
	if !strings.HasPrefix(id, "arn:") {
		return "", false
	}
	f := strings.SplitN(id, ":", 6)
	if len(f) < 6 {
		return "", true // an ARN with no account field is no account we read
	}
	return f[4], true
}

// listing are the events that can change what a dataFrom.find selects.
var listing = map[string]bool{
	"CreateSecret": true, "DeleteSecret": true, "RestoreSecret": true, "TagResource": true, "UntagResource": true,
	"PutParameter": true, "DeleteParameter": true, "DeleteParameters": true, "AddTagsToResource": true, "RemoveTagsFromResource": true,
	"Create": true, "Delete": true, "LabelParameterVersion": true,
}

// acted are the events that change a value, a version stage, or what a
// find sees; others (GetSecretValue, DescribeSecret...) change nothing.
var acted = map[string]bool{
	"PutSecretValue": true, "UpdateSecret": true, "UpdateSecretVersionStage": true, "RotateSecret": true,
	"RotationSucceeded": true, "CancelRotateSecret": true,
	"PutParameter": true, "Update": true, "LabelParameterVersion": true,
}

type envelope struct {
	Account    string          `json:"account"`
	Source     string          `json:"source"`
	DetailType string          `json:"detail-type"`
	Time       time.Time       `json:"time"`
	Resources  []string        `json:"resources"`
	Detail     json.RawMessage `json:"detail"`
}

type cloudTrail struct {
	EventSource       string         `json:"eventSource"`
	EventName         string         `json:"eventName"`
	ErrorCode         string         `json:"errorCode"`
	RecipientAccount  string         `json:"recipientAccountId"`
	RequestParameters map[string]any `json:"requestParameters"`
	ResponseElements  map[string]any `json:"responseElements"`
	AdditionalData    map[string]any `json:"additionalEventData"`
	// Parameter Store change events.
	Name      string `json:"name"`
	Operation string `json:"operation"`
}

// Parse reads one EventBridge event (an SQS message body). An event of
// another service, or one that changes nothing secretsync reads, is
// ErrForeign; one of an account not in accounts (the envelope's, the
// CloudTrail recipient's, or that of an ARN it names) is ErrOtherAccount;
// a failed call's is ErrFailedCall; a body that is not an event is another
// error. No error quotes the body.
func Parse(body []byte, accounts Accounts) (Change, error) {
	var e envelope
	if err := json.Unmarshal(body, &e); err != nil {
		return Change{}, fmt.Errorf("not an EventBridge event: %w", err)
	}
	var d cloudTrail
	if len(e.Detail) > 0 {
		if err := json.Unmarshal(e.Detail, &d); err != nil {
			return Change{}, fmt.Errorf("event detail: %w", err)
		}
	}
	c := Change{Time: e.Time}
	var ids []string // the names as the event gives them, ARNs included
	switch {
	case e.Source == "aws.ssm" && e.DetailType == "Parameter Store Change":
		c.Service, c.Event = "ssm", d.Operation
		if d.Name != "" {
			ids = []string{d.Name}
			c.Names = []string{d.Name}
		}
	case d.EventSource == "secretsmanager.amazonaws.com":
		c.Service, c.Event = "secretsmanager", d.EventName
		for _, m := range []map[string]any{d.RequestParameters, d.ResponseElements, d.AdditionalData} {
			for _, k := range []string{"secretId", "SecretId", "name", "arn", "ARN"} {
				if s, ok := m[k].(string); ok && s != "" {
					ids = append(ids, s)
					c.Names = append(c.Names, SecretName(s))
				}
			}
		}
	case d.EventSource == "ssm.amazonaws.com":
		c.Service, c.Event = "ssm", d.EventName
		for _, k := range []string{"name", "resourceId"} {
			if s, ok := d.RequestParameters[k].(string); ok && s != "" {
				ids = append(ids, s)
				c.Names = append(c.Names, ParameterName(s))
			}
		}
		if names, ok := d.RequestParameters["names"].([]any); ok {
			for _, n := range names {
				if s, ok := n.(string); ok {
					ids = append(ids, s)
					c.Names = append(c.Names, ParameterName(s))
				}
			}
		}
	default:
		return Change{}, ErrForeign
	}
	if err := fromAccounts(e.Account, d.RecipientAccount, ids, accounts); err != nil {
		return Change{}, err
	}
	if d.ErrorCode != "" {
		return Change{}, fmt.Errorf("%s %s: %w", c.Service, c.Event, ErrFailedCall)
	}
	c.Listing = listing[c.Event]
	if !acted[c.Event] && !c.Listing {
		return Change{}, ErrForeign
	}
	c.Names = dedupe(c.Names)
	if len(c.Names) == 0 {
		return Change{}, errors.New("the event names no secret or parameter")
	}
	return c, nil
}

// fromAccounts checks every account an event shows: it must carry its
// account (EventBridge always sets one), and each must be read here.
func fromAccounts(account, recipient string, ids []string, accounts Accounts) error {
	if account == "" {
		return fmt.Errorf("an event with no account: %w", ErrOtherAccount)
	}
	shown := []string{account}
	if recipient != "" {
		shown = append(shown, recipient)
	}
	for _, id := range ids {
		if a, ok := arnAccount(id); ok {
			shown = append(shown, a)
		}
	}
	for _, a := range shown {
		if !accounts[a] {
			if !isAccount(a) {
				return fmt.Errorf("an account that is not 12 digits: %w", ErrOtherAccount)
			}
			return fmt.Errorf("account %s: %w", a, ErrOtherAccount)
		}
	}
	return nil
}

// SecretName is the name of a Secrets Manager secret given by name or by
// ARN (arn:aws:secretsmanager:region:account:secret:NAME-xxxxxx, whose last
// six characters AWS adds).
func SecretName(id string) string {
	_, name, ok := strings.Cut(id, ":secret:")
	if !ok || !strings.HasPrefix(id, "arn:") {
		return id
	}
	if i := strings.LastIndexByte(name, '-'); i >= 0 && len(name)-i-1 == 6 {
		return name[:i]
	}
	return name
}

// ParameterName is a parameter's name given by name or by ARN
// (arn:aws:ssm:region:account:parameter/NAME, where NAME has no leading
// slash), without a :version or :label selector.
func ParameterName(id string) string {
	if _, name, ok := strings.Cut(id, ":parameter/"); ok && strings.HasPrefix(id, "arn:") {
		id = "/" + name
		if !strings.Contains(name, "/") {
			id = name // a name without a path has no slash in its ARN either
		}
	}
	if i := strings.LastIndexByte(id, ':'); i >= 0 {
		id = id[:i]
	}
	return id
}

func dedupe(in []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
