package service

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/common/model"
	"github.com/prometheus/common/promslog"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
	"sigs.k8s.io/yaml"

	"github.com/secretsync/secretsync/reconciler"
)

// TestTheAlertsParseAndUseExportedMetrics reads the PrometheusRule of
// manifests/components/prometheus-rule with Prometheus's own rule-file
// parser, and checks that every metric an alert reads is one secretsync
// exports.
func TestTheAlertsParseAndUseExportedMetrics(t *testing.T) {
	b, err := os.ReadFile("../manifests/components/prometheus-rule/prometheusrule.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var rule struct {
		Kind string         `json:"kind"`
		Spec map[string]any `json:"spec"`
	}
	if err := yaml.Unmarshal(b, &rule); err != nil || rule.Kind != "PrometheusRule" {
		t.Fatalf("kind %q: %v", rule.Kind, err)
	}
	groupsYAML, err := yaml.Marshal(rule.Spec)
	if err != nil {
		t.Fatal(err)
	}
	p := parser.NewParser(parser.Options{})
	groups, errs := rulefmt.Parse(groupsYAML, false, model.UTF8Validation, p, promslog.NewNopLogger())
	if len(errs) > 0 {
		t.Fatalf("rulefmt: %v", errs)
	}

	exported := exportedMetrics(t)
	var alerts []string
	for _, g := range groups.Groups {
		for _, r := range g.Rules {
			alerts = append(alerts, r.Alert)
			expr, err := p.ParseExpr(r.Expr)
			if err != nil {
				t.Fatalf("%s: %v", r.Alert, err)
			}
			parser.Inspect(expr, func(n parser.Node, _ []parser.Node) error {
				if vs, ok := n.(*parser.VectorSelector); ok && !exported[vs.Name] {
					t.Errorf("alert %s reads %s, which secretsync does not export", r.Alert, vs.Name)
				}
				return nil
			})
		}
	}
	// What the issue asks alerts for: failing passes, a stale last success,
	// throttling, denied calls and a blocked prune.
	for _, want := range []string{"SecretsyncPassesFailing", "SecretsyncNoRecentSuccess", "SecretsyncAWSThrottled", "SecretsyncAWSAccessDenied", "SecretsyncPruneBlocked"} {
		if !slices.Contains(alerts, want) {
			t.Errorf("no alert %s", want)
		}
	}
}

// exportedMetrics are the metric names /metrics serves once passes of
// every kind have been recorded (a vector has no series before its first).
func exportedMetrics(t *testing.T) map[string]bool {
	m := newMetrics()
	m.record(reconciler.Result{Stage: reconciler.StageDone, Revision: "r", Reason: reconciler.ResolveFailed,
		AWSCalls: map[string]int64{"GetSecretValue Throttled": 1}, PruneRefused: []string{"a/b"}})
	m.record(reconciler.Result{Stage: reconciler.StageDone, Revision: "r"})
	m.setSuspended(true)
	m.events.WithLabelValues("received").Inc()
	families, err := m.registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, f := range families {
		name := f.GetName()
		out[name] = true
		if strings.HasSuffix(f.GetType().String(), "HISTOGRAM") {
			for _, s := range []string{"_bucket", "_sum", "_count"} {
				out[name+s] = true
			}
		}
	}
	return out
}
