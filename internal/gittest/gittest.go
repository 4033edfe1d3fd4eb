// Package gittest makes Git repos for tests and the demo, and serves them
// over smart HTTP with the real git http-backend.
package gittest

import (
	"crypto/subtle"
	"fmt"
	"net"
	"net/http"
	"net/http/cgi"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// Repo is a non-bare repository on branch main.
type Repo struct {
	Dir  string
	repo *git.Repository
}

// Init creates a repo in dir.
func Init(dir string) (*Repo, error) {
	r, err := git.PlainInitWithOptions(dir, &git.PlainInitOptions{
		InitOptions: git.InitOptions{DefaultBranch: plumbing.Main},
	})
	if err != nil {
		return nil, err
	}
	return &Repo{Dir: dir, repo: r}, nil
}

// Commit writes files (path -> content; empty content deletes the path),
// commits everything and returns the commit id.
func (r *Repo) Commit(msg string, files map[string]string) (string, error) {
	return r.CommitSigned(msg, files, nil)
}

// CommitSigned is Commit with an OpenPGP signature by key (nil: unsigned).
func (r *Repo) CommitSigned(msg string, files map[string]string, key *openpgp.Entity) (string, error) {
	for p, content := range files {
		full := filepath.Join(r.Dir, p)
		if content == "" {
			if err := os.RemoveAll(full); err != nil {
				return "", err
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return "", err
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			return "", err
		}
	}
	wt, err := r.repo.Worktree()
	if err != nil {
		return "", err
	}
	if err := wt.AddWithOptions(&git.AddOptions{All: true}); err != nil {
		return "", err
	}
	h, err := wt.Commit(msg, &git.CommitOptions{
		AllowEmptyCommits: true,
		Author:            &object.Signature{Name: "test", Email: "test@example.com", When: time.Now()},
		SignKey:           key,
	})
	if err != nil {
		return "", err
	}
	return h.String(), nil
}

// CopyDir commits every file below src into the repo under dst.
func (r *Repo) CopyDir(msg, src, dst string) (string, error) {
	files := map[string]string{}
	err := filepath.Walk(src, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		files[filepath.Join(dst, rel)] = string(b)
		return nil
	})
	if err != nil {
		return "", err
	}
	return r.Commit(msg, files)
}

// Tag creates a lightweight tag at HEAD.
func (r *Repo) Tag(name string) error {
	head, err := r.repo.Head()
	if err != nil {
		return err
	}
	_, err = r.repo.CreateTag(name, head.Hash(), nil)
	return err
}

// Server serves every repo below Root over smart HTTP at URL/<folder>.
type Server struct {
	URL string
	srv *http.Server
}

// Close stops the server.
func (s *Server) Close() error { return s.srv.Close() }

// Serve starts git http-backend for root on 127.0.0.1. With user set, every
// request must carry that basic auth; with token set, a bearer token.
func Serve(root, user, password, token string) (*Server, error) {
	backend, err := exec.LookPath("git")
	if err != nil {
		return nil, fmt.Errorf("git is needed to serve repos over HTTP: %w", err)
	}
	out, err := exec.Command(backend, "--exec-path").Output()
	if err != nil {
		return nil, fmt.Errorf("git --exec-path: %w", err)
	}
	h := &cgi.Handler{
		Path: filepath.Join(strings.TrimSpace(string(out)), "git-http-backend"),
		Env:  []string{"GIT_PROJECT_ROOT=" + root, "GIT_HTTP_EXPORT_ALL=1"},
	}
	auth := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case user != "":
			u, p, ok := r.BasicAuth()
			if !ok || !eq(u, user) || !eq(p, password) {
				w.Header().Set("WWW-Authenticate", `Basic realm="git"`)
				http.Error(w, "unauthorized", http.StatusUnauthorized)
				return
			}
		case token != "":
			if !eq(r.Header.Get("Authorization"), "Bearer "+token) {
				http.Error(w, "unauthorized", http.StatusUnauthorized)
				return
			}
		}
		h.ServeHTTP(w, r)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &Server{URL: "http://" + ln.Addr().String(), srv: &http.Server{Handler: auth, ReadHeaderTimeout: 10 * time.Second}}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

func eq(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }
