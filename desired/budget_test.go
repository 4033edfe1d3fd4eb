package desired_test

import (
	"errors"
	"testing"

	"github.com/secretsync/secretsync/desired"
	"github.com/secretsync/secretsync/render"
)

// TestARewriteTemplateBombStopsAtTheBudget: a rewrite transform is a
// template too, run under the same budget: a `repeat` bomb on a key name is
// an error, and a transform within it still renames.
func TestARewriteTemplateBombStopsAtTheBudget(t *testing.T) {
	g := &render.Generator{}
	g.Kind, g.Name = render.KindUUID, "id"
	bomb := []render.Rewrite{{Transform: &render.RewriteTransform{Template: `{{ repeat 100000000 .value }}`}}}
	if _, err := desired.GeneratedKeys(g, bomb); !errors.Is(err, render.ErrBudget) {
		t.Fatalf("want a budget error, got %v", err)
	}
	upper := []render.Rewrite{{Transform: &render.RewriteTransform{Template: `{{ .value | upper }}`}}}
	if keys, err := desired.GeneratedKeys(g, upper); err != nil || keys["uuid"] != "UUID" {
		t.Fatalf("a transform within the budget: %v, %v", keys, err)
	}
}
