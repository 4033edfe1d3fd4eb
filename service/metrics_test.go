package service

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/secretsync/secretsync/reconciler"
)

func scrape(t *testing.T, h http.Handler, path string) (int, string) {
	t.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
	b, _ := io.ReadAll(w.Result().Body)
	return w.Code, string(b)
}

func TestMetricsAndReadiness(t *testing.T) {
	m := newMetrics()
	ready := &readiness{}
	if code, body := scrape(t, ready, "/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "no successful pass") {
		t.Fatalf("readyz before any pass: %d %q", code, body)
	}
	failed := reconciler.Result{Revision: "main@sha1:aaa", Stage: reconciler.StageDone, Reason: reconciler.ResolveFailed, Duration: 2 * time.Second,
		AWSCalls: map[string]int64{"BatchGetSecretValue ok": 3, "GetSecretValue NotFound": 1}, Managed: 7}
	m.record(failed)
	ready.record(failed)
	if code, body := scrape(t, ready, "/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "ResolveFailed") {
		t.Fatalf("readyz after a failed pass: %d %q", code, body)
	}
	ok := reconciler.Result{Revision: "main@sha1:bbb", Stage: reconciler.StageDone, Duration: time.Second, Applied: 2, Managed: 9,
		AWSCalls: map[string]int64{"BatchGetSecretValue ok": 1}}
	m.record(ok)
	ready.record(ok)
	if code, _ := scrape(t, ready, "/readyz"); code != http.StatusOK {
		t.Fatalf("readyz after a good pass: %d", code)
	}
	_, body := scrape(t, m.handler(), "/metrics")
	for _, want := range []string{
		`secretsync_pass_duration_seconds_count{stage="done"} 2`,
		`secretsync_pass_failures_total{reason="ResolveFailed"} 1`,
		`secretsync_revision_info{revision="main@sha1:bbb"} 1`,
		`secretsync_managed_secrets 9`,
		`secretsync_aws_calls_total{operation="BatchGetSecretValue",outcome="ok"} 4`,
		`secretsync_aws_calls_total{operation="GetSecretValue",outcome="NotFound"} 1`,
		`secretsync_aws_cost_usd_total 2.5e-05`,
		`secretsync_secret_changes_total{action="applied"} 2`,
		`secretsync_passes_total{result="ok"} 1`,
		"secretsync_last_success_timestamp_seconds ",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if strings.Contains(body, "main@sha1:aaa") {
		t.Error("an old revision is still reported")
	}
}

// TestTheDashboardUsesRealMetrics keeps docs/grafana-dashboard.json in
// step with the metrics.
func TestTheDashboardUsesRealMetrics(t *testing.T) {
	b, err := os.ReadFile("../docs/grafana-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	if !json.Valid(b) {
		t.Fatal("the dashboard is not JSON")
	}
	known := exportedMetrics(t)
	used := regexp.MustCompile(`secretsync_[a-z_]+`).FindAllString(string(b), -1)
	if len(used) == 0 {
		t.Fatal("the dashboard uses no metric")
	}
	for _, name := range used {
		if !known[name] {
			t.Errorf("the dashboard uses %s, which is not exported", name)
		}
	}
}
