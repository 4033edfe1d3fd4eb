// Package generators runs the External Secrets Operator generators that
// need no remote service: Password, UUID and SSHKey, with ESO 2.9.0's
// defaults, character sets and output keys. Values are random and never
// logged; errors never hold them.
package generators

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"

	"golang.org/x/crypto/ssh"

	"github.com/secretsync/secretsync/providers"
	"github.com/secretsync/secretsync/render"
)

// Local reports whether kind runs here, without a remote service.
func Local(kind string) bool {
	return kind == render.KindPassword || kind == render.KindUUID || kind == render.KindSSHKey
}

// Generate runs a local generator and returns its values by output key.
// It runs under ctx and render's budget: the spec is checked as validate
// checks it, every loop is bounded, and key generation, which cannot watch
// ctx, is waited for only until ctx or render.MaxRunTime ends.
func Generate(ctx context.Context, g *render.Generator) (map[string]providers.Value, error) {
	return render.Bounded(ctx, "generator "+g.Kind+"/"+g.Name, func() (map[string]providers.Value, error) {
		return generate(g)
	})
}

func generate(g *render.Generator) (map[string]providers.Value, error) {
	spec, err := g.DecodeSpec()
	if err != nil {
		return nil, err
	}
	out := map[string]providers.Value{}
	switch s := spec.(type) {
	case *render.PasswordSpec:
		if len(s.SecretKeys) > render.MaxGeneratorKeys {
			return nil, fmt.Errorf("password: at most %d secretKeys", render.MaxGeneratorKeys)
		}
		for _, k := range g.OutputKeys() {
			p, err := password(s)
			if err != nil {
				return nil, err
			}
			out[k] = providers.NewValue(p)
		}
	case *render.SSHKeySpec:
		if _, err := s.Check(); err != nil {
			return nil, fmt.Errorf("sshkey: %w", err)
		}
		priv, pub, err := sshKey(s)
		if err != nil {
			return nil, err
		}
		out["privateKey"], out["publicKey"] = providers.NewValue(priv), providers.NewValue(pub)
	default:
		if g.Kind != render.KindUUID {
			return nil, fmt.Errorf("generator kind %s does not run locally", g.Kind)
		}
		out["uuid"] = providers.NewValue([]byte(uuid4()))
	}
	return out, nil
}

// password makes one password as ESO does: digits and symbols placed at
// random among letters; without allowRepeat no character repeats. Each
// character is one draw from what its set has left, so it ends whatever
// the spec: render's Plan has refused what cannot be made.
func password(s *render.PasswordSpec) ([]byte, error) {
	p, _, err := s.Plan()
	if err != nil {
		return nil, fmt.Errorf("password: %w", err)
	}
	var out []rune
	pool := p.Pool()
	sets := []string{p.Letters, p.Digits, p.Symbols}
	// pick draws one character of sets[i]; without repeats, from the ones
	// left whose use keeps the rest makeable: at most one draw per
	// character of the set.
	pick := func(i int) (rune, error) {
		left := []rune(sets[i])
		for len(left) > 0 {
			n, err := rand.Int(rand.Reader, big.NewInt(int64(len(left))))
			if err != nil {
				return 0, err
			}
			c := left[n.Int64()]
			if s.AllowRepeat || pool.Take(i, c) {
				return c, nil
			}
			left = slices.Delete(left, int(n.Int64()), int(n.Int64())+1)
		}
		return 0, errors.New("password: not enough distinct characters")
	}
	for range p.NLetters {
		c, err := pick(0)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	insert := func(set int) error {
		c, err := pick(set)
		if err != nil {
			return err
		}
		n, err := rand.Int(rand.Reader, big.NewInt(int64(len(out)+1)))
		if err != nil {
			return err
		}
		out = slices.Insert(out, int(n.Int64()), c)
		return nil
	}
	for range p.NDigits {
		if err := insert(1); err != nil {
			return nil, err
		}
	}
	for range p.NSymbols {
		if err := insert(2); err != nil {
			return nil, err
		}
	}
	return encode([]byte(string(out)), s.Encoding), nil
}

func encode(b []byte, encoding *string) []byte {
	if encoding == nil {
		return b
	}
	switch *encoding {
	case "base64":
		return []byte(base64.StdEncoding.EncodeToString(b))
	case "base64url":
		return []byte(base64.URLEncoding.EncodeToString(b))
	case "base32":
		return []byte(base32.StdEncoding.EncodeToString(b))
	case "hex":
		return []byte(hex.EncodeToString(b))
	}
	return b
}

// uuid4 is a random (version 4) UUID in its canonical text form.
func uuid4() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// sshKey makes a key pair as ESO does: the private key in OpenSSH PEM, the
// public key in authorized_keys form with the comment.
func sshKey(s *render.SSHKeySpec) (priv, pub []byte, err error) {
	var key any
	switch s.KeyType {
	case "", "rsa":
		bits := 2048
		if s.KeySize != nil {
			bits = *s.KeySize
		}
		key, err = rsa.GenerateKey(rand.Reader, bits)
	case "ed25519":
		_, key, err = ed25519.GenerateKey(rand.Reader)
	case "ecdsa":
		curve := elliptic.P256()
		if s.KeySize != nil {
			switch *s.KeySize {
			case 384:
				curve = elliptic.P384()
			case 521:
				curve = elliptic.P521()
			}
		}
		key, err = ecdsa.GenerateKey(curve, rand.Reader)
	default:
		return nil, nil, fmt.Errorf("sshkey: key type %q is not supported", s.KeyType)
	}
	if err != nil {
		return nil, nil, errors.New("sshkey: cannot generate the key")
	}
	block, err := ssh.MarshalPrivateKey(key, s.Comment)
	if err != nil {
		return nil, nil, errors.New("sshkey: cannot encode the key")
	}
	signer, err := ssh.NewSignerFromKey(key)
	if err != nil {
		return nil, nil, errors.New("sshkey: cannot encode the public key")
	}
	pub = ssh.MarshalAuthorizedKey(signer.PublicKey())
	if s.Comment != "" {
		pub = []byte(strings.TrimSuffix(string(pub), "\n") + " " + s.Comment + "\n")
	}
	return pem.EncodeToMemory(block), pub, nil
}
