package aws

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/secretsync/secretsync/providers"
	"github.com/secretsync/secretsync/render"
)

var _ providers.Generators = (*Factory)(nil)

// Generate runs the AWS generators as ESO does, with the generator's
// region, role and auth: ECRAuthorizationToken and STSSessionToken.
func (f *Factory) Generate(ctx context.Context, g *render.Generator, cluster providers.Cluster) (map[string]providers.Value, error) {
	spec, err := g.DecodeSpec()
	if err != nil {
		return nil, err
	}
	switch s := spec.(type) {
	case *render.ECRAuthorizationTokenSpec:
		cfg, err := f.generatorConfig(ctx, g, render.AWSProvider{Region: s.Region, Role: s.Role, Auth: s.Auth}, cluster)
		if err != nil {
			return nil, err
		}
		return f.ecrToken(ctx, cfg, s.Region)
	case *render.STSSessionTokenSpec:
		cfg, err := f.generatorConfig(ctx, g, render.AWSProvider{Region: s.Region, Role: s.Role, Auth: s.Auth}, cluster)
		if err != nil {
			return nil, err
		}
		return f.sessionToken(ctx, cfg, s)
	}
	return nil, fmt.Errorf("generator kind %s is not an AWS generator", g.Kind)
}

// generatorConfig is the SDK config of a generator's region, role and auth.
func (f *Factory) generatorConfig(ctx context.Context, g *render.Generator, a render.AWSProvider, cluster providers.Cluster) (aws.Config, error) {
	st, err := storeConfig(ctx, &a, cluster, g.Name, g.Kind)
	if err != nil {
		return aws.Config{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.config(ctx, a.Region, st)
}

// sessionToken is one GetSessionToken: access_key_id, secret_access_key,
// session_token and expiration (Unix seconds).
func (f *Factory) sessionToken(ctx context.Context, cfg aws.Config, s *render.STSSessionTokenSpec) (map[string]providers.Value, error) {
	in := &sts.GetSessionTokenInput{}
	if p := s.RequestParameters; p != nil {
		in.DurationSeconds, in.SerialNumber, in.TokenCode = p.SessionDuration, p.SerialNumber, p.TokenCode
	}
	client := sts.NewFromConfig(cfg, func(o *sts.Options) { o.BaseEndpoint = endpoint(f.opts.STSEndpoint) })
	out, err := client.GetSessionToken(ctx, in)
	f.calls.add("GetSessionToken", err)
	if err != nil {
		return nil, classify("sts:"+s.Region, err)
	}
	c := out.Credentials
	if c == nil {
		return nil, &providers.Error{Class: providers.Invalid, Ref: "sts:" + s.Region, Err: errors.New("GetSessionToken returned no credentials")}
	}
	var exp int64
	if c.Expiration != nil {
		exp = c.Expiration.Unix()
	}
	return map[string]providers.Value{
		"access_key_id":     providers.NewValue([]byte(aws.ToString(c.AccessKeyId))),
		"secret_access_key": providers.NewValue([]byte(aws.ToString(c.SecretAccessKey))),
		"session_token":     providers.NewValue([]byte(aws.ToString(c.SessionToken))),
		"expiration":        providers.NewValue([]byte(strconv.FormatInt(exp, 10))),
	}, nil
}

// ecrToken is one GetAuthorizationToken, the token split into username and
// password, with proxy_endpoint and expires_at (Unix seconds).
func (f *Factory) ecrToken(ctx context.Context, cfg aws.Config, region string) (map[string]providers.Value, error) {
	client := ecr.NewFromConfig(cfg, func(o *ecr.Options) { o.BaseEndpoint = endpoint(f.opts.ECREndpoint) })
	ref := "ecr:" + region
	out, err := client.GetAuthorizationToken(ctx, &ecr.GetAuthorizationTokenInput{})
	f.calls.add("GetAuthorizationToken", err)
	if err != nil {
		return nil, classify(ref, err)
	}
	if len(out.AuthorizationData) == 0 {
		return nil, &providers.Error{Class: providers.Invalid, Ref: ref, Err: errors.New("GetAuthorizationToken returned no token")}
	}
	d := out.AuthorizationData[0]
	token, err := base64.StdEncoding.DecodeString(aws.ToString(d.AuthorizationToken))
	user, pass, found := strings.Cut(string(token), ":")
	if err != nil || !found {
		return nil, &providers.Error{Class: providers.Invalid, Ref: ref, Err: errors.New("the authorization token is not base64 user:password")}
	}
	var expires int64
	if d.ExpiresAt != nil {
		expires = d.ExpiresAt.UTC().Unix()
	}
	return map[string]providers.Value{
		"username":       providers.NewValue([]byte(user)),
		"password":       providers.NewValue([]byte(pass)),
		"proxy_endpoint": providers.NewValue([]byte(aws.ToString(d.ProxyEndpoint))),
		"expires_at":     providers.NewValue([]byte(strconv.FormatInt(expires, 10))),
	}, nil
}
