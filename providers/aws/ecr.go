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

	"github.com/secretsync/secretsync/providers"
	"github.com/secretsync/secretsync/render"
)

var _ providers.Generators = (*Factory)(nil)

// Generate runs an ECRAuthorizationToken generator as ESO does: one
// GetAuthorizationToken with the generator's region, role and auth, and
// the token split into username and password, with proxy_endpoint and
// expires_at (Unix seconds).
func (f *Factory) Generate(ctx context.Context, g *render.Generator, cluster providers.Cluster) (map[string]providers.Value, error) {
	spec, err := g.DecodeSpec()
	if err != nil {
		return nil, err
	}
	s, ok := spec.(*render.ECRAuthorizationTokenSpec)
	if !ok {
		return nil, fmt.Errorf("generator kind %s is not an AWS generator", g.Kind)
	}
	st, err := storeConfig(ctx, &render.AWSProvider{Region: s.Region, Role: s.Role, Auth: s.Auth}, g.Namespace, cluster)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	cfg, err := f.config(ctx, s.Region, st)
	f.mu.Unlock()
	if err != nil {
		return nil, err
	}
	client := ecr.NewFromConfig(cfg, func(o *ecr.Options) {
		if f.opts.ECREndpoint != "" {
			o.BaseEndpoint = aws.String(f.opts.ECREndpoint)
		}
	})
	ref := "ecr:" + s.Region
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
