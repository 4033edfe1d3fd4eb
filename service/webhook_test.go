package service

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

func sign(secret, body string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(body))
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

func TestWebhookAuthentication(t *testing.T) {
	const secret = "hook-secret"
	triggered := 0
	h := newWebhook([]byte(secret), func() { triggered++ }, zerolog.Nop())
	post := func(path, body string, headers map[string]string) int {
		r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
		for k, v := range headers {
			r.Header.Set(k, v)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Code
	}
	body := `{"ref":"refs/heads/main"}`
	now := strconv.FormatInt(time.Now().Unix(), 10)
	old := strconv.FormatInt(time.Now().Add(-10*time.Minute).Unix(), 10)
	cases := []struct {
		name    string
		path    string
		headers map[string]string
		want    int
	}{
		{"a signed GitHub push", "/hook/github", map[string]string{"X-Hub-Signature-256": sign(secret, body), "X-GitHub-Delivery": "d1"}, http.StatusAccepted},
		{"the same GitHub delivery again is a replay", "/hook/github", map[string]string{"X-Hub-Signature-256": sign(secret, body), "X-GitHub-Delivery": "d1"}, http.StatusConflict},
		{"a GitHub push signed with another secret", "/hook/github", map[string]string{"X-Hub-Signature-256": sign("other", body), "X-GitHub-Delivery": "d2"}, http.StatusUnauthorized},
		{"a GitHub push with no signature", "/hook/github", map[string]string{"X-GitHub-Delivery": "d3"}, http.StatusUnauthorized},
		{"a GitLab push with the token", "/hook/gitlab", map[string]string{"X-Gitlab-Token": secret, "X-Gitlab-Event-UUID": "u1"}, http.StatusAccepted},
		{"a GitLab push with a wrong token", "/hook/gitlab", map[string]string{"X-Gitlab-Token": "nope", "X-Gitlab-Event-UUID": "u2"}, http.StatusUnauthorized},
		{"a generic push, signed and fresh", "/hook/generic", map[string]string{"X-Secretsync-Timestamp": now, "X-Secretsync-Signature": sign(secret, now+"."+body)}, http.StatusAccepted},
		{"the same generic push replayed", "/hook/generic", map[string]string{"X-Secretsync-Timestamp": now, "X-Secretsync-Signature": sign(secret, now+"."+body)}, http.StatusConflict},
		{"a generic push too old", "/hook/generic", map[string]string{"X-Secretsync-Timestamp": old, "X-Secretsync-Signature": sign(secret, old+"."+body)}, http.StatusUnauthorized},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := post(c.path, body, c.headers); got != c.want {
				t.Fatalf("status %d, want %d", got, c.want)
			}
		})
	}
	if triggered != 3 {
		t.Fatalf("%d passes triggered, want 3", triggered)
	}
	t.Run("a GitHub delivery replayed under a new delivery id is a replay", func(t *testing.T) {
		if got := post("/hook/github", body, map[string]string{"X-Hub-Signature-256": sign(secret, body), "X-GitHub-Delivery": "d-new"}); got != http.StatusConflict {
			t.Fatalf("status %d, want %d", got, http.StatusConflict)
		}
	})
	t.Run("a generic delivery replayed with its signature upper-cased is a replay", func(t *testing.T) {
		sig := sign(secret, now+"."+body)
		upper := "sha256=" + strings.ToUpper(strings.TrimPrefix(sig, "sha256="))
		if got := post("/hook/generic", body, map[string]string{"X-Secretsync-Timestamp": now, "X-Secretsync-Signature": upper}); got != http.StatusConflict {
			t.Fatalf("status %d, want %d", got, http.StatusConflict)
		}
	})
	if triggered != 3 {
		t.Errorf("after the replays, %d passes triggered, want 3", triggered)
	}
	t.Run("bad signatures do not use up the budget of signed deliveries", func(t *testing.T) {
		for i := range 30 {
			post("/hook/github", body, map[string]string{"X-Hub-Signature-256": sign("wrong", body), "X-GitHub-Delivery": "bad" + strconv.Itoa(i)})
		}
		fresh := `{"ref":"refs/heads/main","after":"1"}`
		if got := post("/hook/github", fresh, map[string]string{"X-Hub-Signature-256": sign(secret, fresh), "X-GitHub-Delivery": "good"}); got != http.StatusAccepted {
			t.Fatalf("status %d, want %d", got, http.StatusAccepted)
		}
	})
	t.Run("a flood is rate limited", func(t *testing.T) {
		codes := map[int]int{}
		for i := range 30 {
			codes[post("/hook/github", body, map[string]string{"X-GitHub-Delivery": "f" + strconv.Itoa(i)})]++
		}
		if codes[http.StatusTooManyRequests] == 0 {
			t.Fatalf("codes %v", codes)
		}
	})
}

// FuzzWebhook: whatever the path, headers and body, a delivery triggers a
// pass only when it carries a valid signature (or token) for its body.
func FuzzWebhook(f *testing.F) {
	const secret = "hook-secret"
	body := `{"ref":"refs/heads/main"}`
	now := strconv.FormatInt(time.Now().Unix(), 10)
	f.Add("/hook/github", sign(secret, body), "", body)
	f.Add("/hook/github", "sha256=ZZ", "", body)
	f.Add("/hook/generic", sign(secret, now+"."+body), now, body)
	f.Add("/hook/generic", strings.ToUpper(sign(secret, now+"."+body)), now, body)
	f.Add("/hook/gitlab", secret, "", body)
	f.Fuzz(func(t *testing.T, path, sig, ts, body string) {
		triggered := 0
		h := newWebhook([]byte(secret), func() { triggered++ }, zerolog.Nop())
		r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
		r.URL.Path = path
		r.Header.Set("X-Hub-Signature-256", sig)
		r.Header.Set("X-Secretsync-Signature", sig)
		r.Header.Set("X-Secretsync-Timestamp", ts)
		r.Header.Set("X-Gitlab-Token", sig)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if triggered == 0 {
			return
		}
		valid := false
		switch path {
		case "/hook/github":
			valid = strings.EqualFold(sig, sign(secret, body))
		case "/hook/generic":
			valid = strings.EqualFold(sig, sign(secret, ts+"."+body))
		case "/hook/gitlab":
			valid = sig == secret
		}
		if !valid || w.Code != http.StatusAccepted {
			t.Fatalf("path %q: a delivery without a valid signature triggered a pass (status %d)", path, w.Code)
		}
	})
}
