package gitsource_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"golang.org/x/crypto/ssh"

	"github.com/secretsync/secretsync/gitsource"
	"github.com/secretsync/secretsync/internal/gittest"
)

func newKey(t *testing.T, name string) (*openpgp.Entity, string) {
	t.Helper()
	e, err := openpgp.NewEntity(name, "", name+"@example.com", nil)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	w, err := armor.Encode(&buf, openpgp.PublicKeyType, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Serialize(w); err != nil {
		t.Fatal(err)
	}
	w.Close()
	return e, buf.String()
}

func TestSignatureVerification(t *testing.T) {
	trusted, keyring := newKey(t, "release")
	other, _ := newKey(t, "mallory")
	cases := []struct {
		name string
		key  *openpgp.Entity
		ok   bool
	}{
		{"a commit signed by a trusted key is applied", trusted, true},
		{"an unsigned commit is refused", nil, false},
		{"a commit signed by another key is refused", other, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			repo, root := newRepo(t)
			head, err := repo.CommitSigned("change", map[string]string{"a.yaml": "x"}, c.key)
			if err != nil {
				t.Fatal(err)
			}
			src, _ := gitsource.New(gitsource.Options{URL: "file://" + repo.Dir, Ref: "main", Dir: filepath.Join(root, "c"), TrustedKeys: keyring})
			snap, err := src.Fetch(context.Background())
			if c.ok {
				if err != nil || snap.Commit != head {
					t.Fatalf("fetch: %v", err)
				}
				return
			}
			var u *gitsource.UntrustedError
			if !errors.As(err, &u) || !gitsource.Terminal(err) || !strings.Contains(err.Error(), head) {
				t.Fatalf("err = %v; want an untrusted-commit error naming %s", err, head)
			}
		})
	}
}

func TestSSHChecksKnownHosts(t *testing.T) {
	repo, root := newRepo(t)
	head := commit(t, repo, map[string]string{"a.yaml": "x"})
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sshPub, _ := ssh.NewPublicKey(pub)
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(root, "id_ed25519")
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	srv, err := gittest.ServeSSH(root, sshPub)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	url := "ssh://git@" + srv.Addr + "/repo"

	known := filepath.Join(root, "known_hosts")
	if err := os.WriteFile(known, []byte(srv.KnownHostsLine()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Run("a known host is fetched from", func(t *testing.T) {
		src, err := gitsource.New(gitsource.Options{URL: url, Ref: "main", Dir: filepath.Join(root, "ok"),
			SSH: &gitsource.SSHAuth{PrivateKeyFile: keyFile, KnownHostsFile: known}})
		if err != nil {
			t.Fatal(err)
		}
		if snap := fetch(t, src); snap.Commit != head {
			t.Fatalf("commit %s", snap.Commit)
		}
	})
	t.Run("an unknown host is refused", func(t *testing.T) {
		other, _, _ := ed25519.GenerateKey(rand.Reader)
		otherPub, _ := ssh.NewPublicKey(other)
		stranger := filepath.Join(root, "known_hosts_other")
		line := strings.Replace(srv.KnownHostsLine(), strings.TrimSpace(string(ssh.MarshalAuthorizedKey(srv.HostKey))), strings.TrimSpace(string(ssh.MarshalAuthorizedKey(otherPub))), 1)
		if err := os.WriteFile(stranger, []byte(line+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		src, _ := gitsource.New(gitsource.Options{URL: url, Ref: "main", Dir: filepath.Join(root, "bad"),
			SSH: &gitsource.SSHAuth{PrivateKeyFile: keyFile, KnownHostsFile: stranger}})
		if _, err := src.Fetch(context.Background()); err == nil || !strings.Contains(err.Error(), "key") {
			t.Fatalf("err = %v; want a host key error", err)
		}
	})
	t.Run("no known_hosts at all is refused", func(t *testing.T) {
		src, _ := gitsource.New(gitsource.Options{URL: url, Ref: "main", Dir: filepath.Join(root, "none"),
			SSH: &gitsource.SSHAuth{PrivateKeyFile: keyFile}})
		if _, err := src.Fetch(context.Background()); err == nil || !strings.Contains(err.Error(), "known_hosts") {
			t.Fatalf("err = %v", err)
		}
	})
}
