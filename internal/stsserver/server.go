// Package stsserver is an AWS STS-compatible server for tests: AssumeRole,
// AssumeRoleWithWebIdentity and GetSessionToken over the query protocol, answering with
// credentials whose access key id names the role, so that a test can tell
// which role a call to another service used.
package stsserver

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"
)

// Call is one request the server answered.
type Call struct {
	Action            string
	RoleArn           string
	ExternalID        string
	CallerKey         string // access key id of the SigV4 signature, if any
	WebIdentityToken  string
	SessionTags       map[string]string
	TransitiveTagKeys []string
}

// Server records calls; use it as an http.Handler.
type Server struct {
	mu    sync.Mutex
	calls []Call
	// Duration is how long issued credentials last.
	Duration time.Duration
	// AcceptToken, when set, decides whether a web identity token is valid.
	AcceptToken func(token string) bool
}

// New returns a server issuing one-hour credentials.
func New() *Server { return &Server{Duration: time.Hour} }

// AccessKeyFor is the access key id issued for a role.
func AccessKeyFor(roleArn string) string {
	sum := sha256.Sum256([]byte(roleArn))
	return "ASIA" + strings.ToUpper(hex.EncodeToString(sum[:8]))
}

// Calls returns the calls so far.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

var credentialRE = regexp.MustCompile(`Credential=([^/]+)/`)

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	c := Call{Action: r.Form.Get("Action"), RoleArn: r.Form.Get("RoleArn"), ExternalID: r.Form.Get("ExternalId"),
		WebIdentityToken: r.Form.Get("WebIdentityToken"), SessionTags: map[string]string{}}
	if m := credentialRE.FindStringSubmatch(r.Header.Get("Authorization")); m != nil {
		c.CallerKey = m[1]
	}
	for i := 1; ; i++ {
		k := r.Form.Get(fmt.Sprintf("Tags.member.%d.Key", i))
		if k == "" {
			break
		}
		c.SessionTags[k] = r.Form.Get(fmt.Sprintf("Tags.member.%d.Value", i))
	}
	for i := 1; ; i++ {
		k := r.Form.Get(fmt.Sprintf("TransitiveTagKeys.member.%d", i))
		if k == "" {
			break
		}
		c.TransitiveTagKeys = append(c.TransitiveTagKeys, k)
	}
	s.mu.Lock()
	s.calls = append(s.calls, c)
	accept := s.AcceptToken
	s.mu.Unlock()

	switch c.Action {
	case "GetSessionToken":
		// Session credentials of the caller: named after its access key.
		c.RoleArn = "session:" + c.CallerKey
	case "AssumeRole":
	case "AssumeRoleWithWebIdentity":
		if accept != nil && !accept(c.WebIdentityToken) {
			writeError(w, "InvalidIdentityToken", "the web identity token is not valid")
			return
		}
	default:
		writeError(w, "InvalidAction", "unsupported action "+c.Action)
		return
	}
	if c.RoleArn == "" {
		writeError(w, "ValidationError", "RoleArn is required")
		return
	}
	type creds struct {
		AccessKeyID     string `xml:"AccessKeyId"`
		SecretAccessKey string `xml:"SecretAccessKey"`
		SessionToken    string `xml:"SessionToken"`
		Expiration      string `xml:"Expiration"`
	}
	out := struct {
		XMLName xml.Name `xml:""`
		Xmlns   string   `xml:"xmlns,attr"`
		Result  struct {
			XMLName     xml.Name
			Credentials creds `xml:"Credentials"`
		}
	}{Xmlns: "https://sts.amazonaws.com/doc/2011-06-15/"}
	out.XMLName = xml.Name{Local: c.Action + "Response"}
	out.Result.XMLName = xml.Name{Local: c.Action + "Result"}
	out.Result.Credentials = creds{
		AccessKeyID:     AccessKeyFor(c.RoleArn),
		SecretAccessKey: "secret-for-" + AccessKeyFor(c.RoleArn),
		SessionToken:    "token-for-" + AccessKeyFor(c.RoleArn),
		Expiration:      time.Now().Add(s.Duration).UTC().Format(time.RFC3339),
	}
	w.Header().Set("Content-Type", "text/xml")
	_ = xml.NewEncoder(w).Encode(out)
}

func writeError(w http.ResponseWriter, code, msg string) {
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(http.StatusBadRequest)
	fmt.Fprintf(w, `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>1</RequestId></ErrorResponse>`, code, msg)
}
