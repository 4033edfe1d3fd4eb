// Package aws resolves references against AWS Secrets Manager, Parameter
// Store and KMS.
package aws

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/acm"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"golang.org/x/time/rate"

	"github.com/secretsync/secretsync/internal/parallel"
	"github.com/secretsync/secretsync/providers"
	"github.com/secretsync/secretsync/providers/aws/awsservice"
)

// SecretsManagerAPI lists the Secrets Manager calls secretsync makes.
type SecretsManagerAPI interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
	BatchGetSecretValue(ctx context.Context, in *secretsmanager.BatchGetSecretValueInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.BatchGetSecretValueOutput, error)
	DescribeSecret(ctx context.Context, in *secretsmanager.DescribeSecretInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.DescribeSecretOutput, error)
	ListSecrets(ctx context.Context, in *secretsmanager.ListSecretsInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.ListSecretsOutput, error)
	// PushSecret's writes (push.go).
	CreateSecret(ctx context.Context, in *secretsmanager.CreateSecretInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.CreateSecretOutput, error)
	PutSecretValue(ctx context.Context, in *secretsmanager.PutSecretValueInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.PutSecretValueOutput, error)
	DeleteSecret(ctx context.Context, in *secretsmanager.DeleteSecretInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.DeleteSecretOutput, error)
	TagResource(ctx context.Context, in *secretsmanager.TagResourceInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.TagResourceOutput, error)
	UntagResource(ctx context.Context, in *secretsmanager.UntagResourceInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.UntagResourceOutput, error)
	// A push's resourcePolicy metadata (push_policy.go).
	GetResourcePolicy(ctx context.Context, in *secretsmanager.GetResourcePolicyInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.GetResourcePolicyOutput, error)
	PutResourcePolicy(ctx context.Context, in *secretsmanager.PutResourcePolicyInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.PutResourcePolicyOutput, error)
	DeleteResourcePolicy(ctx context.Context, in *secretsmanager.DeleteResourcePolicyInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.DeleteResourcePolicyOutput, error)
}

// Options are process-wide settings shared by every store.
type Options struct {
	// Endpoint overrides the Secrets Manager endpoint, for AWS-compatible
	// services, VPC endpoints with custom DNS, and tests. Empty uses AWS.
	Endpoint string
	// KMSEndpoint does the same for KMS.
	KMSEndpoint string
	// STSEndpoint does the same for STS, used to assume roles.
	STSEndpoint string
	// SSMEndpoint does the same for Parameter Store.
	SSMEndpoint string
	// ECREndpoint does the same for ECR (the ECRAuthorizationToken
	// generator).
	ECREndpoint string
	// ACMEndpoint does the same for Certificate Manager.
	ACMEndpoint string
	// SQSEndpoint does the same for SQS (the events queue).
	SQSEndpoint string
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
	// Service is awsservice.SecretsManager (the default), ParameterStore,
	// CertificateManager or KMS.
	Service awsservice.Service
	Region  string
	Prefix  string
	// KMSKeyID, with SecretsManager, is the key every secret read must be
	// encrypted with (checked with DescribeSecret); with KMS, the key
	// ciphertext must have been made with.
	KMSKeyID string
	// Credentials nil means the SDK default chain: environment, IRSA web
	// identity, EKS Pod Identity, instance role.
	Credentials *Credentials
	// WebIdentity, when set, replaces the base credentials with those of
	// AssumeRoleWithWebIdentity (auth.jwt).
	WebIdentity *WebIdentity
	// AdditionalRoles are assumed in order from the base credentials, then
	// Role, which alone carries ExternalID, SessionTags and
	// TransitiveTagKeys.
	AdditionalRoles   []string
	Role              string
	ExternalID        string
	SessionTags       map[string]string
	TransitiveTagKeys []string
	// Retry, when set, is the store's retrySettings for the service's
	// calls; nil keeps the SDK's default retryer.
	Retry *Retry
	// ForceDeleteWithoutRecovery and RecoveryWindowInDays are how a
	// PushSecret's deletes go (spec.provider.aws.secretsManager); the
	// window is AWS's default (30 days) when 0.
	ForceDeleteWithoutRecovery bool
	RecoveryWindowInDays       int64
}

// Retry is a store's retrySettings as ESO's AWS provider applies them:
// the SDK's standard retryer with MaxAttempts attempts per call, waiting
// Interval between them when positive, else the SDK's jittered backoff.
type Retry struct {
	MaxAttempts int
	Interval    time.Duration
}

func (r *Retry) retryer() aws.Retryer {
	return retry.AddWithMaxAttempts(retry.NewStandard(func(o *retry.StandardOptions) {
		if r.Interval > 0 {
			o.Backoff = fixedDelay(r.Interval)
		}
	}), r.MaxAttempts)
}

// fixedDelay waits the same time before every retry.
type fixedDelay time.Duration

func (d fixedDelay) BackoffDelay(int, error) (time.Duration, error) { return time.Duration(d), nil }

// WebIdentity is a role and a source of web identity tokens for it.
type WebIdentity struct {
	RoleARN string
	// Subject names the token's source for the client cache, like
	// "serviceaccount:ns/name"; it is never sent anywhere.
	Subject string
	Token   func() ([]byte, error)
}

// Factory builds providers and caches their clients across passes, so
// credentials and connections are reused.
type Factory struct {
	opts Options

	mu      sync.Mutex
	base    *aws.Config
	clients map[string]*client
	kms     map[string]KMSAPI
	ssm     map[string]*ssmClient
	acm     map[string]*acmClient
	calls   *Calls
	// locks serialize the pushes of each remote secret (pushlock.go).
	locks remoteLocks
}

// client is a cached Secrets Manager client and what was learnt about it.
type client struct {
	api SecretsManagerAPI
	// limits hold one token bucket per operation for this identity and
	// region, below AWS's own quotas, so a large refresh is spread out
	// rather than throttled. Waiting respects the pass deadline.
	limits map[string]*rate.Limiter
	// noBatch is set once BatchGetSecretValue is refused (no permission,
	// or an endpoint without it); GetSecretValue is used from then on.
	noBatch atomic.Bool
	// keys caches DescribeSecret's KmsKeyId by secret id, as keyCheck.
	keys sync.Map
}

// NewFactory returns a Factory with opts.
func NewFactory(opts Options) *Factory {
	if opts.Concurrency <= 0 {
		opts.Concurrency = 16
	}
	return &Factory{opts: opts, clients: map[string]*client{}, kms: map[string]KMSAPI{}, ssm: map[string]*ssmClient{}, acm: map[string]*acmClient{}, calls: &Calls{}}
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
	if st.WebIdentity != nil || st.Role != "" || len(st.AdditionalRoles) > 0 {
		id, _ := json.Marshal([]any{webSubject(st.WebIdentity), st.AdditionalRoles, st.Role, st.ExternalID, st.SessionTags, st.TransitiveTagKeys})
		sum := sha256.Sum256(id)
		key += "/roles:" + hex.EncodeToString(sum[:8])
	}
	if r := st.Retry; r != nil {
		key += fmt.Sprintf("/retry:%d:%d", r.MaxAttempts, r.Interval)
	}

	f.mu.Lock()
	defer f.mu.Unlock()
	switch st.Service {
	case awsservice.KMS:
		k, err := cached(ctx, f, f.kms, key, region, st, func(cfg aws.Config) KMSAPI {
			return kms.NewFromConfig(cfg, func(o *kms.Options) { o.BaseEndpoint = endpoint(f.opts.KMSEndpoint) })
		})
		if err != nil {
			return nil, err
		}
		return &kmsProvider{id: key, client: k, keyID: st.KMSKeyID, concurrency: f.opts.Concurrency, calls: f.calls}, nil
	case awsservice.CertificateManager:
		c, err := cached(ctx, f, f.acm, key, region, st, func(cfg aws.Config) *acmClient {
			return &acmClient{api: acm.NewFromConfig(cfg, func(o *acm.Options) { o.BaseEndpoint = endpoint(f.opts.ACMEndpoint) })}
		})
		if err != nil {
			return nil, err
		}
		return &acmProvider{id: key, client: c, concurrency: f.opts.Concurrency, calls: f.calls}, nil
	case awsservice.ParameterStore:
		c, err := cached(ctx, f, f.ssm, key, region, st, func(cfg aws.Config) *ssmClient {
			return &ssmClient{api: ssm.NewFromConfig(cfg, func(o *ssm.Options) { o.BaseEndpoint = endpoint(f.opts.SSMEndpoint) }), limits: newSSMLimits()}
		})
		if err != nil {
			return nil, err
		}
		return &ssmProvider{id: key, region: region, client: c, prefix: st.Prefix, concurrency: f.opts.Concurrency, calls: f.calls, locks: &f.locks}, nil
	}
	c, err := cached(ctx, f, f.clients, key, region, st, func(cfg aws.Config) *client {
		return &client{api: secretsmanager.NewFromConfig(cfg, func(o *secretsmanager.Options) { o.BaseEndpoint = endpoint(f.opts.Endpoint) }), limits: newLimits()}
	})
	if err != nil {
		return nil, err
	}
	return &provider{id: key, region: region, client: c, prefix: st.Prefix, requireKey: st.KMSKeyID, concurrency: f.opts.Concurrency, calls: f.calls,
		forceDelete: st.ForceDeleteWithoutRecovery, recoveryDays: st.RecoveryWindowInDays, locks: &f.locks}, nil
}

// cached is the client stored under key in m, made by mk from the store's
// SDK config on first use, so credentials and connections are reused
// across passes. The caller holds f.mu.
func cached[C any](ctx context.Context, f *Factory, m map[string]C, key, region string, st Store, mk func(aws.Config) C) (C, error) {
	if c, ok := m[key]; ok {
		return c, nil
	}
	cfg, err := f.config(ctx, region, st)
	if err != nil {
		var zero C
		return zero, err
	}
	// Set after the roles' STS clients are made, as ESO does: they keep
	// the SDK's default retryer.
	if r := st.Retry; r != nil {
		cfg.Retryer = r.retryer
	}
	c := mk(cfg)
	m[key] = c
	return c, nil
}

// endpoint is an SDK BaseEndpoint: nil (AWS's own) when url is empty.
func endpoint(url string) *string {
	if url == "" {
		return nil
	}
	return aws.String(url)
}

// SQS returns an SQS client with the default credential chain, in the
// default region (else the AWS config's), for the events queue.
func (f *Factory) SQS(ctx context.Context) (*sqs.Client, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	cfg, err := f.baseConfig(ctx, f.opts.DefaultRegion, nil)
	if err != nil {
		return nil, err
	}
	if cfg.Region == "" {
		cfg.Region = f.base.Region
	}
	return sqs.NewFromConfig(cfg, func(o *sqs.Options) { o.BaseEndpoint = endpoint(f.opts.SQSEndpoint) }), nil
}

// KMS returns a KMS client for region with the default credential chain,
// for `secretsync encrypt`.
func (f *Factory) KMS(ctx context.Context, region string) (KMSAPI, error) {
	p, err := f.Provider(ctx, Store{Service: awsservice.KMS, Region: region})
	if err != nil {
		return nil, err
	}
	return p.(*kmsProvider).client, nil
}

// config is the shared SDK config with a region and the store's
// credentials: static keys or a web identity if given, else the default
// chain; then each role of the chain assumed in turn. Every step is cached
// and renewed before it expires. The caller holds f.mu.
func (f *Factory) config(ctx context.Context, region string, st Store) (aws.Config, error) {
	cfg, err := f.baseConfig(ctx, region, st.Credentials)
	if err != nil {
		return cfg, err
	}
	stsClient := func(c aws.Config) *sts.Client {
		return sts.NewFromConfig(c, func(o *sts.Options) { o.BaseEndpoint = endpoint(f.opts.STSEndpoint) })
	}
	renew := func(o *aws.CredentialsCacheOptions) { o.ExpiryWindow = 5 * time.Minute }
	if w := st.WebIdentity; w != nil {
		cfg.Credentials = aws.NewCredentialsCache(stscreds.NewWebIdentityRoleProvider(stsClient(cfg), w.RoleARN, tokenFunc(w.Token),
			func(o *stscreds.WebIdentityRoleOptions) { o.RoleSessionName = "secretsync" }), renew)
	}
	chain := append(append([]string(nil), st.AdditionalRoles...), st.Role)
	for i, role := range chain {
		if role == "" {
			continue
		}
		last := i == len(chain)-1
		p := stscreds.NewAssumeRoleProvider(stsClient(cfg), role, func(o *stscreds.AssumeRoleOptions) {
			o.RoleSessionName = "secretsync"
			if !last {
				return
			}
			if st.ExternalID != "" {
				o.ExternalID = aws.String(st.ExternalID)
			}
			for k, v := range st.SessionTags {
				o.Tags = append(o.Tags, ststypes.Tag{Key: aws.String(k), Value: aws.String(v)})
			}
			o.TransitiveTagKeys = st.TransitiveTagKeys
		})
		next := cfg.Copy()
		next.Credentials = aws.NewCredentialsCache(p, renew)
		cfg = next
	}
	return cfg, nil
}

type tokenFunc func() ([]byte, error)

func (t tokenFunc) GetIdentityToken() ([]byte, error) { return t() }

func webSubject(w *WebIdentity) string {
	if w == nil {
		return ""
	}
	return w.RoleARN + "|" + w.Subject
}

func (f *Factory) baseConfig(ctx context.Context, region string, creds *Credentials) (aws.Config, error) {
	if f.base == nil {
		cfg, err := config.LoadDefaultConfig(ctx)
		if err != nil {
			return aws.Config{}, fmt.Errorf("load aws config: %w", err)
		}
		f.base = &cfg
	}
	cfg := f.base.Copy()
	cfg.Region = region
	if c := creds; c != nil {
		cfg.Credentials = aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(
			string(c.AccessKeyID.Bytes()), string(c.SecretAccessKey.Bytes()), string(c.SessionToken.Bytes())))
	}
	return cfg, nil
}

type provider struct {
	id          string // region and a digest of the credentials
	region      string
	client      *client
	prefix      string
	requireKey  string
	concurrency int
	calls       *Calls
	// How PushSecret's deletes go (the store's secretsManager settings).
	forceDelete  bool
	recoveryDays int64
	locks        *remoteLocks
}

func (p *provider) ID() string { return "aws-secretsmanager/" + p.id + "/" + p.requireKey }

// Canonical applies the store's prefix to names; ARNs are taken as they are.
func (p *provider) Canonical(ref providers.Ref) providers.Ref {
	ref.Key = awsservice.SecretsManager.Canonical(p.prefix, ref.Key)
	return ref
}

// Calls per second allowed per identity and region: AWS's quotas are 100/s
// for BatchGetSecretValue and ListSecrets, 10,000/s for GetSecretValue and
// DescribeSecret; we stay under them.
var rateLimits = map[string]float64{
	"BatchGetSecretValue": 90,
	"ListSecrets":         90,
	"GetSecretValue":      5000,
	"DescribeSecret":      5000,
}

func newLimits() map[string]*rate.Limiter {
	out := make(map[string]*rate.Limiter, len(rateLimits))
	for op, n := range rateLimits {
		out[op] = rate.NewLimiter(rate.Limit(n), int(n/10)+1)
	}
	return out
}

// wait takes a token for op; it fails at once when the wait would pass the
// context's deadline.
func (c *client) wait(ctx context.Context, op string) error {
	if l := c.limits[op]; l != nil {
		if err := l.Wait(ctx); err != nil {
			return &providers.Error{Class: providers.Throttled, Ref: op, Err: fmt.Errorf("client rate limit: %w", err)}
		}
	}
	return nil
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
	var jobs []func()
	for _, ref := range refs {
		if ref.Metadata {
			jobs = append(jobs, func() { put(ref, p.metadata(ctx, ref)) })
			continue
		}
		if ref.Version == "" || ref.Version == "AWSCURRENT" {
			current = append(current, ref)
		} else {
			pinned = append(pinned, ref)
		}
	}
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
	parallel.Run(p.concurrency, jobs)
	if p.requireKey != "" {
		p.checkKeys(ctx, out)
	}
	return out
}

// keyCheckTTL is how long a secret's KMS key, learnt with DescribeSecret,
// is trusted before it is checked again.
const keyCheckTTL = time.Hour

type keyCheck struct {
	keyID string
	at    time.Time
}

// checkKeys replaces each fetched value whose secret is not encrypted with
// the required KMS key by a KeyMismatch error.
func (p *provider) checkKeys(ctx context.Context, out map[providers.Ref]providers.Fetched) {
	var mu sync.Mutex
	var jobs []func()
	for ref, f := range out {
		if f.Err != nil {
			continue
		}
		jobs = append(jobs, func() {
			if err := p.checkKey(ctx, ref.Key); err != nil {
				mu.Lock()
				out[ref] = providers.Fetched{Err: err}
				mu.Unlock()
			}
		})
	}
	parallel.Run(p.concurrency, jobs)
}

func (p *provider) checkKey(ctx context.Context, id string) error {
	var keyID string
	if c, ok := p.client.keys.Load(id); ok && time.Since(c.(keyCheck).at) < keyCheckTTL {
		keyID = c.(keyCheck).keyID
	} else {
		if err := p.client.wait(ctx, "DescribeSecret"); err != nil {
			return err
		}
		res, err := p.client.api.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(id)})
		p.calls.add("DescribeSecret", err)
		if err != nil {
			return classify(smRef(id), err)
		}
		keyID = aws.ToString(res.KmsKeyId)
		p.client.keys.Store(id, keyCheck{keyID: keyID, at: time.Now()})
	}
	if !sameKey(keyID, p.requireKey) {
		if keyID == "" {
			keyID = "the default aws/secretsmanager key"
		}
		return &providers.Error{Class: providers.KeyMismatch, Ref: smRef(id),
			Err: fmt.Errorf("encrypted with %s, and the store requires kmsKeyId %s", keyID, p.requireKey)}
	}
	return nil
}

// sameKey compares key ids and ARNs: an ARN matches its bare key id.
func sameKey(a, b string) bool {
	if a == "" || b == "" {
		return false
	}
	return a == b || strings.HasSuffix(a, "/"+b) || strings.HasSuffix(b, "/"+a)
}

// batch fetches up to 20 current versions in one call. Ids the answer does
// not cover, and a batch refused as a whole, fall back to GetSecretValue.
func (p *provider) batch(ctx context.Context, refs []providers.Ref) map[providers.Ref]providers.Fetched {
	out := make(map[providers.Ref]providers.Fetched, len(refs))
	ids := make([]string, len(refs))
	for i, ref := range refs {
		ids[i] = ref.Key
	}
	if err := p.client.wait(ctx, "BatchGetSecretValue"); err != nil {
		for _, ref := range refs {
			out[ref] = providers.Fetched{Err: err}
		}
		return out
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
			out[ref] = providers.Fetched{Err: classify(smRef(ids[i]), err)}
		}
		return out
	}
	byID := map[string]providers.Fetched{}
	for _, v := range res.SecretValues {
		f := providers.Fetched{Value: providers.NewValue(valueBytes(v.SecretString, v.SecretBinary)), VersionID: versionID(v.VersionId)}
		byID[aws.ToString(v.Name)] = f
		byID[aws.ToString(v.ARN)] = f
	}
	failed := map[string]error{}
	for _, e := range res.Errors {
		id := aws.ToString(e.SecretId)
		failed[id] = classify(smRef(id), &smithy.GenericAPIError{Code: aws.ToString(e.ErrorCode), Message: aws.ToString(e.Message)})
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

func smRef(id string) string { return "secretsmanager:" + id }

// versionID copies a version id out of its response. The SDK cuts a
// response's strings from one block (its string arena), the value's bytes
// included: a pass keeps 50,000 version ids, and each would keep its whole
// block, the value too, alive.
func versionID(id *string) string { return strings.Clone(aws.ToString(id)) }

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
	if err := p.client.wait(ctx, "GetSecretValue"); err != nil {
		return providers.Fetched{Err: err}
	}
	res, err := p.client.api.GetSecretValue(ctx, in)
	p.calls.add("GetSecretValue", err)
	if err != nil {
		return providers.Fetched{Err: classify(smRef(id), err)}
	}
	return providers.Fetched{Value: providers.NewValue(valueBytes(res.SecretString, res.SecretBinary)), VersionID: versionID(res.VersionId)}
}

// classify maps an SDK error to a provider error class. AWS error messages
// never carry secret values, so they are kept for the user.
func classify(ref string, err error) error {
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
			"ExpiredTokenException", "DecryptionFailure", "InvalidClientTokenId", "KMSAccessDeniedException",
			"AccessDenied", "InvalidIdentityToken", "IDPRejectedClaim":
			class = providers.AccessDenied
		case "InvalidRequestException":
			class = providers.Invalid
			if strings.Contains(api.ErrorMessage(), "marked for deletion") {
				class = providers.NotFound
			}
		case "InvalidParameterException", "ValidationException", "MalformedPolicyDocumentException", "PublicPolicyException":
			class = providers.Invalid
		case "InvalidCiphertextException":
			class = providers.Decrypt
		case "IncorrectKeyException":
			class = providers.KeyMismatch
		case "NotFoundException":
			class = providers.NotFound
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
	return &providers.Error{Class: class, Ref: ref, Err: err}
}
