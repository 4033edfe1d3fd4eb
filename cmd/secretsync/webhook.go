package main

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
//	POST /hook/github   X-Hub-Signature-256: sha256=HMAC(secret, body); X-GitHub-Delivery is the replay id
//	POST /hook/gitlab   X-Gitlab-Token: secret; X-Gitlab-Event-UUID is the replay id
//	POST /hook/generic  X-Secretsync-Timestamp: unix seconds; X-Secretsync-Signature: sha256=HMAC(secret, timestamp + "." + body)
//
// Requests that fail authentication, repeat a delivery id or signature, or
// are older than five minutes (generic) are refused; the receiver is rate
// limited. The body is never parsed beyond its signature: a push for any
// branch makes secretsync check its own ref, which costs one ref listing.
type webhook struct {
	secret  []byte
	trigger func()
	log     zerolog.Logger
	limiter *rate.Limiter
	now     func() time.Time

	mu   sync.Mutex
	seen map[string]time.Time // delivery ids and signatures, for replay
}

const (
	replayWindow = 5 * time.Minute
	maxHookBody  = 1 << 20
)

func newWebhook(secret []byte, trigger func(), log zerolog.Logger) *webhook {
	return &webhook{secret: secret, trigger: trigger, log: log, limiter: rate.NewLimiter(1, 10),
		now: time.Now, seen: map[string]time.Time{}}
}

func (h *webhook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	if !h.limiter.Allow() {
		http.Error(w, "too many requests", http.StatusTooManyRequests)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxHookBody+1))
	if err != nil || len(body) > maxHookBody {
		http.Error(w, "body too large or unreadable", http.StatusBadRequest)
		return
	}
	var id string
	var ok bool
	switch r.URL.Path {
	case "/hook/github":
		id = "github:" + r.Header.Get("X-GitHub-Delivery")
		ok = r.Header.Get("X-GitHub-Delivery") != "" && h.validHMAC(r.Header.Get("X-Hub-Signature-256"), body)
	case "/hook/gitlab":
		id = "gitlab:" + r.Header.Get("X-Gitlab-Event-UUID")
		ok = r.Header.Get("X-Gitlab-Event-UUID") != "" &&
			subtle.ConstantTimeCompare([]byte(r.Header.Get("X-Gitlab-Token")), h.secret) == 1
	case "/hook/generic":
		ts := r.Header.Get("X-Secretsync-Timestamp")
		sig := r.Header.Get("X-Secretsync-Signature")
		id = "generic:" + sig
		ok = h.fresh(ts) && h.validHMAC(sig, append([]byte(ts+"."), body...))
	default:
		http.NotFound(w, r)
		return
	}
	if !ok {
		h.log.Warn().Str("path", r.URL.Path).Msg("webhook refused: bad or missing signature, token or timestamp")
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	if !h.firstSeen(id) {
		h.log.Warn().Str("path", r.URL.Path).Msg("webhook refused: replayed delivery")
		http.Error(w, "replayed delivery", http.StatusConflict)
		return
	}
	h.log.Info().Str("path", r.URL.Path).Msg("webhook: pass triggered")
	h.trigger()
	w.WriteHeader(http.StatusAccepted)
}

func (h *webhook) validHMAC(header string, signed []byte) bool {
	got, ok := strings.CutPrefix(header, "sha256=")
	if !ok {
		return false
	}
	sig, err := hex.DecodeString(got)
	if err != nil {
		return false
	}
	mac := hmac.New(sha256.New, h.secret)
	mac.Write(signed)
	return hmac.Equal(sig, mac.Sum(nil))
}

func (h *webhook) fresh(ts string) bool {
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return false
	}
	d := h.now().Sub(time.Unix(sec, 0))
	return d < replayWindow && d > -replayWindow
}

// firstSeen remembers id for the replay window and reports whether it is
// new. GitHub and GitLab ids are remembered for a day, since their requests
// carry no timestamp.
func (h *webhook) firstSeen(id string) bool {
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
