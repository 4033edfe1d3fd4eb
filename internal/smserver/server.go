// Package smserver is an AWS Secrets Manager-compatible HTTP server for
// tests, the demo and benchmarks. It speaks the real JSON 1.1 protocol
// (X-Amz-Target: secretsmanager.<Operation>) so the unmodified aws-sdk-go-v2
// client talks to it, keeps version stages the way AWS does over any number
// of rotations, and can inject latency, throttling, 5xx and access denial.
package smserver

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"
)

const (
	StageCurrent  = "AWSCURRENT"
	StagePrevious = "AWSPREVIOUS"
	StagePending  = "AWSPENDING"
)

// APIError is an error in the wire format AWS uses; return one from a Fault
// to inject it.
type APIError struct {
	Code    string
	Message string
	Status  int
}

func (e *APIError) Error() string { return e.Code + ": " + e.Message }

// Errors that tests inject.
var (
	ErrThrottled = &APIError{"ThrottlingException", "Rate exceeded", http.StatusBadRequest}
	ErrInternal  = &APIError{"InternalServiceError", "injected internal error", http.StatusInternalServerError}
	ErrDenied    = &APIError{"AccessDeniedException", "User is not authorized to perform this action", http.StatusBadRequest}
)

// Fault decides, per call, whether to fail it. secretID is empty for calls
// that name no secret; BatchGetSecretValue consults it once for the call and
// once for each id in its list. It runs under the server's lock and must not
// call the server.
type Fault func(op, secretID string) error

type version struct {
	id      string
	str     *string
	bin     []byte
	stages  []string
	created time.Time
}

type secret struct {
	name, arn, description, kmsKeyID string
	tags                             map[string]string
	versions                         map[string]*version
	order                            []string // version ids, oldest first
	created, changed                 time.Time
	deleted                          *time.Time
	policy                           string // resource policy, compacted; "" none
}

// Server is the in-memory Secrets Manager. Use it as an http.Handler.
type Server struct {
	Region  string
	Account string

	mu          sync.Mutex
	secrets     map[string]*secret // by name
	calls       map[string]int
	reads       map[string]int // values served, by secret name
	fault       Fault
	latency     time.Duration
	allowedKeys map[string]bool
	lastDelete  *DeleteRequest
}

// DeleteRequest is what a DeleteSecret call sent; a field it left out is
// nil, so a test can tell "not sent" (AWS's 30 days) from a value.
type DeleteRequest struct {
	SecretID                   string `json:"SecretId"`
	RecoveryWindowInDays       *int64 `json:"RecoveryWindowInDays"`
	ForceDeleteWithoutRecovery *bool  `json:"ForceDeleteWithoutRecovery"`
}

// LastDelete returns the last DeleteSecret request served (faulted ones
// excepted); ok false when there was none.
func (s *Server) LastDelete() (req DeleteRequest, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lastDelete == nil {
		return DeleteRequest{}, false
	}
	return *s.lastDelete, true
}

// New returns an empty server for region us-east-1 and a fixed account.
func New() *Server {
	return &Server{Region: "us-east-1", Account: "123456789012", secrets: map[string]*secret{}, calls: map[string]int{}, reads: map[string]int{}}
}

// SetLatency delays every request by d, to model a remote region.
func (s *Server) SetLatency(d time.Duration) { s.mu.Lock(); s.latency = d; s.mu.Unlock() }

// SetFault installs f (nil removes it).
func (s *Server) SetFault(f Fault) { s.mu.Lock(); s.fault = f; s.mu.Unlock() }

// RequireAccessKeys makes every request whose SigV4 credential is not one of
// ids fail as an invalid token. No ids accepts every caller.
func (s *Server) RequireAccessKeys(ids ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.allowedKeys = map[string]bool{}
	for _, id := range ids {
		s.allowedKeys[id] = true
	}
}

// Calls returns how many requests each operation has served, faults included.
func (s *Server) Calls() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.calls))
	for k, v := range s.calls {
		out[k] = v
	}
	return out
}

// TotalCalls is the sum of Calls.
func (s *Server) TotalCalls() int {
	n := 0
	for _, v := range s.Calls() {
		n += v
	}
	return n
}

// Reads returns how many times each secret's value was served, by
// GetSecretValue or inside a BatchGetSecretValue.
func (s *Server) Reads() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.reads)
}

// ResetCalls zeroes the call and read counters.
func (s *Server) ResetCalls() {
	s.mu.Lock()
	s.calls, s.reads = map[string]int{}, map[string]int{}
	s.mu.Unlock()
}

var credentialRE = regexp.MustCompile(`Credential=([^/]+)/`)

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	target := r.Header.Get("X-Amz-Target")
	op, ok := strings.CutPrefix(target, "secretsmanager.")
	if r.Method != http.MethodPost || !ok {
		writeError(w, &APIError{"UnknownOperationException", "expected POST with X-Amz-Target secretsmanager.<Operation>", http.StatusBadRequest})
		return
	}
	var body map[string]json.RawMessage
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		writeError(w, &APIError{"SerializationException", "request body is not JSON", http.StatusBadRequest})
		return
	}
	var secretID string
	_ = json.Unmarshal(body["SecretId"], &secretID)

	s.mu.Lock()
	s.calls[op]++
	fault, latency, allowed := s.fault, s.latency, s.allowedKeys
	s.mu.Unlock()

	if latency > 0 {
		select {
		case <-time.After(latency):
		case <-r.Context().Done():
			return
		}
	}
	if len(allowed) > 0 {
		m := credentialRE.FindStringSubmatch(r.Header.Get("Authorization"))
		if m == nil || !allowed[m[1]] {
			writeError(w, &APIError{"UnrecognizedClientException", "The security token included in the request is invalid.", http.StatusBadRequest})
			return
		}
	}
	if fault != nil {
		if err := fault(op, secretID); err != nil {
			writeError(w, asAPIError(err))
			return
		}
	}
	handler, ok := s.ops()[op]
	if !ok {
		writeError(w, &APIError{"UnknownOperationException", "operation " + op + " is not supported", http.StatusBadRequest})
		return
	}
	raw, _ := json.Marshal(body)
	s.mu.Lock()
	out, err := handler(raw)
	s.mu.Unlock()
	if err != nil {
		writeError(w, asAPIError(err))
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	_ = json.NewEncoder(w).Encode(out)
}

func asAPIError(err error) *APIError {
	if e, ok := err.(*APIError); ok {
		return e
	}
	return &APIError{"InternalServiceError", err.Error(), http.StatusInternalServerError}
}

func writeError(w http.ResponseWriter, e *APIError) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-ErrorType", e.Code)
	w.WriteHeader(e.Status)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": e.Code, "Message": e.Message})
}

func notFound() error {
	return &APIError{"ResourceNotFoundException", "Secrets Manager can't find the specified secret.", http.StatusBadRequest}
}

func invalidParam(msg string) error {
	return &APIError{"InvalidParameterException", msg, http.StatusBadRequest}
}

func invalidRequest(msg string) error {
	return &APIError{"InvalidRequestException", msg, http.StatusBadRequest}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func newVersionID() string {
	h := randomHex(16)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

func epoch(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

// lookup finds a secret by name, full ARN or partial ARN (no random suffix).
func (s *Server) lookup(id string) (*secret, error) {
	if id == "" {
		return nil, invalidParam("SecretId is required")
	}
	if sec, ok := s.secrets[id]; ok {
		return sec, nil
	}
	if strings.HasPrefix(id, "arn:") {
		for _, sec := range s.secrets {
			if sec.arn == id || strings.TrimSuffix(sec.arn, sec.arn[strings.LastIndex(sec.arn, "-"):]) == id {
				return sec, nil
			}
		}
	}
	return nil, notFound()
}

// live is lookup that refuses secrets scheduled for deletion.
func (s *Server) live(id string) (*secret, error) {
	sec, err := s.lookup(id)
	if err != nil {
		return nil, err
	}
	if sec.deleted != nil {
		return nil, invalidRequest("You can't perform this operation on the secret because it was marked for deletion.")
	}
	return sec, nil
}

// moveStage puts stage on version id alone. Moving AWSCURRENT labels the
// version that held it AWSPREVIOUS, as AWS does.
func (sec *secret) moveStage(stage, id string) {
	var from string
	for vid, v := range sec.versions {
		if i := indexOf(v.stages, stage); i >= 0 {
			v.stages = append(v.stages[:i], v.stages[i+1:]...)
			from = vid
		}
	}
	sec.versions[id].stages = append(sec.versions[id].stages, stage)
	if stage == StageCurrent && from != "" && from != id {
		sec.moveStage(StagePrevious, from)
	}
}

func (sec *secret) removeStage(stage, id string) {
	if v, ok := sec.versions[id]; ok {
		if i := indexOf(v.stages, stage); i >= 0 {
			v.stages = append(v.stages[:i], v.stages[i+1:]...)
		}
	}
}

func indexOf(list []string, s string) int {
	for i, x := range list {
		if x == s {
			return i
		}
	}
	return -1
}

func (sec *secret) versionByStage(stage string) *version {
	for _, id := range sec.order {
		if indexOf(sec.versions[id].stages, stage) >= 0 {
			return sec.versions[id]
		}
	}
	return nil
}

func (sec *secret) describe() map[string]any {
	out := map[string]any{
		"ARN":             sec.arn,
		"Name":            sec.name,
		"CreatedDate":     epoch(sec.created),
		"LastChangedDate": epoch(sec.changed),
	}
	if sec.description != "" {
		out["Description"] = sec.description
	}
	if sec.kmsKeyID != "" {
		out["KmsKeyId"] = sec.kmsKeyID
	}
	if sec.deleted != nil {
		out["DeletedDate"] = epoch(*sec.deleted)
	}
	if len(sec.tags) > 0 {
		out["Tags"] = tagList(sec.tags)
	}
	stages := map[string][]string{}
	for id, v := range sec.versions {
		if len(v.stages) > 0 {
			stages[id] = append([]string(nil), v.stages...)
		}
	}
	out["VersionIdsToStages"] = stages
	return out
}

type tag struct {
	Key   string `json:"Key"`
	Value string `json:"Value"`
}

func tagList(m map[string]string) []tag {
	out := make([]tag, 0, len(m))
	for k, v := range m {
		out = append(out, tag{k, v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

func valueOut(sec *secret, v *version) map[string]any {
	out := map[string]any{
		"ARN":           sec.arn,
		"Name":          sec.name,
		"VersionId":     v.id,
		"VersionStages": append([]string{}, v.stages...),
		"CreatedDate":   epoch(v.created),
	}
	if v.str != nil {
		out["SecretString"] = *v.str
	} else {
		out["SecretBinary"] = v.bin
	}
	return out
}

func (s *Server) String() string { return fmt.Sprintf("smserver(%d secrets)", len(s.secrets)) }
