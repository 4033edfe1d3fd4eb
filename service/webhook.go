package service

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/time/rate"
)

// webhook receives push notifications and triggers a pass at once:
//
//	POST /hook/github   X-Hub-Signature-256: sha256=HMAC(secret, body)
//	POST /hook/gitlab   X-Gitlab-Token: secret
//	POST /hook/generic  X-Secretsync-Timestamp: unix seconds; X-Secretsync-Signature: sha256=HMAC(secret, timestamp + "." + body)
//
// Requests that fail authentication, repeat what was signed, or are older
// than five minutes (generic) are refused. Replay identity comes only from
// what the sender authenticated: the decoded MAC for generic deliveries,
// the body's digest for GitHub and GitLab (their delivery-id headers are not
// signed, so a replay could change them). Authenticated and unauthenticated
// requests have separate rate limits, so a flood of bad signatures cannot
// starve a good delivery. The body is never parsed beyond its signature: a
// push for any branch makes secretsync check its own ref, which costs one
// ref listing.
type webhook struct {
	secret  []byte
	trigger func()
	log     zerolog.Logger
	// limiter is the budget of authenticated requests; refused is the
	// separate budget of requests that fail authentication.
	limiter, refused *rate.Limiter
	now              func() time.Time

	mu   sync.Mutex
	seen map[[sha256.Size]byte]time.Time // replay identities
}

const (
	replayWindow = 5 * time.Minute
	maxHookBody  = 1 << 20
)

func newWebhook(secret []byte, trigger func(), log zerolog.Logger) *webhook {
	return &webhook{secret: secret, trigger: trigger, log: log, limiter: rate.NewLimiter(1, 10), refused: rate.NewLimiter(1, 10),
		now: time.Now, seen: map[[sha256.Size]byte]time.Time{}}
}

func (h *webhook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxHookBody+1))
	if err != nil || len(body) > maxHookBody {
		http.Error(w, "body too large or unreadable", http.StatusBadRequest)
		return
	}
	var id []byte // what the sender signed, for replay
	var ok bool
	switch r.URL.Path {
	case "/hook/github":
		_, ok = h.validHMAC(r.Header.Get("X-Hub-Signature-256"), body)
		id = append([]byte("github:"), body...)
	case "/hook/gitlab":
		ok = subtle.ConstantTimeCompare([]byte(r.Header.Get("X-Gitlab-Token")), h.secret) == 1
		id = append([]byte("gitlab:"), body...)
	case "/hook/generic":
		ts := r.Header.Get("X-Secretsync-Timestamp")
		var mac []byte
		mac, ok = h.validHMAC(r.Header.Get("X-Secretsync-Signature"), append([]byte(ts+"."), body...))
		ok = ok && h.fresh(ts)
		id = append([]byte("generic:"), mac...)
	default:
		http.NotFound(w, r)
		return
	}
	if !ok {
		if !h.refused.Allow() {
			http.Error(w, "too many requests", http.StatusTooManyRequests)
			return
		}
		h.log.Warn().Str("path", r.URL.Path).Msg("webhook refused: bad or missing signature, token or timestamp")
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	if !h.limiter.Allow() {
		http.Error(w, "too many requests", http.StatusTooManyRequests)
		return
	}
	if !h.firstSeen(sha256.Sum256(id)) {
		h.log.Warn().Str("path", r.URL.Path).Msg("webhook refused: replayed delivery")
		http.Error(w, "replayed delivery", http.StatusConflict)
		return
	}
	h.log.Info().Str("path", r.URL.Path).Msg("webhook: pass triggered")
	h.trigger()
	w.WriteHeader(http.StatusAccepted)
}

// validHMAC checks a "sha256=<hex>" header against signed and returns the
// decoded MAC: its bytes, not the header's spelling, identify a delivery.
func (h *webhook) validHMAC(header string, signed []byte) ([]byte, bool) {
	got, ok := strings.CutPrefix(header, "sha256=")
	if !ok {
		return nil, false
	}
	sig, err := hex.DecodeString(got)
	if err != nil {
		return nil, false
	}
	mac := hmac.New(sha256.New, h.secret)
	mac.Write(signed)
	return sig, hmac.Equal(sig, mac.Sum(nil))
}

func (h *webhook) fresh(ts string) bool {
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return false
	}
	d := h.now().Sub(time.Unix(sec, 0))
	return d < replayWindow && d > -replayWindow
}

// firstSeen remembers id and reports whether it is new. Ids are kept for a
// day: GitHub and GitLab requests carry no timestamp to bound them.
func (h *webhook) firstSeen(id [sha256.Size]byte) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	now := h.now()
	for k, t := range h.seen {
		if now.Sub(t) > 24*time.Hour {
			delete(h.seen, k)
		}
	}
	if _, dup := h.seen[id]; dup {
		return false
	}
	h.seen[id] = now
	return true
}
