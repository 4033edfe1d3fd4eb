package aws

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/acm"
	acmtypes "github.com/aws/aws-sdk-go-v2/service/acm/types"
	"github.com/youmark/pkcs8"

	"github.com/secretsync/secretsync/internal/parallel"
	"github.com/secretsync/secretsync/providers"
)

// ACMAPI lists the Certificate Manager calls secretsync makes.
type ACMAPI interface {
	GetCertificate(ctx context.Context, in *acm.GetCertificateInput, optFns ...func(*acm.Options)) (*acm.GetCertificateOutput, error)
	DescribeCertificate(ctx context.Context, in *acm.DescribeCertificateInput, optFns ...func(*acm.Options)) (*acm.DescribeCertificateOutput, error)
	ExportCertificate(ctx context.Context, in *acm.ExportCertificateInput, optFns ...func(*acm.Options)) (*acm.ExportCertificateOutput, error)
}

// acmClient is a cached Certificate Manager client, with the exports it
// made: ExportCertificate is only repeated when the certificate changed.
type acmClient struct {
	api     ACMAPI
	exports sync.Map // ARN -> acmExport
}

type acmExport struct {
	fingerprint string
	bundle      providers.Value
}

// acmProvider reads certificates from AWS Certificate Manager (service:
// CertificateManager) as ESO does: the key is the certificate's ARN and the
// value one PEM bundle, the certificate, its chain and its private key
// (decrypted, as PKCS#8), each trimmed and joined by newlines.
type acmProvider struct {
	id          string
	client      *acmClient
	concurrency int
	calls       *Calls
}

func (p *acmProvider) ID() string { return "aws-acm/" + p.id }

// Canonical leaves the ARN as it is: ACM has no prefix.
func (p *acmProvider) Canonical(ref providers.Ref) providers.Ref { return ref }

func (p *acmProvider) Resolve(ctx context.Context, refs []providers.Ref) map[providers.Ref]providers.Fetched {
	out := make(map[providers.Ref]providers.Fetched, len(refs))
	var mu sync.Mutex
	jobs := make([]func(), 0, len(refs))
	for _, ref := range refs {
		jobs = append(jobs, func() {
			v, err := p.export(ctx, ref.Key)
			mu.Lock()
			out[ref] = providers.Fetched{Value: v, Err: err}
			mu.Unlock()
		})
	}
	parallel.Run(p.concurrency, jobs)
	return out
}

func acmRef(arn string) string { return "acm:" + arn }

// fingerprint identifies a certificate and chain, as ESO's cache does.
func fingerprint(cert, chain string) string {
	h := sha256.New()
	h.Write([]byte(strings.TrimRight(cert, "\r\n")))
	if c := strings.TrimRight(chain, "\r\n"); c != "" {
		h.Write([]byte(c))
	}
	return hex.EncodeToString(h.Sum(nil))
}

func (p *acmProvider) export(ctx context.Context, arn string) (providers.Value, error) {
	got, err := p.client.api.GetCertificate(ctx, &acm.GetCertificateInput{CertificateArn: aws.String(arn)})
	p.calls.add("GetCertificate", err)
	if err != nil {
		return providers.Value{}, classify(acmRef(arn), err)
	}
	fp := fingerprint(aws.ToString(got.Certificate), aws.ToString(got.CertificateChain))
	if e, ok := p.client.exports.Load(arn); ok && e.(acmExport).fingerprint == fp {
		return e.(acmExport).bundle, nil
	}
	desc, err := p.client.api.DescribeCertificate(ctx, &acm.DescribeCertificateInput{CertificateArn: aws.String(arn)})
	p.calls.add("DescribeCertificate", err)
	if err != nil {
		return providers.Value{}, classify(acmRef(arn), err)
	}
	if d := desc.Certificate; d == nil || d.Options == nil || d.Options.Export != acmtypes.CertificateExportEnabled {
		return providers.Value{}, &providers.Error{Class: providers.Invalid, Ref: acmRef(arn), Err: errors.New("the certificate is not exportable (Options.Export is not ENABLED)")}
	}
	pass := make([]byte, 32)
	_, _ = rand.Read(pass)
	pass = []byte(hex.EncodeToString(pass)) // 64 characters: ACM takes 4 to 128
	exp, err := p.client.api.ExportCertificate(ctx, &acm.ExportCertificateInput{CertificateArn: aws.String(arn), Passphrase: pass})
	p.calls.add("ExportCertificate", err)
	if err != nil {
		return providers.Value{}, classify(acmRef(arn), err)
	}
	var parts []string
	for _, s := range []*string{exp.Certificate, exp.CertificateChain} {
		if s != nil {
			parts = append(parts, strings.TrimRight(*s, "\r\n"))
		}
	}
	if exp.PrivateKey != nil {
		key, err := decryptKey([]byte(*exp.PrivateKey), pass)
		if err != nil {
			return providers.Value{}, &providers.Error{Class: providers.Decrypt, Ref: acmRef(arn), Err: err}
		}
		parts = append(parts, strings.TrimRight(string(key), "\r\n"))
	}
	if len(parts) == 0 {
		return providers.Value{}, &providers.Error{Class: providers.Invalid, Ref: acmRef(arn), Err: errors.New("ExportCertificate returned nothing")}
	}
	bundle := providers.NewValue([]byte(strings.Join(parts, "\n") + "\n"))
	p.client.exports.Store(arn, acmExport{fingerprint: fp, bundle: bundle})
	return bundle, nil
}

// decryptKey turns ACM's "ENCRYPTED PRIVATE KEY" into PKCS#8 "PRIVATE KEY"
// PEM; an unencrypted key is kept as it is. Errors never quote the key.
func decryptKey(encrypted, pass []byte) ([]byte, error) {
	block, _ := pem.Decode(encrypted)
	switch {
	case block == nil:
		return nil, errors.New("the exported private key is not PEM")
	case block.Type == "PRIVATE KEY":
		return encrypted, nil
	case block.Type != "ENCRYPTED PRIVATE KEY":
		return nil, errors.New("the exported private key has an unexpected PEM type")
	}
	key, err := pkcs8.ParsePKCS8PrivateKey(block.Bytes, pass)
	if err != nil {
		return nil, errors.New("the exported private key cannot be decrypted")
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, errors.New("the exported private key cannot be written as PKCS#8")
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}
