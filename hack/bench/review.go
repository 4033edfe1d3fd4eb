package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/secretsync/secretsync/internal/gittest"
	"github.com/secretsync/secretsync/render"
)

// reviewBench times `secretsync validate` and `secretsync plan` on a repo
// of 1,000 ExternalSecrets across 20 kustomize overlays under one root,
// where the head changes every tenth mapping. Each is run five times; the
// median is reported.
func reviewBench(bin string) error {
	dir, err := os.MkdirTemp("", "secretsync-review-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	repo, err := gittest.Init(dir)
	if err != nil {
		return err
	}
	if _, err := repo.Commit("base", reviewRepo(1000, false)); err != nil {
		return err
	}
	for p, content := range reviewRepo(1000, true) {
		if err := os.WriteFile(filepath.Join(dir, p), []byte(content), 0o644); err != nil {
			return err
		}
	}
	median := func(args ...string) (float64, error) {
		var runs []float64
		for range 5 {
			start := time.Now()
			out, err := exec.Command(bin, args...).CombinedOutput()
			if err != nil {
				return 0, fmt.Errorf("%s: %v\n%s", strings.Join(args, " "), err, out)
			}
			runs = append(runs, time.Since(start).Seconds())
		}
		sort.Float64s(runs)
		return runs[len(runs)/2], nil
	}
	v, err := median("validate", filepath.Join(dir, "clusters"))
	if err != nil {
		return err
	}
	p, err := median("plan", "--base", "main", "-o", "markdown", filepath.Join(dir, "clusters"))
	if err != nil {
		return err
	}
	record("validate_1k_seconds", v, "s", "1,000 ExternalSecrets, 20 overlays, one kustomize root; median of 5")
	record("plan_1k_seconds", p, "s", "same repo, two revisions rendered; median of 5")
	return renderBench()
}

// renderBench renders 10,000 ExternalSecrets in 20 kustomize overlays
// under one root, cold (a new cache) and after one overlay changed (a warm
// cache). Medians of three.
func renderBench() error {
	dir, err := os.MkdirTemp("", "secretsync-render-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	files := reviewRepo(10000, false)
	for p, content := range files {
		if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(p)), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, p), []byte(content), 0o644); err != nil {
			return err
		}
	}
	timed := func(cache *render.Cache) (float64, error) {
		start := time.Now()
		set, err := render.Render(context.Background(), dir, "clusters", render.Options{Cache: cache})
		if err != nil {
			return 0, err
		}
		if len(set.ExternalSecrets) != 10000 {
			return 0, fmt.Errorf("rendered %d ExternalSecrets", len(set.ExternalSecrets))
		}
		return time.Since(start).Seconds(), nil
	}
	var cold, changed []float64
	for i := range 3 {
		s, err := timed(render.NewCache())
		if err != nil {
			return err
		}
		cold = append(cold, s)
		cache := render.NewCache()
		if _, err := timed(cache); err != nil {
			return err
		}
		overlay := filepath.Join(dir, "clusters/overlays/team-07/secrets.yaml")
		b, _ := os.ReadFile(overlay)
		if err := os.WriteFile(overlay, []byte(strings.Replace(string(b), "property: password", fmt.Sprintf("property: password_%d", i), 1)), 0o644); err != nil {
			return err
		}
		s, err = timed(cache)
		if err != nil {
			return err
		}
		changed = append(changed, s)
	}
	sort.Float64s(cold)
	sort.Float64s(changed)
	record("render_10k_seconds", cold[1], "s", "10,000 ExternalSecrets, 20 kustomize overlays under one root, cold")
	record("render_10k_one_changed_seconds", changed[1], "s", "the same after one overlay changed, cache warm")
	return nil
}

func reviewRepo(n int, head bool) map[string]string {
	files := map[string]string{}
	var overlays []string
	for o := range 20 {
		ns := fmt.Sprintf("team-%02d", o)
		overlays = append(overlays, "overlays/"+ns)
		var b strings.Builder
		b.WriteString("apiVersion: external-secrets.io/v1\nkind: SecretStore\nmetadata: {name: aws}\nspec: {provider: {aws: {service: SecretsManager, region: us-east-1}}}\n")
		for i := o; i < n; i += 20 {
			prop := "password"
			if head && i%10 == 0 {
				prop = "password_v2"
			}
			fmt.Fprintf(&b, "---\napiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: {name: app-%04d}\nspec:\n  secretStoreRef: {name: aws}\n  data: [{secretKey: password, remoteRef: {key: apps/app-%04d, property: %s}}]\n", i, i, prop)
		}
		files["clusters/overlays/"+ns+"/secrets.yaml"] = b.String()
		files["clusters/overlays/"+ns+"/kustomization.yaml"] = "namespace: " + ns + "\nresources: [secrets.yaml]\n"
	}
	files["clusters/kustomization.yaml"] = "resources:\n  - " + strings.Join(overlays, "\n  - ") + "\n"
	return files
}
