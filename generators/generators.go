// Package generators runs the External Secrets Operator generators that
// need no remote service: Password, UUID and SSHKey, with ESO 2.9.0's
// defaults, character sets and output keys. Values are random and never
// logged; errors never hold them.
package generators

import (
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
func Generate(g *render.Generator) (map[string]providers.Value, error) {
	spec, err := g.DecodeSpec()
	if err != nil {
		return nil, err
	}
	out := map[string]providers.Value{}
	switch s := spec.(type) {
	case *render.PasswordSpec:
		for _, k := range g.OutputKeys() {
			p, err := password(s)
			if err != nil {
				return nil, err
			}
			out[k] = providers.NewValue(p)
		}
	case *render.SSHKeySpec:
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

// The character sets of ESO's password generator.
const (
	lowerLetters  = "abcdefghijklmnopqrstuvwxyz"
	upperLetters  = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	digitChars    = "0123456789"
	defaultSymbol = "~!@#$%^&*()_+`-={}|[]\\:\"<>?,./"
)

// password makes one password as ESO does: length (24) characters, of which
// digits and symbols (each 25% of the length by default) are placed at
// random among letters; without allowRepeat no character repeats.
func password(s *render.PasswordSpec) ([]byte, error) {
	length := 24
	if s.Length > 0 {
		length = s.Length
	}
	digits, symbols := int(float32(length)*0.25), int(float32(length)*0.25)
	if s.Digits != nil {
		digits = *s.Digits
	}
	if s.Symbols != nil {
		symbols = *s.Symbols
	}
	symbolChars := defaultSymbol
	if s.SymbolCharacters != nil {
		symbolChars = *s.SymbolCharacters
	}
	letters := lowerLetters
	if !s.NoUpper {
		letters += upperLetters
	}
	nLetters := length - digits - symbols
	switch {
	case digits < 0 || symbols < 0 || nLetters < 0:
		return nil, errors.New("password: digits and symbols exceed the length")
	case !s.AllowRepeat && (digits > len(digitChars) || symbols > len(symbolChars) || nLetters > len(letters)):
		return nil, errors.New("password: without allowRepeat, there are not enough distinct characters for this length")
	case symbols > 0 && symbolChars == "":
		return nil, errors.New("password: symbols asked for, and symbolCharacters is empty")
	}
	var out []byte
	used := map[byte]bool{}
	pick := func(set string) error {
		for {
			n, err := rand.Int(rand.Reader, big.NewInt(int64(len(set))))
			if err != nil {
				return err
			}
			c := set[n.Int64()]
			if s.AllowRepeat || !used[c] {
				used[c] = true
				out = append(out, c)
				return nil
			}
		}
	}
	insert := func(set string) error {
		if err := pick(set); err != nil {
			return err
		}
		c := out[len(out)-1]
		n, err := rand.Int(rand.Reader, big.NewInt(int64(len(out))))
		if err != nil {
			return err
		}
		i := n.Int64()
		copy(out[i+1:], out[i:len(out)-1])
		out[i] = c
		return nil
	}
	for range nLetters {
		if err := pick(letters); err != nil {
			return nil, err
		}
	}
	for range digits {
		if err := insert(digitChars); err != nil {
			return nil, err
		}
	}
	for range symbols {
		if err := insert(symbolChars); err != nil {
			return nil, err
		}
	}
	return encode(out, s.Encoding), nil
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
