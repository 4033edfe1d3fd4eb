package aws

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/aws/smithy-go"
	"golang.org/x/time/rate"

	"github.com/secretsync/secretsync/internal/parallel"
	"github.com/secretsync/secretsync/providers"
	"github.com/secretsync/secretsync/providers/aws/awsservice"
)

// SSMAPI lists the Parameter Store calls secretsync makes.
type SSMAPI interface {
	GetParameters(ctx context.Context, in *ssm.GetParametersInput, optFns ...func(*ssm.Options)) (*ssm.GetParametersOutput, error)
	GetParametersByPath(ctx context.Context, in *ssm.GetParametersByPathInput, optFns ...func(*ssm.Options)) (*ssm.GetParametersByPathOutput, error)
	DescribeParameters(ctx context.Context, in *ssm.DescribeParametersInput, optFns ...func(*ssm.Options)) (*ssm.DescribeParametersOutput, error)
	ListTagsForResource(ctx context.Context, in *ssm.ListTagsForResourceInput, optFns ...func(*ssm.Options)) (*ssm.ListTagsForResourceOutput, error)
	// PushSecret's writes (push_ssm.go).
	PutParameter(ctx context.Context, in *ssm.PutParameterInput, optFns ...func(*ssm.Options)) (*ssm.PutParameterOutput, error)
	DeleteParameter(ctx context.Context, in *ssm.DeleteParameterInput, optFns ...func(*ssm.Options)) (*ssm.DeleteParameterOutput, error)
	AddTagsToResource(ctx context.Context, in *ssm.AddTagsToResourceInput, optFns ...func(*ssm.Options)) (*ssm.AddTagsToResourceOutput, error)
	RemoveTagsFromResource(ctx context.Context, in *ssm.RemoveTagsFromResourceInput, optFns ...func(*ssm.Options)) (*ssm.RemoveTagsFromResourceOutput, error)
}

// ssmClient is a cached Parameter Store client with its rate limits.
type ssmClient struct {
	api    SSMAPI
	limits map[string]*rate.Limiter
}

// Parameter Store's default throughput is 40 transactions per second per
// account and region, shared by every Get call; stay under it. PutParameter
// is held to a few a second (AWS throttles it well below the reads), and
// the other writes share that budget.
func newSSMLimits() map[string]*rate.Limiter {
	shared := rate.NewLimiter(35, 10)
	writes := rate.NewLimiter(3, 3)
	return map[string]*rate.Limiter{
		"GetParameters": shared, "GetParametersByPath": shared,
		"DescribeParameters": rate.NewLimiter(8, 2), "ListTagsForResource": rate.NewLimiter(8, 2),
		"PutParameter": writes, "DeleteParameter": writes, "AddTagsToResource": writes, "RemoveTagsFromResource": writes,
	}
}

func (c *ssmClient) wait(ctx context.Context, op string) error {
	if err := c.limits[op].Wait(ctx); err != nil {
		return &providers.Error{Class: providers.Throttled, Ref: op, Err: fmt.Errorf("client rate limit: %w", err)}
	}
	return nil
}

// ssmProvider resolves references against AWS Systems Manager Parameter
// Store (provider.aws.service: ParameterStore), as ESO does: the store's
// prefix before every name, a version as name:version, values decrypted
// (SecureString) with the parameter's KMS key.
type ssmProvider struct {
	id          string
	region      string
	client      *ssmClient
	prefix      string
	concurrency int
	calls       *Calls
	locks       *remoteLocks // pushlock.go
}

func (p *ssmProvider) ID() string { return "aws-parameterstore/" + p.id }

// Canonical applies the prefix, as ESO does for every key.
func (p *ssmProvider) Canonical(ref providers.Ref) providers.Ref {
	ref.Key = awsservice.ParameterStore.Canonical(p.prefix, ref.Key)
	return ref
}

// getParametersMax is GetParameters' limit on names per call.
const getParametersMax = 10

// selector is the name GetParameters is asked for: name, or name:version.
func selector(ref providers.Ref) string {
	if ref.Version == "" {
		return ref.Key
	}
	return ref.Key + ":" + ref.Version
}

func ssmRef(name string) string { return "parameterstore:" + name }

// Resolve fetches values ten names a call with GetParameters (decrypted),
// and tags (metadataPolicy: Fetch) with ListTagsForResource.
func (p *ssmProvider) Resolve(ctx context.Context, refs []providers.Ref) map[providers.Ref]providers.Fetched {
	out := make(map[providers.Ref]providers.Fetched, len(refs))
	var mu sync.Mutex
	put := func(ref providers.Ref, f providers.Fetched) { mu.Lock(); out[ref] = f; mu.Unlock() }
	var values []providers.Ref
	var jobs []func()
	for _, ref := range refs {
		if ref.Metadata {
			jobs = append(jobs, func() { put(ref, p.tags(ctx, ref)) })
		} else {
			values = append(values, ref)
		}
	}
	for len(values) > 0 {
		n := min(getParametersMax, len(values))
		chunk := values[:n]
		values = values[n:]
		jobs = append(jobs, func() {
			for ref, f := range p.get(ctx, chunk) {
				put(ref, f)
			}
		})
	}
	parallel.Run(p.concurrency, jobs)
	return out
}

func (p *ssmProvider) get(ctx context.Context, refs []providers.Ref) map[providers.Ref]providers.Fetched {
	out := make(map[providers.Ref]providers.Fetched, len(refs))
	names := make([]string, len(refs))
	for i, ref := range refs {
		names[i] = selector(ref)
	}
	fail := func(err error) map[providers.Ref]providers.Fetched {
		for i, ref := range refs {
			out[ref] = providers.Fetched{Err: withRef(err, ssmRef(names[i]))}
		}
		return out
	}
	if err := p.client.wait(ctx, "GetParameters"); err != nil {
		return fail(err)
	}
	res, err := p.client.api.GetParameters(ctx, &ssm.GetParametersInput{Names: names, WithDecryption: aws.Bool(true)})
	p.calls.add("GetParameters", err)
	if err != nil {
		return fail(classifySSM("", err))
	}
	byName := map[string]providers.Fetched{}
	for _, prm := range res.Parameters {
		f := providers.Fetched{Value: providers.NewValue([]byte(aws.ToString(prm.Value))), VersionID: strconv.FormatInt(prm.Version, 10)}
		// A versioned name comes back as its name and ":version" selector.
		byName[aws.ToString(prm.Name)+aws.ToString(prm.Selector)] = f
		byName[aws.ToString(prm.ARN)+aws.ToString(prm.Selector)] = f
		if aws.ToString(prm.Selector) == "" {
			byName[aws.ToString(prm.Name)+":"+f.VersionID] = f
		}
	}
	for i, ref := range refs {
		if f, ok := byName[names[i]]; ok {
			out[ref] = f
			continue
		}
		out[ref] = providers.Fetched{Err: &providers.Error{Class: providers.NotFound, Ref: ssmRef(names[i]), Err: errors.New("ParameterNotFound: no such parameter or version")}}
	}
	return out
}

// tags returns a parameter's tags as a JSON object (metadataPolicy: Fetch),
// as ESO's ParameterTagsToJSONString does.
func (p *ssmProvider) tags(ctx context.Context, ref providers.Ref) providers.Fetched {
	if err := p.client.wait(ctx, "ListTagsForResource"); err != nil {
		return providers.Fetched{Err: err}
	}
	res, err := p.client.api.ListTagsForResource(ctx, &ssm.ListTagsForResourceInput{ResourceId: aws.String(ref.Key), ResourceType: ssmtypes.ResourceTypeForTaggingParameter})
	p.calls.add("ListTagsForResource", err)
	if err != nil {
		return providers.Fetched{Err: classifySSM(ssmRef(ref.Key), err)}
	}
	tags := map[string]string{}
	for _, t := range res.TagList {
		tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return tagsValue(tags)
}

// Find lists the parameters a dataFrom.find selects, as ESO does: by name,
// every parameter below path (default "/", recursive) whose name matches
// the regexp (GetParametersByPath, or, when that is denied, as ESO falls
// back, DescribeParameters filtered by the path); by tags, DescribeParameters with tag filters (and path). The
// prefix does not apply to find, as in ESO.
func (p *ssmProvider) Find(ctx context.Context, q providers.Query) ([]providers.Found, error) {
	if q.NameRegexp == "" && len(q.Tags) == 0 {
		return nil, &providers.Error{Class: providers.Invalid, Ref: "find", Err: errors.New("a Parameter Store find needs name or tags")}
	}
	if q.NameRegexp != "" {
		return p.findByName(ctx, q)
	}
	return p.findByTags(ctx, q)
}

func (p *ssmProvider) findByName(ctx context.Context, q providers.Query) ([]providers.Found, error) {
	re, err := regexp.Compile(q.NameRegexp)
	if err != nil {
		return nil, &providers.Error{Class: providers.Invalid, Ref: "find", Err: err}
	}
	path := q.Path
	if path == "" {
		path = "/"
	}
	var out []providers.Found
	in := &ssm.GetParametersByPathInput{Path: aws.String(path), Recursive: aws.Bool(true), WithDecryption: aws.Bool(true)}
	for {
		if err := p.client.wait(ctx, "GetParametersByPath"); err != nil {
			return nil, err
		}
		page, err := p.client.api.GetParametersByPath(ctx, in)
		p.calls.add("GetParametersByPath", err)
		if err != nil && providers.ClassOf(classifySSM("", err)) == providers.AccessDenied {
			// ESO 2.9.0 falls back to DescribeParameters, which a role may
			// hold without GetParametersByPath.
			return p.describe(ctx, []ssmtypes.ParameterStringFilter{pathFilter(path)}, re)
		}
		if err != nil {
			return nil, classifySSM("parameterstore:find "+path, err)
		}
		for _, prm := range page.Parameters {
			if name := aws.ToString(prm.Name); re.MatchString(name) {
				out = append(out, providers.Found{Name: name, Ref: providers.Ref{Key: name, Found: true}})
			}
		}
		if in.NextToken = page.NextToken; in.NextToken == nil {
			return out, nil
		}
	}
}

func (p *ssmProvider) findByTags(ctx context.Context, q providers.Query) ([]providers.Found, error) {
	var filters []ssmtypes.ParameterStringFilter
	for k, v := range q.Tags {
		filters = append(filters, ssmtypes.ParameterStringFilter{Key: aws.String("tag:" + k), Option: aws.String("Equals"), Values: []string{v}})
	}
	if q.Path != "" {
		filters = append(filters, pathFilter(q.Path))
	}
	return p.describe(ctx, filters, nil)
}

func pathFilter(path string) ssmtypes.ParameterStringFilter {
	return ssmtypes.ParameterStringFilter{Key: aws.String("Path"), Option: aws.String("Recursive"), Values: []string{path}}
}

// describe lists the parameters DescribeParameters finds with filters,
// keeping those whose name re matches (every one when re is nil).
func (p *ssmProvider) describe(ctx context.Context, filters []ssmtypes.ParameterStringFilter, re *regexp.Regexp) ([]providers.Found, error) {
	var out []providers.Found
	in := &ssm.DescribeParametersInput{ParameterFilters: filters}
	for {
		if err := p.client.wait(ctx, "DescribeParameters"); err != nil {
			return nil, err
		}
		page, err := p.client.api.DescribeParameters(ctx, in)
		p.calls.add("DescribeParameters", err)
		if err != nil {
			return nil, classifySSM("parameterstore:find", err)
		}
		for _, prm := range page.Parameters {
			if name := aws.ToString(prm.Name); re == nil || re.MatchString(name) {
				out = append(out, providers.Found{Name: name, Ref: providers.Ref{Key: name, Found: true}})
			}
		}
		if in.NextToken = page.NextToken; in.NextToken == nil {
			return out, nil
		}
	}
}

// classifySSM maps a Parameter Store error to a class, as classify does
// for Secrets Manager.
func classifySSM(ref string, err error) error {
	var api smithy.APIError
	if errors.As(err, &api) {
		switch api.ErrorCode() {
		case "ParameterNotFound", "ParameterVersionNotFound":
			return &providers.Error{Class: providers.NotFound, Ref: ref, Err: fmt.Errorf("%s: %s", api.ErrorCode(), api.ErrorMessage())}
		case "InvalidKeyId", "InvalidFilterKey", "InvalidFilterValue", "InvalidFilterOption", "InvalidResourceId":
			return &providers.Error{Class: providers.Invalid, Ref: ref, Err: fmt.Errorf("%s: %s", api.ErrorCode(), api.ErrorMessage())}
		}
	}
	return classify(ref, err)
}

// withRef names ref in a provider error that named none.
func withRef(err error, ref string) error {
	var pe *providers.Error
	if errors.As(err, &pe) && pe.Ref == "" {
		return &providers.Error{Class: pe.Class, Ref: ref, Err: pe.Err}
	}
	return err
}
