package installtest

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	"helm.sh/helm/v3/pkg/lint"
	"helm.sh/helm/v3/pkg/lint/support"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

const chartDir = "../../charts/secretsync"

// object is a manifest as plain JSON data, comparable across Helm and
// kustomize (comments, key order and number types are gone).
type object = map[string]any

func key(o object) string {
	meta, _ := o["metadata"].(map[string]any)
	return fmt.Sprintf("%v %v/%v", o["kind"], meta["namespace"], meta["name"])
}

func normalise(t *testing.T, v any) object {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var o object
	if err := json.Unmarshal(b, &o); err != nil {
		t.Fatal(err)
	}
	return o
}

// renderChart renders the chart as `helm template secretsync --namespace
// secretsync` does, with values over its defaults.
func renderChart(t *testing.T, values map[string]any) map[string]object {
	t.Helper()
	ch, err := loader.Load(chartDir)
	if err != nil {
		t.Fatal(err)
	}
	vals, err := chartutil.ToRenderValues(ch, values, chartutil.ReleaseOptions{Name: "secretsync", Namespace: "secretsync", IsInstall: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	files, err := engine.Render(ch, vals)
	if err != nil {
		t.Fatalf("helm render: %v", err)
	}
	out := map[string]object{}
	for name, text := range files {
		if !strings.HasSuffix(name, ".yaml") {
			continue
		}
		for _, doc := range strings.Split(text, "\n---") {
			var o object
			if err := yaml.Unmarshal([]byte(doc), &o); err != nil {
				t.Fatalf("%s: %v\n%s", name, err, doc)
			}
			if len(o) == 0 {
				continue
			}
			o = normalise(t, o)
			out[key(o)] = o
		}
	}
	return out
}

func kustomizeBuild(t *testing.T, dir string) map[string]object {
	t.Helper()
	rm, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]object{}
	for _, res := range rm.Resources() {
		m, err := res.Map()
		if err != nil {
			t.Fatal(err)
		}
		o := normalise(t, m)
		out[key(o)] = o
	}
	return out
}

// allToggles turns on every opt-in object of the chart.
var allToggles = map[string]any{"prometheusRule": map[string]any{"enabled": true}, "serviceMonitor": map[string]any{"enabled": true},
	"configMapTargets": map[string]any{"enabled": true}}

// TestTheChartYieldsTheKustomizeBase: with default values, the chart
// renders exactly the objects of manifests/base, so the two ways to install
// cannot drift apart; the opt-in monitoring objects equal the components.
func TestTheChartYieldsTheKustomizeBase(t *testing.T) {
	chart, base := renderChart(t, nil), kustomizeBuild(t, "../../manifests/base")
	keys := func(m map[string]object) []string {
		var k []string
		for s := range m {
			k = append(k, s)
		}
		slices.Sort(k)
		return k
	}
	if d := cmp.Diff(keys(base), keys(chart)); d != "" {
		t.Fatalf("objects differ (-kustomize +helm):\n%s", d)
	}
	for k, want := range base {
		if d := cmp.Diff(want, chart[k]); d != "" {
			t.Errorf("%s differs (-kustomize +helm):\n%s", k, d)
		}
	}

	t.Run("the opt-in objects equal the components", func(t *testing.T) {
		chart := renderChart(t, allToggles)
		for _, file := range []string{"prometheus-rule/prometheusrule.yaml", "service-monitor/servicemonitor.yaml", "configmap-targets/rbac.yaml"} {
			b, err := os.ReadFile("../../manifests/components/" + file)
			if err != nil {
				t.Fatal(err)
			}
			for _, doc := range strings.Split(string(b), "\n---") {
				var o object
				if err := yaml.Unmarshal([]byte(doc), &o); err != nil {
					t.Fatal(err)
				}
				if !strings.HasPrefix(fmt.Sprint(o["kind"]), "Cluster") {
					o["metadata"].(map[string]any)["namespace"] = "secretsync" // as the overlay's namespace sets it
				}
				o = normalise(t, o)
				if d := cmp.Diff(o, chart[key(o)]); d != "" {
					t.Errorf("%s: %s differs (-component +helm):\n%s", file, key(o), d)
				}
			}
		}
	})
}

func TestTheChartsValuesReachTheObjects(t *testing.T) {
	objs := renderChart(t, map[string]any{
		"replicas":       1,
		"repo":           map[string]any{"url": "ssh://git@example.com/acme/secrets.git", "ref": "release", "path": "prod", "namespacedOnly": true},
		"aws":            map[string]any{"region": "ap-south-1"},
		"serviceAccount": map[string]any{"roleArn": "arn:aws:iam::999999999999:role/ss"},
		"resources":      map[string]any{"limits": map[string]any{"memory": "1Gi"}},
		"webhook":        map[string]any{"enabled": false},
		"image":          map[string]any{"tag": "v9.9.9"},
		"extraEnv":       []any{map[string]any{"name": "SECRETSYNC_NAMESPACES", "value": "a,b"}},
		"events":         map[string]any{"queueURL": "https://sqs.example/1/q", "accounts": "111122223333", "minInterval": "30s"},
	})
	b, _ := json.Marshal(objs)
	text := string(b)
	for _, want := range []string{`"replicas":1`, "ssh://git@example.com/acme/secrets.git", `"value":"release"`, `"value":"prod"`, "ap-south-1",
		"arn:aws:iam::999999999999:role/ss", `"memory":"1Gi"`, "ghcr.io/secretsync/secretsync:v9.9.9", "SECRETSYNC_NAMESPACES", "https://sqs.example/1/q",
		`{"name":"SECRETSYNC_NAMESPACED_ONLY","value":"true"}`,
		`{"name":"SECRETSYNC_EVENTS_ACCOUNTS","value":"111122223333"}`, `{"name":"SECRETSYNC_EVENTS_MIN_INTERVAL","value":"30s"}`} {
		if !strings.Contains(text, want) {
			t.Errorf("the rendered chart lacks %s", want)
		}
	}
	for _, gone := range []string{"PodDisruptionBudget secretsync/secretsync", "Service secretsync/secretsync-webhook"} {
		if _, ok := objs[gone]; ok {
			t.Errorf("%s is rendered with replicas 1 and the webhook off", gone)
		}
	}
	if strings.Contains(text, "SECRETSYNC_WEBHOOK_SECRET_FILE") {
		t.Error("the webhook's secret file is set with the webhook off")
	}
}

// TestTheChartLints runs Helm's own linter (helm lint) on the chart, with
// defaults and with every toggle on; warnings fail too.
func TestTheChartLints(t *testing.T) {
	for _, values := range []map[string]any{nil, allToggles} {
		l := lint.All(chartDir, values, "secretsync", false)
		for _, m := range l.Messages {
			if m.Severity >= support.WarningSev {
				t.Errorf("helm lint: %s", m)
			}
		}
	}
}

// TestTheReleaseVersionIsOneEverywhere: VERSION, the chart and the image
// the manifests deploy name the same release.
func TestTheReleaseVersionIsOneEverywhere(t *testing.T) {
	b, err := os.ReadFile("../../VERSION")
	if err != nil {
		t.Fatal(err)
	}
	v := strings.TrimSpace(string(b))
	ch, err := loader.Load(chartDir)
	if err != nil {
		t.Fatal(err)
	}
	if ch.Metadata.Version != v || ch.Metadata.AppVersion != "v"+v {
		t.Fatalf("VERSION %s, chart version %s, appVersion %s", v, ch.Metadata.Version, ch.Metadata.AppVersion)
	}
	for _, o := range kustomizeBuild(t, "../../manifests/base") {
		if o["kind"] != "Deployment" {
			continue
		}
		if img := fmt.Sprint(o["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)["containers"].([]any)[0].(map[string]any)["image"]); img != "ghcr.io/secretsync/secretsync:v"+v {
			t.Fatalf("manifests/base deploys %s, not release v%s", img, v)
		}
	}
}
