package aws

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/secretsync/secretsync/providers"
)

// Find lists the secrets a dataFrom.find selects. The path and tags become
// ListSecrets filters, so AWS does the narrowing; every criterion is also
// checked here, since filters match prefixes and a regexp has no filter.
func (p *provider) Find(ctx context.Context, q providers.Query) ([]providers.Found, error) {
	var re *regexp.Regexp
	if q.NameRegexp != "" {
		var err error
		if re, err = regexp.Compile(q.NameRegexp); err != nil {
			return nil, &providers.Error{Class: providers.Invalid, Ref: "find", Err: err}
		}
	}
	var filters []types.Filter
	if q.Path != "" {
		filters = append(filters, types.Filter{Key: types.FilterNameStringTypeName, Values: []string{q.Path}})
	}
	for k, v := range q.Tags {
		filters = append(filters,
			types.Filter{Key: types.FilterNameStringTypeTagKey, Values: []string{k}},
			types.Filter{Key: types.FilterNameStringTypeTagValue, Values: []string{v}})
	}
	var out []providers.Found
	pager := secretsmanager.NewListSecretsPaginator(p.client.api, &secretsmanager.ListSecretsInput{Filters: filters, MaxResults: aws.Int32(100)})
	for pager.HasMorePages() {
		if err := p.client.wait(ctx, "ListSecrets"); err != nil {
			return nil, err
		}
		page, err := pager.NextPage(ctx)
		p.calls.add("ListSecrets", err)
		if err != nil {
			return nil, classify("secretsmanager:find", err)
		}
	secrets:
		for _, s := range page.SecretList {
			name := aws.ToString(s.Name)
			if !strings.HasPrefix(name, q.Path) || re != nil && !re.MatchString(name) {
				continue
			}
			tags := map[string]string{}
			for _, t := range s.Tags {
				tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
			}
			for k, v := range q.Tags {
				if got, ok := tags[k]; !ok || got != v {
					continue secrets
				}
			}
			out = append(out, providers.Found{Name: name, Ref: providers.Ref{Key: aws.ToString(s.ARN), Found: true}})
		}
	}
	return out, nil
}

// metadata returns a secret's tags as a JSON object (metadataPolicy: Fetch).
func (p *provider) metadata(ctx context.Context, ref providers.Ref) providers.Fetched {
	if err := p.client.wait(ctx, "DescribeSecret"); err != nil {
		return providers.Fetched{Err: err}
	}
	res, err := p.client.api.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(ref.Key)})
	p.calls.add("DescribeSecret", err)
	if err != nil {
		return providers.Fetched{Err: classify(smRef(ref.Key), err)}
	}
	tags := map[string]string{}
	for _, t := range res.Tags {
		tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return tagsValue(tags)
}

// tagsValue is a secret's or parameter's tags as the JSON object
// metadataPolicy: Fetch reads, as ESO gives it.
func tagsValue(tags map[string]string) providers.Fetched {
	b, err := json.Marshal(tags)
	if err != nil {
		return providers.Fetched{Err: fmt.Errorf("encode tags: %w", err)}
	}
	return providers.Fetched{Value: providers.NewValue(b)}
}

// Describe confirms a secret (and, for a pinned version, that version)
// exists, with DescribeSecret: no value is read.
func (p *provider) Describe(ctx context.Context, ref providers.Ref) error {
	if err := p.client.wait(ctx, "DescribeSecret"); err != nil {
		return err
	}
	res, err := p.client.api.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(ref.Key)})
	p.calls.add("DescribeSecret", err)
	if err != nil {
		return classify(smRef(ref.Key), err)
	}
	if res.DeletedDate != nil {
		return &providers.Error{Class: providers.NotFound, Ref: smRef(ref.Key), Err: fmt.Errorf("scheduled for deletion")}
	}
	v := ref.Version
	if v == "" || strings.HasPrefix(v, "uuid/") {
		id := strings.TrimPrefix(v, "uuid/")
		if id == "" {
			return nil
		}
		if _, ok := res.VersionIdsToStages[id]; !ok {
			return &providers.Error{Class: providers.NotFound, Ref: smRef(ref.Key), Err: fmt.Errorf("no version %s", id)}
		}
		return nil
	}
	for _, stages := range res.VersionIdsToStages {
		for _, st := range stages {
			if st == v {
				return nil
			}
		}
	}
	return &providers.Error{Class: providers.NotFound, Ref: smRef(ref.Key), Err: fmt.Errorf("no version has stage %s", v)}
}
