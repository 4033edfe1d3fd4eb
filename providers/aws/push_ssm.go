package aws

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/secretsync/secretsync/providers"
	"github.com/secretsync/secretsync/providers/aws/awsservice"
)

var (
	_ providers.Pusher      = (*ssmProvider)(nil)
	_ providers.Owner       = (*ssmProvider)(nil)
	_ providers.WouldPusher = (*ssmProvider)(nil)
)

// ssmPush is what a Parameter Store push decides, reading only
// (GetParameters, ListTagsForResource), and what its writes then need.
type ssmPush struct {
	did   providers.Pushed
	meta  awsservice.ParameterStorePush
	value []byte
	// setTags and removeTags make the tags the metadata's (with managed-by).
	setTags    map[string]string
	removeTags []string
}

// Push writes a parameter as ESO's Parameter Store push does (decide says
// what it writes): one that does not exist is created (PutParameter without
// overwrite, so a parameter made meanwhile is never replaced) with the
// managed-by tag and the metadata's type, tier, key, description and tags;
// otherwise tags the metadata sets are made to match, and a new version is
// put only when the value differs: no version churn. Pushes of one
// parameter take turns and a create another process won is decided again,
// as for Secrets Manager (Push in push.go).
func (p *ssmProvider) Push(ctx context.Context, in providers.Push) (providers.Pushed, error) {
	return p.locks.pushInTurn(ctx, remoteKey("ssm", p.region, in.Key), ssmRef(in.Key), func() (providers.Pushed, error) { return p.pushOnce(ctx, in) })
}

// pushOnce decides and writes one push of in.
func (p *ssmProvider) pushOnce(ctx context.Context, in providers.Push) (providers.Pushed, error) {
	d, err := p.decide(ctx, in)
	if err != nil {
		return "", err
	}
	put := putParameter(in.Key, d.value, d.meta)
	switch d.did {
	case providers.Created:
		put.Tags = ssmTags(withManagedBy(d.meta.Tags))
		if err := p.put(ctx, put); err != nil {
			return "", err
		}
	case providers.Updated, providers.Retagged:
		if err := p.retag(ctx, in.Key, d.setTags, d.removeTags); err != nil {
			return "", err
		}
		if d.did == providers.Updated {
			put.Overwrite = aws.Bool(true)
			if err := p.put(ctx, put); err != nil {
				return "", err
			}
		}
	}
	return d.did, nil
}

// WouldPush is what Push would do with in, decided the same way, reading only.
func (p *ssmProvider) WouldPush(ctx context.Context, in providers.Push) (providers.Pushed, error) {
	d, err := p.decide(ctx, in)
	return d.did, err
}

// decide reads what a push of in finds and decides what it does: create a
// parameter that does not exist; refuse one without the managed-by tag
// (unless IfNotExists, which leaves any that exists); else compare the
// current value (read, decrypted) and the tags with what the push writes.
func (p *ssmProvider) decide(ctx context.Context, in providers.Push) (ssmPush, error) {
	ref := ssmRef(in.Key)
	meta, err := ssmMeta(in.Metadata)
	if err != nil {
		return ssmPush{}, &providers.Error{Class: providers.Invalid, Ref: ref, Err: err}
	}
	d := ssmPush{meta: meta}
	f := p.get(ctx, []providers.Ref{{Key: in.Key}})[providers.Ref{Key: in.Key}]
	if providers.ClassOf(f.Err) == providers.NotFound {
		d.did = providers.Created
		if d.value, err = withProperty(nil, in); err != nil {
			return ssmPush{}, &providers.Error{Class: providers.Invalid, Ref: ref, Err: err}
		}
		return d, nil
	}
	if f.Err != nil {
		return ssmPush{}, f.Err
	}
	if in.IfNotExists {
		d.did = providers.Exists
		return d, nil
	}
	tags, err := p.tagMap(ctx, in.Key)
	if err != nil {
		return ssmPush{}, err
	}
	if tags[providers.ManagedByTag] != providers.ManagedByValue {
		return ssmPush{}, &providers.Error{Class: providers.NotManaged, Ref: ref, Err: fmt.Errorf("exists without the tag %s=%s: it was not made by a push, so it is never overwritten", providers.ManagedByTag, providers.ManagedByValue)}
	}
	if len(meta.Tags) > 0 {
		d.setTags, d.removeTags = tagDiff(tags, withManagedBy(meta.Tags))
	}
	current := f.Value.Bytes()
	if d.value, err = withProperty(current, in); err != nil {
		return ssmPush{}, &providers.Error{Class: providers.Invalid, Ref: ref, Err: err}
	}
	d.did = changed(string(current) == string(d.value), len(d.setTags)+len(d.removeTags) > 0)
	return d, nil
}

// putParameter is the PutParameter ESO sends for value under meta. The
// tier is sent as given (ESO sends only Advanced); policies only with it.
func putParameter(name string, value []byte, meta awsservice.ParameterStorePush) *ssm.PutParameterInput {
	in := &ssm.PutParameterInput{Name: aws.String(name), Value: aws.String(string(value)), Type: ssmtypes.ParameterType(meta.SecretType),
		Description: aws.String(meta.Description), Tier: ssmtypes.ParameterTier(meta.Tier.Type)}
	if meta.Secure() {
		in.KeyId = aws.String(meta.KMSKeyID)
	}
	if meta.Tier.Policies != nil {
		in.Policies = aws.String(string(meta.Tier.Policies))
	}
	return in
}

func (p *ssmProvider) put(ctx context.Context, in *ssm.PutParameterInput) error {
	if err := p.client.wait(ctx, "PutParameter"); err != nil {
		return err
	}
	_, err := p.client.api.PutParameter(ctx, in)
	p.calls.add("PutParameter", err)
	switch {
	case madeMeanwhile(err):
		return raced{classifySSM(ssmRef(aws.ToString(in.Name)), err)}
	case err != nil:
		return classifySSM(ssmRef(aws.ToString(in.Name)), err)
	}
	return nil
}

// DeleteRemote deletes a parameter that carries the managed-by tag; one
// without it is refused (NotManaged), where ESO reports it deleted.
func (p *ssmProvider) DeleteRemote(ctx context.Context, key string) (bool, error) {
	ref := ssmRef(key)
	unlock, err := p.locks.turn(ctx, remoteKey("ssm", p.region, key), ref)
	if err != nil {
		return false, err
	}
	defer unlock()
	f := p.get(ctx, []providers.Ref{{Key: key}})[providers.Ref{Key: key}]
	if providers.ClassOf(f.Err) == providers.NotFound {
		return true, nil
	}
	if f.Err != nil {
		return false, f.Err
	}
	tags, err := p.tagMap(ctx, key)
	if err != nil {
		return false, err
	}
	if tags[providers.ManagedByTag] != providers.ManagedByValue {
		return false, &providers.Error{Class: providers.NotManaged, Ref: ref, Err: fmt.Errorf("has no tag %s=%s: it was not made by a push, so it is never deleted", providers.ManagedByTag, providers.ManagedByValue)}
	}
	return p.deleteParameter(ctx, ref, key)
}

// deleteParameter deletes the parameter key (ref in errors), and reports
// it gone when it was deleted meanwhile; the caller holds its turn and
// has checked that it is ours.
func (p *ssmProvider) deleteParameter(ctx context.Context, ref, key string) (gone bool, err error) {
	if err := p.client.wait(ctx, "DeleteParameter"); err != nil {
		return false, err
	}
	_, err = p.client.api.DeleteParameter(ctx, &ssm.DeleteParameterInput{Name: aws.String(key)})
	p.calls.add("DeleteParameter", err)
	if err == nil {
		return false, nil
	}
	if err := classifySSM(ref, err); providers.ClassOf(err) != providers.NotFound {
		return false, err
	}
	return true, nil // deleted meanwhile
}

// Owner finds key with DescribeParameters (its name, exactly) and reads
// its tags: no value is read, where GetParameters would return it.
func (p *ssmProvider) Owner(ctx context.Context, key string) (providers.Remote, error) {
	found, err := p.describe(ctx, []ssmtypes.ParameterStringFilter{{Key: aws.String("Name"), Option: aws.String("Equals"), Values: []string{key}}}, nil)
	if err != nil {
		return providers.Remote{}, err
	}
	if !slices.ContainsFunc(found, func(f providers.Found) bool { return f.Name == key }) {
		return providers.Remote{}, nil
	}
	tags, err := p.tagMap(ctx, key)
	if err != nil {
		return providers.Remote{Exists: true}, err
	}
	return providers.Remote{Exists: true, Ours: tags[providers.ManagedByTag] == providers.ManagedByValue}, nil
}

// tagMap is a parameter's tags.
func (p *ssmProvider) tagMap(ctx context.Context, key string) (map[string]string, error) {
	if err := p.client.wait(ctx, "ListTagsForResource"); err != nil {
		return nil, err
	}
	res, err := p.client.api.ListTagsForResource(ctx, &ssm.ListTagsForResourceInput{ResourceId: aws.String(key), ResourceType: ssmtypes.ResourceTypeForTaggingParameter})
	p.calls.add("ListTagsForResource", err)
	if err != nil {
		return nil, classifySSM(ssmRef(key), err)
	}
	tags := make(map[string]string, len(res.TagList))
	for _, t := range res.TagList {
		tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return tags, nil
}

// retag sets and removes a pushed parameter's tags as decide found
// wanting; nothing when they match.
func (p *ssmProvider) retag(ctx context.Context, key string, set map[string]string, remove []string) error {
	if len(remove) > 0 {
		if err := p.client.wait(ctx, "RemoveTagsFromResource"); err != nil {
			return err
		}
		_, err := p.client.api.RemoveTagsFromResource(ctx, &ssm.RemoveTagsFromResourceInput{ResourceId: aws.String(key), ResourceType: ssmtypes.ResourceTypeForTaggingParameter, TagKeys: remove})
		p.calls.add("RemoveTagsFromResource", err)
		if err != nil {
			return classifySSM(ssmRef(key), err)
		}
	}
	if len(set) == 0 {
		return nil
	}
	if err := p.client.wait(ctx, "AddTagsToResource"); err != nil {
		return err
	}
	_, err := p.client.api.AddTagsToResource(ctx, &ssm.AddTagsToResourceInput{ResourceId: aws.String(key), ResourceType: ssmtypes.ResourceTypeForTaggingParameter, Tags: ssmTags(set)})
	p.calls.add("AddTagsToResource", err)
	if err != nil {
		return classifySSM(ssmRef(key), err)
	}
	return nil
}

func ssmTags(tags map[string]string) []ssmtypes.Tag {
	out := make([]ssmtypes.Tag, 0, len(tags))
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		out = append(out, ssmtypes.Tag{Key: aws.String(k), Value: aws.String(tags[k])})
	}
	return out
}
