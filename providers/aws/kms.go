package aws

import (
	"context"
	"encoding/base64"
	"errors"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/smithy-go"

	"github.com/secretsync/secretsync/internal/parallel"
	"github.com/secretsync/secretsync/providers"
)

// KMSAPI lists the KMS calls secretsync makes.
type KMSAPI interface {
	Decrypt(ctx context.Context, in *kms.DecryptInput, optFns ...func(*kms.Options)) (*kms.DecryptOutput, error)
	Encrypt(ctx context.Context, in *kms.EncryptInput, optFns ...func(*kms.Options)) (*kms.EncryptOutput, error)
}

// Encryption context keys that bind a ciphertext to the one Secret key it
// may be written to. A ciphertext copied elsewhere fails to decrypt.
const (
	ContextNamespace = "secretsync.io/namespace"
	ContextSecret    = "secretsync.io/secret"
	ContextKey       = "secretsync.io/key"
)

// EncryptionContext is the context for a target.
func EncryptionContext(t providers.Target) map[string]string {
	return map[string]string{ContextNamespace: t.Namespace, ContextSecret: t.Secret, ContextKey: t.Key}
}

// kmsProvider decrypts values committed to Git as KMS ciphertext (base64
// in remoteRef.key), a secretsync extension to the ESO schema.
type kmsProvider struct {
	id          string
	client      KMSAPI
	keyID       string // required key; empty accepts the key the ciphertext names
	concurrency int
	calls       *Calls
}

func (p *kmsProvider) ID() string { return "aws-kms/" + p.id + "/" + p.keyID }

func (p *kmsProvider) Canonical(ref providers.Ref) providers.Ref { return ref }

func (p *kmsProvider) Resolve(ctx context.Context, refs []providers.Ref) map[providers.Ref]providers.Fetched {
	out := make(map[providers.Ref]providers.Fetched, len(refs))
	var mu sync.Mutex
	jobs := make([]func(), 0, len(refs))
	for _, ref := range refs {
		jobs = append(jobs, func() {
			f := p.decrypt(ctx, ref)
			mu.Lock()
			out[ref] = f
			mu.Unlock()
		})
	}
	parallel.Run(p.concurrency, jobs)
	return out
}

func (p *kmsProvider) decrypt(ctx context.Context, ref providers.Ref) providers.Fetched {
	name := "kms:" + ref.String()
	blob, err := base64.StdEncoding.DecodeString(ref.Key)
	if err != nil {
		return providers.Fetched{Err: &providers.Error{Class: providers.Invalid, Ref: name, Err: errors.New("remoteRef.key is not base64 ciphertext")}}
	}
	if ref.Target == (providers.Target{}) {
		return providers.Fetched{Err: &providers.Error{Class: providers.Invalid, Ref: name, Err: errors.New("KMS values must be bound to a target key (use data[], not dataFrom)")}}
	}
	in := &kms.DecryptInput{CiphertextBlob: blob, EncryptionContext: EncryptionContext(ref.Target)}
	if p.keyID != "" {
		in.KeyId = aws.String(p.keyID)
	}
	res, err := p.client.Decrypt(ctx, in)
	p.calls.add("Decrypt", err)
	if err != nil {
		return providers.Fetched{Err: classifyKMS(name, err)}
	}
	return providers.Fetched{Value: providers.NewValue(res.Plaintext)}
}

// Encrypt makes the ciphertext `secretsync encrypt` prints: plaintext
// under keyID, bound to target by the encryption context.
func Encrypt(ctx context.Context, client KMSAPI, keyID string, target providers.Target, plaintext providers.Value) (string, error) {
	res, err := client.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(keyID), Plaintext: plaintext.Bytes(), EncryptionContext: EncryptionContext(target)})
	if err != nil {
		return "", classifyKMS("kms:"+keyID, err)
	}
	return base64.StdEncoding.EncodeToString(res.CiphertextBlob), nil
}

// classifyKMS is classify for KMS: only NotFoundException (the key does not
// exist) is NotFound, the class deletionPolicy Delete and Merge take for a
// source that is gone. A key that is disabled, pending deletion or
// unavailable (DisabledException, KMSInvalidStateException,
// KeyUnavailableException) is Unavailable: the ciphertext is still there,
// so the Secret is kept and the failure reported.
func classifyKMS(ref string, err error) error {
	e := classify(ref, err)
	var api smithy.APIError
	if pe, ok := e.(*providers.Error); ok && pe.Class == providers.NotFound && (!errors.As(err, &api) || api.ErrorCode() != "NotFoundException") {
		pe.Class = providers.Unavailable
	}
	return e
}
