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
	clients map[string]SecretsManagerAPI
}

// NewFactory returns a Factory with opts.
func NewFactory(opts Options) *Factory {
	if opts.Concurrency <= 0 {
		opts.Concurrency = 16
	}
	return &Factory{opts: opts, clients: map[string]SecretsManagerAPI{}}
}

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
	client, ok := f.clients[key]
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
		client = secretsmanager.NewFromConfig(cfg, func(o *secretsmanager.Options) {
			if f.opts.Endpoint != "" {
				o.BaseEndpoint = aws.String(f.opts.Endpoint)
			}
		})
		f.clients[key] = client
	}
	return &provider{client: client, prefix: st.Prefix, concurrency: f.opts.Concurrency}, nil
}

// NewProvider wraps an existing client; the reconciler's tests use it to
// count calls.
func NewProvider(client SecretsManagerAPI, prefix string, concurrency int) providers.Provider {
	return &provider{client: client, prefix: prefix, concurrency: max(concurrency, 1)}
}

type provider struct {
	client      SecretsManagerAPI
	prefix      string
	concurrency int
}

func (p *provider) Resolve(ctx context.Context, refs []providers.Ref) map[providers.Ref]providers.Fetched {
	out := make(map[providers.Ref]providers.Fetched, len(refs))
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, p.concurrency)
	for _, ref := range refs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			got := p.get(ctx, ref)
			mu.Lock()
			out[ref] = got
			mu.Unlock()
		}()
	}
	wg.Wait()
	return out
}

func (p *provider) secretID(key string) string {
	if strings.HasPrefix(key, "arn:") {
		return key
	}
	return p.prefix + key
}

func (p *provider) get(ctx context.Context, ref providers.Ref) providers.Fetched {
	id := p.secretID(ref.Key)
	in := &secretsmanager.GetSecretValueInput{SecretId: aws.String(id)}
	switch {
	case strings.HasPrefix(ref.Version, "uuid/"):
		in.VersionId = aws.String(strings.TrimPrefix(ref.Version, "uuid/"))
	case ref.Version != "":
		in.VersionStage = aws.String(ref.Version)
	default:
		in.VersionStage = aws.String("AWSCURRENT")
	}
	res, err := p.client.GetSecretValue(ctx, in)
	if err != nil {
		return providers.Fetched{Err: classify(id, err)}
	}
	var b []byte
	switch {
	case res.SecretString != nil:
		b = []byte(*res.SecretString)
	case res.SecretBinary != nil:
		b = res.SecretBinary
	}
	return providers.Fetched{Value: providers.NewValue(b), VersionID: aws.ToString(res.VersionId)}
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
