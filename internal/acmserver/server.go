// Package acmserver is an AWS Certificate Manager-compatible server for
// tests (JSON 1.1 protocol): GetCertificate, DescribeCertificate and
// ExportCertificate, which kumo lacks. The private key comes back as
// "ENCRYPTED PRIVATE KEY" PEM (PKCS#8, PBES2 with AES-256-CBC), encrypted
// with the caller's passphrase, as ACM does.
package acmserver

import (
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/youmark/pkcs8"
)

type certificate struct {
	cert, chain string
	key         any
	exportable  bool
}

// Server holds certificates; use it as an http.Handler.
type Server struct {
	mu    sync.Mutex
	certs map[string]*certificate
	calls map[string]int
}

// New returns an empty server.
func New() *Server { return &Server{certs: map[string]*certificate{}, calls: map[string]int{}} }

// Add stores a certificate, its chain (PEM) and its private key (PEM,
// PKCS#8 or PKCS#1/EC) and returns its ARN.
func (s *Server) Add(cert, chain, keyPEM string, exportable bool) (string, error) {
	block, _ := pem.Decode([]byte(keyPEM))
	if block == nil {
		return "", fmt.Errorf("key is not PEM")
	}
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		if key, err = x509.ParseECPrivateKey(block.Bytes); err != nil {
			if key, err = x509.ParsePKCS1PrivateKey(block.Bytes); err != nil {
				return "", err
			}
		}
	}
	sum := sha256.Sum256([]byte(cert))
	arn := "arn:aws:acm:us-east-1:111122223333:certificate/" + hex.EncodeToString(sum[:8])
	s.mu.Lock()
	defer s.mu.Unlock()
	s.certs[arn] = &certificate{cert: cert, chain: chain, key: key, exportable: exportable}
	return arn, nil
}

// Replace renews a certificate in place (same ARN), as a renewal does.
func (s *Server) Replace(arn, cert, chain string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.certs[arn]; c != nil {
		c.cert, c.chain = cert, chain
	}
}

// Calls counts requests by operation.
func (s *Server) Calls() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]int{}
	for k, v := range s.calls {
		out[k] = v
	}
	return out
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	op := r.Header.Get("X-Amz-Target")
	op = op[strings.LastIndexByte(op, '.')+1:]
	var in struct {
		CertificateArn string
		Passphrase     []byte
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		writeError(w, "ValidationException", "the body is not JSON")
		return
	}
	s.mu.Lock()
	s.calls[op]++
	c := s.certs[in.CertificateArn]
	s.mu.Unlock()
	if c == nil {
		writeError(w, "ResourceNotFoundException", "Could not find certificate "+in.CertificateArn+".")
		return
	}
	out := map[string]any{}
	switch op {
	case "GetCertificate":
		out["Certificate"], out["CertificateChain"] = c.cert, c.chain
	case "DescribeCertificate":
		export := "DISABLED"
		if c.exportable {
			export = "ENABLED"
		}
		out["Certificate"] = map[string]any{"CertificateArn": in.CertificateArn, "Options": map[string]any{"Export": export}}
	case "ExportCertificate":
		if !c.exportable {
			writeError(w, "ValidationException", "Certificate "+in.CertificateArn+" is not exportable.")
			return
		}
		if len(in.Passphrase) < 4 {
			writeError(w, "ValidationException", "The passphrase must be 4 to 128 characters.")
			return
		}
		der, err := pkcs8.MarshalPrivateKey(c.key, in.Passphrase, &pkcs8.Opts{Cipher: pkcs8.AES256CBC,
			KDFOpts: pkcs8.PBKDF2Opts{SaltSize: 16, IterationCount: 2048, HMACHash: crypto.SHA256}})
		if err != nil {
			writeError(w, "InternalFailure", err.Error())
			return
		}
		out["Certificate"], out["CertificateChain"] = c.cert, c.chain
		out["PrivateKey"] = string(pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: der}))
	default:
		writeError(w, "UnknownOperationException", "unsupported operation "+op)
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	_ = json.NewEncoder(w).Encode(out)
}

func writeError(w http.ResponseWriter, code, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.WriteHeader(http.StatusBadRequest)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": code, "message": msg})
}
