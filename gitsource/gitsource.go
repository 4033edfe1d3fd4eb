// Package gitsource brings a Git ref to a local checkout with go-git and
// names the result by revision. It knows nothing of what the repo holds.
package gitsource

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/go-git/go-billy/v5"
	"github.com/go-git/go-billy/v5/osfs"
	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	"github.com/go-git/go-git/v5/storage/filesystem"
)

// Snapshot is one checked-out revision.
type Snapshot struct {
	// Revision is <ref>@sha1:<hex>, or sha1:<hex> when the ref is a commit,
	// as Flux names revisions.
	Revision string
	// Commit is the hex commit id.
	Commit string
	// Dir is the checkout's root folder.
	Dir string
}

// Auth holds HTTPS credentials. Username and Password give basic auth (a
// token works as the password with most hosts); BearerToken sends an
// Authorization: Bearer header instead.
type Auth struct {
	Username    string
	Password    string
	BearerToken string
}

func (a Auth) method() transport.AuthMethod {
	switch {
	case a.BearerToken != "":
		return &githttp.TokenAuth{Token: a.BearerToken}
	case a.Username != "" || a.Password != "":
		user := a.Username
		if user == "" {
			user = "git"
		}
		return &githttp.BasicAuth{Username: user, Password: a.Password}
	}
	return nil
}

// Options configure a Source.
type Options struct {
	URL string // file://, http:// or https://
	// Ref is a branch, a tag, a full ref name, or a 40-hex commit id.
	Ref string
	// Dir is where the checkout lives; it is reused across passes and
	// restarts.
	Dir  string
	Auth Auth
	// Timeout bounds each network step (listing refs, fetching).
	Timeout time.Duration
	// TrustedKeys, an armored OpenPGP public keyring, makes Fetch refuse a
	// revision whose commit (or annotated tag) is not signed by one of them.
	TrustedKeys string
	// SSH authenticates ssh:// URLs.
	SSH *SSHAuth
	// MaxBytes bounds the checkout's .git folder (default 512 MiB): a repo
	// that grows past it is refused, and its download removed.
	MaxBytes int64
}

// Source fetches one ref of one repo.
type Source struct {
	opts    Options
	repo    *git.Repository
	sshAuth transport.AuthMethod
}

var commitRE = regexp.MustCompile(`^[0-9a-f]{40}$`)

// New checks opts; nothing touches the network until Fetch.
func New(opts Options) (*Source, error) {
	if opts.URL == "" {
		return nil, errors.New("git: repo URL is required")
	}
	opts.URL = scpToSSH(opts.URL)
	u, err := url.Parse(opts.URL)
	if err != nil {
		return nil, fmt.Errorf("git: repo URL: %w", err)
	}
	switch u.Scheme {
	case "file", "http", "https":
	case "ssh":
		if opts.SSH == nil {
			return nil, errors.New("git: an ssh:// repo needs an SSH key and known_hosts")
		}
	default:
		return nil, fmt.Errorf("git: repo URL scheme %q is not supported; use https://, ssh://, http:// or file://", u.Scheme)
	}
	if opts.Ref == "" {
		opts.Ref = "main"
	}
	if opts.Dir == "" {
		return nil, errors.New("git: checkout dir is required")
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 60 * time.Second
	}
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = 512 << 20
	}
	return &Source{opts: opts}, nil
}

// scpLike is git's short form of an SSH URL: [user@]host:path.
var scpLike = regexp.MustCompile(`^(?:([\w.-]+)@)?([\w.-]+):([^/].*)$`)

// scpToSSH turns git's scp-like form (git@github.com:acme/x.git) into
// the ssh:// URL it means, as git and Flux accept it; any other URL is
// returned as it is.
func scpToSSH(raw string) string {
	if strings.Contains(raw, "://") {
		return raw
	}
	m := scpLike.FindStringSubmatch(raw)
	if m == nil {
		return raw
	}
	user := ""
	if m[1] != "" {
		user = m[1] + "@"
	}
	return "ssh://" + user + m[2] + "/" + m[3]
}

// URL is the repo URL without any credentials, safe to log.
func (s *Source) URL() string { return redactURL(s.opts.URL) }

// Fetch brings the ref to the checkout. When the remote still points at the
// commit already checked out, it lists refs and fetches nothing.
func (s *Source) Fetch(ctx context.Context) (Snapshot, error) {
	snap, err := s.fetch(ctx)
	if err != nil {
		return Snapshot{}, fmt.Errorf("git %s ref %s: %w", s.URL(), s.opts.Ref, scrub(err, s.opts))
	}
	return snap, nil
}

func (s *Source) fetch(ctx context.Context) (Snapshot, error) {
	if err := s.open(); err != nil {
		return Snapshot{}, err
	}
	var want, tag plumbing.Hash
	var refspec config.RefSpec
	ref := s.opts.Ref
	isCommit := commitRE.MatchString(ref)
	if isCommit {
		want = plumbing.NewHash(ref)
		refspec = "+refs/heads/*:refs/remotes/origin/*"
	} else {
		name, hash, tagObj, err := s.resolve(ctx)
		if err != nil {
			return Snapshot{}, err
		}
		want, tag = hash, tagObj
		refspec = config.RefSpec("+" + name.String() + ":" + targetRef.String())
	}

	if _, err := s.repo.CommitObject(want); err != nil {
		if err := s.download(ctx, refspec, !isCommit); err != nil {
			return Snapshot{}, err
		}
		if _, err := s.repo.CommitObject(want); err != nil {
			return Snapshot{}, fmt.Errorf("commit %s not found after fetch", want)
		}
	}
	if s.opts.TrustedKeys != "" {
		if err := s.verify(want, tag); err != nil {
			return Snapshot{}, err
		}
	}
	if err := s.checkout(want); err != nil {
		return Snapshot{}, err
	}
	rev := "sha1:" + want.String()
	if !isCommit {
		rev = ref + "@" + rev
	}
	return Snapshot{Revision: rev, Commit: want.String(), Dir: s.opts.Dir}, nil
}

// objectCacheBytes bounds go-git's cache of decoded objects. Its default,
// 96 MiB, would keep the whole tree of a large repo for the life of the
// process; a pass reads each object once.
const objectCacheBytes = 4 * cache.MiByte

// storage opens dir's .git with the small object cache, and dir as the
// worktree.
func storage(dir string) (*filesystem.Storage, billy.Filesystem) {
	wt := osfs.New(dir)
	dot, _ := wt.Chroot(git.GitDirName)
	return filesystem.NewStorage(dot, cache.NewObjectLRU(objectCacheBytes)), wt
}

// open reuses the checkout from an earlier pass or process, or starts one.
func (s *Source) open() error {
	if s.repo != nil {
		return nil
	}
	repo, err := git.Open(storage(s.opts.Dir))
	if err == nil {
		if r, err := repo.Remote("origin"); err == nil && r.Config().URLs[0] == s.opts.URL {
			s.repo = repo
			return nil
		}
	}
	// Anything else there is from another repo or broken: start again.
	if err := os.RemoveAll(s.opts.Dir); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(s.opts.Dir), 0o700); err != nil {
		return err
	}
	repo, err = git.Init(storage(s.opts.Dir))
	if err != nil {
		return err
	}
	if _, err := repo.CreateRemote(&config.RemoteConfig{Name: "origin", URLs: []string{s.opts.URL}}); err != nil {
		return err
	}
	s.repo = repo
	return nil
}

// resolve lists the remote's refs and finds the configured one: a full ref
// name, else a branch, else a tag (peeled to its commit).
func (s *Source) resolve(ctx context.Context) (name plumbing.ReferenceName, commit, tag plumbing.Hash, err error) {
	remote, err := s.repo.Remote("origin")
	if err != nil {
		return "", plumbing.ZeroHash, plumbing.ZeroHash, err
	}
	lctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	defer cancel()
	auth, err := s.auth()
	if err != nil {
		return "", plumbing.ZeroHash, plumbing.ZeroHash, err
	}
	refs, err := remote.ListContext(lctx, &git.ListOptions{Auth: auth, PeelingOption: git.AppendPeeled})
	if err != nil {
		return "", plumbing.ZeroHash, plumbing.ZeroHash, fmt.Errorf("list refs: %w", err)
	}
	byName := map[string]plumbing.Hash{}
	for _, r := range refs {
		if r.Type() == plumbing.HashReference {
			byName[r.Name().String()] = r.Hash()
		}
	}
	candidates := []string{s.opts.Ref, "refs/heads/" + s.opts.Ref, "refs/tags/" + s.opts.Ref}
	if !strings.HasPrefix(s.opts.Ref, "refs/") {
		candidates = candidates[1:]
	}
	for _, c := range candidates {
		if h, ok := byName[c]; ok {
			if peeled, ok := byName[c+"^{}"]; ok {
				return plumbing.ReferenceName(c), peeled, h, nil // annotated tag: the commit it points at
			}
			return plumbing.ReferenceName(c), h, plumbing.ZeroHash, nil
		}
	}
	return "", plumbing.ZeroHash, plumbing.ZeroHash, fmt.Errorf("ref %q is not a branch or tag of the repo", s.opts.Ref)
}

// targetRef is where the fetched ref is kept in the checkout.
const targetRef = plumbing.ReferenceName("refs/secretsync/target")

// download fetches refspec. The first fetch of a ref is shallow (depth 1).
// Later ones are incremental: the commit already held is sent as a "have",
// so the server sends only the new objects, and the history stays as
// shallow as it was (a depth-1 fetch into a shallow checkout has the
// server pack the whole tree again: 0.85 s instead of 25 ms for 5 MB of
// manifests). When an incremental fetch fails or grows the checkout past
// MaxBytes (say, after a force push onto an unrelated history), the
// checkout starts again with a shallow fetch.
func (s *Source) download(ctx context.Context, refspec config.RefSpec, shallow bool) error {
	fetch := func(depth int) error {
		fctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
		defer cancel()
		auth, err := s.auth()
		if err != nil {
			return err
		}
		err = s.repo.FetchContext(fctx, &git.FetchOptions{
			RemoteName: "origin",
			RefSpecs:   []config.RefSpec{refspec},
			Depth:      depth,
			Auth:       auth,
			Tags:       git.NoTags,
			Force:      true,
		})
		if errors.Is(err, git.NoErrAlreadyUpToDate) {
			err = nil
		}
		if err != nil {
			return wrapFetch(err)
		}
		return s.checkSize()
	}
	fresh := 0 // the depth of a fetch into an empty checkout
	if shallow {
		fresh = 1
	}
	depth := fresh
	if _, err := s.repo.Reference(targetRef, false); shallow && err == nil {
		depth = 0 // incremental: the held commit is the "have"
	}
	err := fetch(depth)
	if err == nil || ctx.Err() != nil || isAuthError(err) || (errors.Is(err, errTooLarge) && depth == fresh) {
		return err
	}
	s.repo = nil
	if err := os.RemoveAll(s.opts.Dir); err != nil {
		return err
	}
	if err := s.open(); err != nil {
		return err
	}
	return fetch(fresh)
}

var errTooLarge = errors.New("the repo is too large")

// checkSize refuses a checkout whose history passed MaxBytes.
func (s *Source) checkSize() error {
	var total int64
	_ = filepath.WalkDir(filepath.Join(s.opts.Dir, ".git"), func(_ string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if info, err := d.Info(); err == nil {
				total += info.Size()
			}
		}
		return nil
	})
	if total > s.opts.MaxBytes {
		s.repo = nil
		_ = os.RemoveAll(s.opts.Dir)
		return fmt.Errorf("%w: its history is %d MiB, over the %d MiB limit", errTooLarge, total>>20, s.opts.MaxBytes>>20)
	}
	return nil
}

func wrapFetch(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("fetch: %w", err)
}

func isAuthError(err error) bool {
	return errors.Is(err, transport.ErrAuthenticationRequired) ||
		errors.Is(err, transport.ErrAuthorizationFailed) ||
		errors.Is(err, transport.ErrRepositoryNotFound)
}

func (s *Source) checkout(h plumbing.Hash) error {
	wt, err := s.repo.Worktree()
	if err != nil {
		return err
	}
	if head, err := s.repo.Head(); err == nil && head.Hash() == h {
		if st, err := wt.Status(); err == nil && st.IsClean() {
			return nil
		}
	}
	if err := wt.Checkout(&git.CheckoutOptions{Hash: h, Force: true}); err != nil {
		return fmt.Errorf("checkout %s: %w", h, err)
	}
	return wt.Clean(&git.CleanOptions{Dir: true})
}

// verify refuses a revision not signed by a trusted key: the commit, or
// for an annotated tag, the tag or its commit.
func (s *Source) verify(commit, tag plumbing.Hash) error {
	if !tag.IsZero() {
		if t, err := s.repo.TagObject(tag); err == nil {
			if _, err := t.Verify(s.opts.TrustedKeys); err == nil {
				return nil
			}
		}
	}
	c, err := s.repo.CommitObject(commit)
	if err != nil {
		return err
	}
	if c.PGPSignature == "" {
		return &UntrustedError{Commit: commit.String(), Reason: "it is not signed"}
	}
	if _, err := c.Verify(s.opts.TrustedKeys); err != nil {
		return &UntrustedError{Commit: commit.String(), Reason: "its signature is not from a trusted key"}
	}
	return nil
}

// UntrustedError refuses a revision that fails signature verification.
type UntrustedError struct{ Commit, Reason string }

func (e *UntrustedError) Error() string {
	return fmt.Sprintf("commit %s refused: %s", e.Commit, e.Reason)
}

// Terminal reports whether err needs a change of configuration or access
// rather than a retry.
func Terminal(err error) bool {
	var u *UntrustedError
	return isAuthError(err) || errors.As(err, &u)
}

func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	u.User = url.User("redacted")
	return u.String()
}

// scrub removes credentials from an error's text: go-git can echo the URL.
func scrub(err error, o Options) error {
	msg := err.Error()
	clean := msg
	for _, secret := range []string{o.Auth.Password, o.Auth.BearerToken} {
		if secret != "" {
			clean = strings.ReplaceAll(clean, secret, "[REDACTED]")
		}
	}
	clean = strings.ReplaceAll(clean, o.URL, redactURL(o.URL))
	if clean == msg {
		return err
	}
	return &scrubbed{msg: clean, err: err}
}

type scrubbed struct {
	msg string
	err error
}

func (s *scrubbed) Error() string { return s.msg }
func (s *scrubbed) Unwrap() error { return s.err }
