package gitsource_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/secretsync/secretsync/gitsource"
	"github.com/secretsync/secretsync/internal/gittest"
)

func gitCmd(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "HOME="+t.TempDir())
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
}

func TestExportFromEveryKindOfCheckout(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git command to make worktrees and shared clones with")
	}
	dir := t.TempDir()
	repo, err := gittest.Init(filepath.Join(dir, "origin"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := repo.Commit("one", map[string]string{"secrets/es.yaml": "kind: X\n"}); err != nil {
		t.Fatal(err)
	}
	gitCmd(t, repo.Dir, "worktree", "add", filepath.Join(dir, "worktree"), "-b", "feature")
	gitCmd(t, dir, "clone", "--shared", "-q", repo.Dir, filepath.Join(dir, "shared"))
	for _, checkout := range []string{"origin", "worktree", "shared"} {
		t.Run("a "+checkout+" checkout exports main", func(t *testing.T) {
			root, err := gitsource.Root(filepath.Join(dir, checkout, "secrets"))
			if err != nil {
				t.Fatal(err)
			}
			dest := t.TempDir()
			rev := "main"
			if checkout == "shared" {
				rev = "origin/main"
			}
			if _, err := gitsource.Export(root, rev, dest); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(filepath.Join(dest, "secrets", "es.yaml")); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestScpLikeURLsMeanSSH(t *testing.T) {
	cases := []struct{ in, want string }{
		{"git@github.com:acme/x.git", "ssh://redacted@github.com/acme/x.git"}, // URL() hides the user
		{"github.com:acme/x.git", "ssh://github.com/acme/x.git"},
		{"https://github.com/acme/x.git", "https://github.com/acme/x.git"},
		{"ssh://git@github.com/acme/x.git", "ssh://redacted@github.com/acme/x.git"},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			src, err := gitsource.New(gitsource.Options{URL: c.in, Dir: t.TempDir(), SSH: &gitsource.SSHAuth{}})
			if err != nil {
				t.Fatal(err)
			}
			if got := src.URL(); got != c.want {
				t.Fatalf("URL() = %q, want %q", got, c.want)
			}
		})
	}
	t.Run("without an SSH key it says what an ssh repo needs", func(t *testing.T) {
		_, err := gitsource.New(gitsource.Options{URL: "git@github.com:acme/x.git", Dir: t.TempDir()})
		if err == nil || !strings.Contains(err.Error(), "an ssh:// repo needs an SSH key") {
			t.Fatalf("err = %v", err)
		}
	})
}
