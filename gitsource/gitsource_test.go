package gitsource_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/secretsync/secretsync/gitsource"
	"github.com/secretsync/secretsync/internal/gittest"
)

func newRepo(t *testing.T) (*gittest.Repo, string) {
	t.Helper()
	root := t.TempDir()
	repo, err := gittest.Init(filepath.Join(root, "repo"))
	if err != nil {
		t.Fatal(err)
	}
	return repo, root
}

func commit(t *testing.T, r *gittest.Repo, files map[string]string) string {
	t.Helper()
	h, err := r.Commit("change", files)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func fetch(t *testing.T, src *gitsource.Source) gitsource.Snapshot {
	t.Helper()
	snap, err := src.Fetch(context.Background())
	if err != nil {
		t.Fatalf("fetch: %v", err)
	}
	return snap
}

func TestFetchFollowsABranchOverFile(t *testing.T) {
	repo, root := newRepo(t)
	first := commit(t, repo, map[string]string{"a.yaml": "one"})
	src, err := gitsource.New(gitsource.Options{URL: "file://" + repo.Dir, Ref: "main", Dir: filepath.Join(root, "checkout")})
	if err != nil {
		t.Fatal(err)
	}

	snap := fetch(t, src)
	if want := "main@sha1:" + first; snap.Revision != want {
		t.Fatalf("revision = %q, want %q", snap.Revision, want)
	}
	if got := readFile(t, snap.Dir, "a.yaml"); got != "one" {
		t.Fatalf("a.yaml = %q, want one", got)
	}

	t.Run("an unchanged remote gives the same revision", func(t *testing.T) {
		if again := fetch(t, src); again.Revision != snap.Revision {
			t.Fatalf("revision moved to %q", again.Revision)
		}
	})

	t.Run("a new commit is fetched, with deletions applied", func(t *testing.T) {
		second := commit(t, repo, map[string]string{"a.yaml": "", "b.yaml": "two"})
		snap := fetch(t, src)
		if want := "main@sha1:" + second; snap.Revision != want {
			t.Fatalf("revision = %q, want %q", snap.Revision, want)
		}
		if got := readFile(t, snap.Dir, "b.yaml"); got != "two" {
			t.Fatalf("b.yaml = %q", got)
		}
		if exists(snap.Dir, "a.yaml") {
			t.Fatal("a.yaml is still in the checkout after it was deleted")
		}
	})

	t.Run("a new Source reuses the checkout of an earlier process", func(t *testing.T) {
		again, err := gitsource.New(gitsource.Options{URL: "file://" + repo.Dir, Ref: "main", Dir: filepath.Join(root, "checkout")})
		if err != nil {
			t.Fatal(err)
		}
		if got := fetch(t, again); got.Revision != fetch(t, src).Revision {
			t.Fatalf("revision %q differs", got.Revision)
		}
	})
}

func TestFetchATagAndACommit(t *testing.T) {
	repo, root := newRepo(t)
	first := commit(t, repo, map[string]string{"a.yaml": "v1"})
	if err := repo.Tag("v1.0.0"); err != nil {
		t.Fatal(err)
	}
	commit(t, repo, map[string]string{"a.yaml": "v2"})

	tag, _ := gitsource.New(gitsource.Options{URL: "file://" + repo.Dir, Ref: "v1.0.0", Dir: filepath.Join(root, "tag")})
	snap := fetch(t, tag)
	if want := "v1.0.0@sha1:" + first; snap.Revision != want {
		t.Fatalf("tag revision = %q, want %q", snap.Revision, want)
	}
	if got := readFile(t, snap.Dir, "a.yaml"); got != "v1" {
		t.Fatalf("a.yaml at tag = %q", got)
	}

	byCommit, _ := gitsource.New(gitsource.Options{URL: "file://" + repo.Dir, Ref: first, Dir: filepath.Join(root, "commit")})
	snap = fetch(t, byCommit)
	if want := "sha1:" + first; snap.Revision != want {
		t.Fatalf("commit revision = %q, want %q", snap.Revision, want)
	}
	if got := readFile(t, snap.Dir, "a.yaml"); got != "v1" {
		t.Fatalf("a.yaml at commit = %q", got)
	}
}

func TestFetchErrorsNameTheRefAndTheRepo(t *testing.T) {
	repo, root := newRepo(t)
	commit(t, repo, map[string]string{"a.yaml": "x"})
	src, _ := gitsource.New(gitsource.Options{URL: "file://" + repo.Dir, Ref: "nope", Dir: filepath.Join(root, "c")})
	_, err := src.Fetch(context.Background())
	if err == nil || !strings.Contains(err.Error(), `"nope"`) || !strings.Contains(err.Error(), repo.Dir) {
		t.Fatalf("err = %v, want it to name ref nope and the repo", err)
	}
}

func TestFetchOverHTTPWithAuth(t *testing.T) {
	repo, root := newRepo(t)
	head := commit(t, repo, map[string]string{"a.yaml": "x"})
	const password = "s3cr3t-git-password"
	srv, err := gittest.Serve(root, "alice", password, "")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	url := srv.URL + "/repo"

	t.Run("basic auth with the right password clones shallow", func(t *testing.T) {
		src, _ := gitsource.New(gitsource.Options{URL: url, Ref: "main", Dir: filepath.Join(root, "ok"),
			Auth: gitsource.Auth{Username: "alice", Password: password}})
		if snap := fetch(t, src); snap.Commit != head {
			t.Fatalf("commit = %s, want %s", snap.Commit, head)
		}
		if !exists(filepath.Join(root, "ok", ".git"), "shallow") {
			t.Fatal("the clone is not shallow")
		}
	})

	t.Run("a later commit is fetched into the shallow checkout", func(t *testing.T) {
		src, _ := gitsource.New(gitsource.Options{URL: url, Ref: "main", Dir: filepath.Join(root, "ok"),
			Auth: gitsource.Auth{Username: "alice", Password: password}})
		next := commit(t, repo, map[string]string{"b.yaml": "y"})
		if snap := fetch(t, src); snap.Commit != next || readFile(t, snap.Dir, "b.yaml") != "y" {
			t.Fatalf("commit = %s, want %s", snap.Commit, next)
		}
	})

	t.Run("a wrong password fails without echoing it", func(t *testing.T) {
		src, _ := gitsource.New(gitsource.Options{URL: url, Ref: "main", Dir: filepath.Join(root, "bad"),
			Auth: gitsource.Auth{Username: "alice", Password: "wrong-" + password}})
		_, err := src.Fetch(context.Background())
		if err == nil {
			t.Fatal("fetch with a wrong password succeeded")
		}
		if strings.Contains(err.Error(), password) {
			t.Fatal("the error text contains the password")
		}
		if !gitsource.Terminal(err) {
			t.Fatalf("an auth failure should be terminal: %v", err)
		}
	})

	t.Run("an unreachable server fails within the timeout", func(t *testing.T) {
		src, _ := gitsource.New(gitsource.Options{URL: "http://127.0.0.1:1/repo", Ref: "main", Dir: filepath.Join(root, "down"), Timeout: 2 * time.Second})
		start := time.Now()
		if _, err := src.Fetch(context.Background()); err == nil {
			t.Fatal("fetch from a closed port succeeded")
		}
		if d := time.Since(start); d > 30*time.Second {
			t.Fatalf("fetch took %s", d)
		}
	})
}

func TestFetchOverHTTPWithBearerToken(t *testing.T) {
	repo, root := newRepo(t)
	head := commit(t, repo, map[string]string{"a.yaml": "x"})
	srv, err := gittest.Serve(root, "", "", "tok-123")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	src, _ := gitsource.New(gitsource.Options{URL: srv.URL + "/repo", Ref: "main", Dir: filepath.Join(root, "c"),
		Auth: gitsource.Auth{BearerToken: "tok-123"}})
	if snap := fetch(t, src); snap.Commit != head {
		t.Fatalf("commit = %s, want %s", snap.Commit, head)
	}
}

func TestARepoOverTheSizeLimitIsRefused(t *testing.T) {
	repo, root := newRepo(t)
	noise := make([]byte, 100<<10)
	_, _ = rand.Read(noise)
	commit(t, repo, map[string]string{"big.yaml": hex.EncodeToString(noise)})
	src, _ := gitsource.New(gitsource.Options{URL: "file://" + repo.Dir, Ref: "main", Dir: filepath.Join(root, "c"), MaxBytes: 16 << 10})
	if _, err := src.Fetch(context.Background()); err == nil || !strings.Contains(err.Error(), "limit") {
		t.Fatalf("err = %v", err)
	}
	if exists(root, "c") {
		t.Fatal("the oversized download was kept")
	}
}

// A later commit is fetched incrementally: the server sends the new objects
// only, and the checkout keeps the one commit of history it had.
func TestALaterCommitFetchesOnlyWhatIsNew(t *testing.T) {
	repo, root := newRepo(t)
	noise := make([]byte, 200<<10)
	_, _ = rand.Read(noise)
	commit(t, repo, map[string]string{"old.yaml": "x"})
	commit(t, repo, map[string]string{"big.yaml": hex.EncodeToString(noise)})
	dir := filepath.Join(root, "checkout")
	src, _ := gitsource.New(gitsource.Options{URL: "file://" + repo.Dir, Ref: "main", Dir: dir})
	fetch(t, src)
	before := dirSize(t, filepath.Join(dir, ".git"))
	next := commit(t, repo, map[string]string{"small.yaml": "y"})
	if snap := fetch(t, src); snap.Commit != next || readFile(t, snap.Dir, "big.yaml") != hex.EncodeToString(noise) {
		t.Fatalf("commit = %s, want %s with big.yaml unchanged", snap.Commit, next)
	}
	if grown := dirSize(t, filepath.Join(dir, ".git")) - before; grown > before/4 {
		t.Fatalf("the checkout grew by %d bytes from %d for one small file: the unchanged tree was sent again", grown, before)
	}
	r, err := git.PlainOpen(dir)
	if err != nil {
		t.Fatal(err)
	}
	commits, _ := r.CommitObjects()
	n := 0
	_ = commits.ForEach(func(*object.Commit) error { n++; return nil })
	if n != 2 {
		t.Fatalf("the checkout holds %d commits, want the 2 fetched (history stays shallow)", n)
	}
}

func dirSize(t *testing.T, dir string) int64 {
	t.Helper()
	var total int64
	err := filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			info, err := d.Info()
			if err != nil {
				return err
			}
			total += info.Size()
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return total
}
