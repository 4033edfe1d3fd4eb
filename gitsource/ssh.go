package gitsource

import (
	"fmt"
	"os"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/transport"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// SSHAuth is a private key and the known_hosts file that must list the
// server's host key: an unknown or changed host is refused.
type SSHAuth struct {
	User           string // default "git"
	PrivateKeyFile string
	Passphrase     string
	KnownHostsFile string
}

func (s *Source) auth() (transport.AuthMethod, error) {
	if !strings.HasPrefix(s.opts.URL, "ssh://") {
		return s.opts.Auth.method(), nil
	}
	if s.sshAuth != nil {
		return s.sshAuth, nil
	}
	a := s.opts.SSH
	if a.KnownHostsFile == "" {
		return nil, fmt.Errorf("ssh: a known_hosts file is required; secretsync never trusts an unknown host")
	}
	key, err := os.ReadFile(a.PrivateKeyFile)
	if err != nil {
		return nil, fmt.Errorf("ssh: read private key: %w", err)
	}
	user := a.User
	if user == "" {
		user = "git"
	}
	pk, err := gitssh.NewPublicKeys(user, key, a.Passphrase)
	if err != nil {
		return nil, fmt.Errorf("ssh: private key: %w", err)
	}
	cb, err := knownhosts.New(a.KnownHostsFile)
	if err != nil {
		return nil, fmt.Errorf("ssh: known_hosts: %w", err)
	}
	pk.HostKeyCallback = cb
	s.sshAuth = pk
	return pk, nil
}
