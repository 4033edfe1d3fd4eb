// Package aws resolves references against AWS Secrets Manager.
package aws

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/secretsync/secretsync/providers"
)

// SecretsManagerAPI lists the Secrets Manager calls secretsync makes.
type SecretsManagerAPI interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
	BatchGetSecretValue(ctx context.Context, in *secretsmanager.BatchGetSecretValueInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.BatchGetSecretValueOutput, error)
}

// Options are process-wide settings shared by every store.
type Options struct {
	// Endpoint overrides the Secrets Manager endpoint, for AWS-compatible
	// services, VPC endpoints with custom DNS, and tests. Empty uses AWS.
	Endpoint string
	// DefaultRegion is used by stores that name no region.
	DefaultRegion string
	// Concurrency bounds the calls in flight per store (default 16).
	Concurrency int
}

// Credentials are static keys read from the store's auth.secretRef.
type Credentials struct {
	AccessKeyID, SecretAccessKey, SessionToken providers.Value
}

// Store is one SecretStore's provider.aws settings.
type Store struct {
	Region string
	Prefix string
	// Credentials nil means the SDK default chain: environment, IRSA web
	// identity, EKS Pod Identity, instance role.
	Credentials *Credentials
}

// Factory builds providers and caches their clients across passes, so
// credentials and connections are reused.
type Factory struct {
	opts Options

	mu      sync.Mutex
	base    *aws.Config
	clients map[string]*client
	calls   *Calls
}

// client is a cached Secrets Manager client and what was learnt about it.
type client struct {
	api SecretsManagerAPI
	// noBatch is set once BatchGetSecretValue is refused (no permission,
	// or an endpoint without it); GetSecretValue is used from then on.
	noBatch atomic.Bool
}

// NewFactory returns a Factory with opts.
func NewFactory(opts Options) *Factory {
	if opts.Concurrency <= 0 {
		opts.Concurrency = 16
	}
	return &Factory{opts: opts, clients: map[string]*client{}, calls: &Calls{}}
}

// Calls reports the AWS calls made so far.
func (f *Factory) Calls() *Calls { return f.calls }

// Provider returns a provider for st, reusing a cached client when the
// region and credentials are the same as before.
func (f *Factory) Provider(ctx context.Context, st Store) (providers.Provider, error) {
	region := st.Region
	if region == "" {
		region = f.opts.DefaultRegion
	}
	if region == "" {
		return nil, errors.New("no region: set provider.aws.region on the store or --aws-region")
	}
	key := region
	if c := st.Credentials; c != nil {
		h := sha256.New()
		for _, v := range []providers.Value{c.AccessKeyID, c.SecretAccessKey, c.SessionToken} {
			h.Write(v.Bytes())
			h.Write([]byte{0})
		}
		key += "/" + hex.EncodeToString(h.Sum(nil))
	}

	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.clients[key]
	if !ok {
		if f.base == nil {
			cfg, err := config.LoadDefaultConfig(ctx)
			if err != nil {
				return nil, fmt.Errorf("load aws config: %w", err)
			}
			f.base = &cfg
		}
		cfg := f.base.Copy()
		cfg.Region = region
		if c := st.Credentials; c != nil {
			cfg.Credentials = aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(
				string(c.AccessKeyID.Bytes()), string(c.SecretAccessKey.Bytes()), string(c.SessionToken.Bytes())))
		}
		c = &client{api: secretsmanager.NewFromConfig(cfg, func(o *secretsmanager.Options) {
			if f.opts.Endpoint != "" {
				o.BaseEndpoint = aws.String(f.opts.Endpoint)
			}
		})}
		f.clients[key] = c
	}
	return &provider{id: key, client: c, prefix: st.Prefix, concurrency: f.opts.Concurrency, calls: f.calls}, nil
}

type provider struct {
	id          string // region and a digest of the credentials
	client      *client
	prefix      string
	concurrency int
	calls       *Calls
}

func (p *provider) ID() string { return "aws-secretsmanager/" + p.id }

// Canonical applies the store's prefix to names; ARNs are taken as they are.
func (p *provider) Canonical(ref providers.Ref) providers.Ref {
	if !strings.HasPrefix(ref.Key, "arn:") {
		ref.Key = p.prefix + ref.Key
	}
	return ref
}

// batchSize is BatchGetSecretValue's limit on secret ids per call.
const batchSize = 20

// Resolve fetches current versions 20 at a time with BatchGetSecretValue,
// and pinned versions (a stage other than AWSCURRENT, or a version id) one
// by one with GetSecretValue, with bounded concurrency.
func (p *provider) Resolve(ctx context.Context, refs []providers.Ref) map[providers.Ref]providers.Fetched {
	out := make(map[providers.Ref]providers.Fetched, len(refs))
	var mu sync.Mutex
	put := func(ref providers.Ref, f providers.Fetched) { mu.Lock(); out[ref] = f; mu.Unlock() }

	var current, pinned []providers.Ref
	for _, ref := range refs {
		if ref.Version == "" || ref.Version == "AWSCURRENT" {
			current = append(current, ref)
		} else {
			pinned = append(pinned, ref)
		}
	}
	var jobs []func()
	if p.client.noBatch.Load() {
		pinned = append(pinned, current...)
		current = nil
	}
	for len(current) > 0 {
		n := min(batchSize, len(current))
		chunk := current[:n]
		current = current[n:]
		jobs = append(jobs, func() {
			for ref, f := range p.batch(ctx, chunk) {
				put(ref, f)
			}
		})
	}
	for _, ref := range pinned {
		jobs = append(jobs, func() { put(ref, p.get(ctx, ref)) })
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, p.concurrency)
	for _, job := range jobs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			job()
		}()
	}
	wg.Wait()
	return out
}

// batch fetches up to 20 current versions in one call. Ids the answer does
// not cover, and a batch refused as a whole, fall back to GetSecretValue.
func (p *provider) batch(ctx context.Context, refs []providers.Ref) map[providers.Ref]providers.Fetched {
	out := make(map[providers.Ref]providers.Fetched, len(refs))
	ids := make([]string, len(refs))
	for i, ref := range refs {
		ids[i] = ref.Key
	}
	res, err := p.client.api.BatchGetSecretValue(ctx, &secretsmanager.BatchGetSecretValueInput{SecretIdList: ids})
	p.calls.add("BatchGetSecretValue", err)
	if err != nil {
		if batchUnsupported(err) {
			p.client.noBatch.Store(true)
		}
		if batchUnsupported(err) {
			for _, ref := range refs {
				out[ref] = p.get(ctx, ref)
			}
			return out
		}
		for i, ref := range refs {
			out[ref] = providers.Fetched{Err: classify(ids[i], err)}
		}
		return out
	}
	byID := map[string]providers.Fetched{}
	for _, v := range res.SecretValues {
		f := providers.Fetched{Value: providers.NewValue(valueBytes(v.SecretString, v.SecretBinary)), VersionID: aws.ToString(v.VersionId)}
		byID[aws.ToString(v.Name)] = f
		byID[aws.ToString(v.ARN)] = f
	}
	failed := map[string]error{}
	for _, e := range res.Errors {
		id := aws.ToString(e.SecretId)
		failed[id] = classify(id, &smithy.GenericAPIError{Code: aws.ToString(e.ErrorCode), Message: aws.ToString(e.Message)})
	}
	for i, ref := range refs {
		switch f, ok := byID[ids[i]]; {
		case ok:
			out[ref] = f
		case failed[ids[i]] != nil:
			out[ref] = providers.Fetched{Err: failed[ids[i]]}
		default: // named in a form the answer does not echo, like a partial ARN
			out[ref] = p.get(ctx, ref)
		}
	}
	return out
}

// batchUnsupported tells a refused or unknown BatchGetSecretValue, which
// the least-privilege policy does not grant, from a real failure.
func batchUnsupported(err error) bool {
	var api smithy.APIError
	if errors.As(err, &api) {
		switch api.ErrorCode() {
		case "AccessDeniedException", "InvalidAction", "UnknownOperationException", "UnsupportedOperation", "NotImplemented":
			return true
		}
	}
	var resp *smithyhttp.ResponseError
	return errors.As(err, &resp) && (resp.HTTPStatusCode() == 404 || resp.HTTPStatusCode() == 501)
}

func valueBytes(s *string, b []byte) []byte {
	if s != nil {
		return []byte(*s)
	}
	return b
}

func (p *provider) get(ctx context.Context, ref providers.Ref) providers.Fetched {
	id := ref.Key
	in := &secretsmanager.GetSecretValueInput{SecretId: aws.String(id)}
	switch {
	case strings.HasPrefix(ref.Version, "uuid/"):
		in.VersionId = aws.String(strings.TrimPrefix(ref.Version, "uuid/"))
	case ref.Version != "":
		in.VersionStage = aws.String(ref.Version)
	default:
		in.VersionStage = aws.String("AWSCURRENT")
	}
	res, err := p.client.api.GetSecretValue(ctx, in)
	p.calls.add("GetSecretValue", err)
	if err != nil {
		return providers.Fetched{Err: classify(id, err)}
	}
	return providers.Fetched{Value: providers.NewValue(valueBytes(res.SecretString, res.SecretBinary)), VersionID: aws.ToString(res.VersionId)}
}

// classify maps an SDK error to a provider error class. AWS error messages
// never carry secret values, so they are kept for the user.
func classify(id string, err error) error {
	class := providers.Unavailable
	var api smithy.APIError
	var resp *smithyhttp.ResponseError
	var netErr net.Error
	switch {
	case errors.As(err, &api):
		switch api.ErrorCode() {
		case "ResourceNotFoundException":
			class = providers.NotFound
		case "AccessDeniedException", "UnrecognizedClientException", "InvalidSignatureException",
			"ExpiredTokenException", "DecryptionFailure", "InvalidClientTokenId":
			class = providers.AccessDenied
		case "InvalidRequestException":
			class = providers.Invalid
			if strings.Contains(api.ErrorMessage(), "marked for deletion") {
				class = providers.NotFound
			}
		case "InvalidParameterException", "ValidationException":
			class = providers.Invalid
		case "ThrottlingException", "TooManyRequestsException", "RequestLimitExceeded":
			class = providers.Throttled
		}
		err = fmt.Errorf("%s: %s", api.ErrorCode(), api.ErrorMessage())
	case errors.As(err, &resp):
		if resp.HTTPStatusCode() == 429 {
			class = providers.Throttled
		}
	case errors.As(err, &netErr), errors.Is(err, context.DeadlineExceeded):
		class = providers.Unavailable
	}
	return &providers.Error{Class: class, Ref: "secretsmanager:" + id, Err: err}
}
