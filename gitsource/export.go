package gitsource

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/go-git/go-billy/v5"
	"github.com/go-git/go-billy/v5/osfs"
	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage/filesystem"
	"github.com/go-git/go-git/v5/storage/filesystem/dotgit"
)

// Root finds the repository that holds dir and returns its worktree root.
func Root(dir string) (string, error) {
	repo, err := git.PlainOpenWithOptions(dir, &git.PlainOpenOptions{DetectDotGit: true})
	if err != nil {
		return "", fmt.Errorf("git: %s is not in a repository: %w", dir, err)
	}
	wt, err := repo.Worktree()
	if err != nil {
		return "", err
	}
	return wt.Filesystem.Root(), nil
}

// Export writes the tree of rev (a branch, tag, commit or anything git
// rev-parse takes) of the repository at root into dest, and returns the
// commit id. Symlinks are not followed or written: render ignores them.
func Export(root, rev, dest string) (string, error) {
	repo, err := openCheckout(root)
	if err != nil {
		return "", fmt.Errorf("git: open %s: %w", root, err)
	}
	h, err := repo.ResolveRevision(plumbing.Revision(rev))
	if err != nil {
		return "", fmt.Errorf("git: revision %q: %w", rev, err)
	}
	commit, err := repo.CommitObject(*h)
	if err != nil {
		return "", err
	}
	tree, err := commit.Tree()
	if err != nil {
		return "", err
	}
	err = tree.Files().ForEach(func(f *object.File) error {
		if f.Mode != filemode.Regular && f.Mode != filemode.Executable {
			return nil
		}
		path := filepath.Join(dest, filepath.FromSlash(f.Name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		r, err := f.Reader()
		if err != nil {
			return err
		}
		defer r.Close()
		out, err := os.Create(path)
		if err != nil {
			return err
		}
		defer out.Close()
		_, err = io.Copy(out, r)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("git: export %s: %w", rev, err)
	}
	return h.String(), nil
}

// openCheckout opens the repository of a local checkout as git itself
// would: a linked worktree (.git is a file naming its gitdir, which shares
// refs and objects with the main one through commondir) and a clone made
// with --shared or --reference (objects/info/alternates with absolute
// paths) included.
func openCheckout(root string) (*git.Repository, error) {
	gitDir := filepath.Join(root, ".git")
	if b, err := os.ReadFile(gitDir); err == nil { // a file: a linked worktree
		line, ok := strings.CutPrefix(strings.TrimSpace(string(b)), "gitdir:")
		if !ok {
			return nil, fmt.Errorf("%s is neither a folder nor a gitdir: file", gitDir)
		}
		if gitDir = strings.TrimSpace(line); !filepath.IsAbs(gitDir) {
			gitDir = filepath.Join(root, gitDir)
		}
	}
	dot := osfs.New(gitDir)
	repoFS := billy.Filesystem(dot)
	if b, err := os.ReadFile(filepath.Join(gitDir, "commondir")); err == nil {
		common := strings.TrimSpace(string(b))
		if !filepath.IsAbs(common) {
			common = filepath.Join(gitDir, common)
		}
		repoFS = dotgit.NewRepositoryFilesystem(dot, osfs.New(common))
	}
	st := filesystem.NewStorageWithOptions(repoFS, cache.NewObjectLRUDefault(), filesystem.Options{AlternatesFS: osfs.New(string(filepath.Separator))})
	return git.Open(st, osfs.New(root))
}
