package render_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestASymlinkedFolderOutsideTheRenderIsNamedAsDropped: a folder render
// does not enter a symlinked folder; one whose target lies outside the
// rendered folder (elsewhere in the repo) holding an ExternalSecret is
// named in Dropped, as a Helm chart or an ignored folder is; one that
// points inside the rendered folder (read there) and one with no ESO
// object are not.
func TestASymlinkedFolderOutsideTheRenderIsNamedAsDropped(t *testing.T) {
	dir := tree(t, map[string]string{
		"root/es.yaml":       es("x", "k"),
		"root/inner/es.yaml": es("inner", "k"),
		"other/a/es.yaml":    es("a", "k"),
		"other/plain/c.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\n",
	})
	for link, target := range map[string]string{"root/a": "../other/a", "root/in": "inner", "root/plain": "../other/plain"} {
		if err := os.Symlink(target, filepath.Join(dir, link)); err != nil {
			t.Fatal(err)
		}
	}
	set := mustRender(t, dir, "root")
	if diff := cmp.Diff([]string{"default/inner", "default/x"}, esNames(set)); diff != "" {
		t.Fatalf("ExternalSecrets (-want +got):\n%s", diff)
	}
	var got []string
	for _, d := range set.Dropped {
		for _, o := range d.Objects {
			got = append(got, d.Path+" ["+d.Reason+"]: "+o.String())
		}
	}
	want := []string{"root/a [a symlinked folder (to other/a), which a folder render does not enter]: ExternalSecret default/a in other/a/es.yaml"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("dropped (-want +got):\n%s", diff)
	}
}
