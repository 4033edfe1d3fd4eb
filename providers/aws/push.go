package aws

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/secretsync/secretsync/providers"
	"github.com/secretsync/secretsync/providers/aws/awsservice"
)

// What ESO 2.9.0's Secrets Manager push sets on a secret it creates when
// the PushSecret's metadata gives none: the description, the key, and the
// first version's id (pushmeta.go reads the metadata).
const (
	pushDescription    = "secret '" + providers.ManagedByTag + ":" + providers.ManagedByValue + "'"
	pushKMSKeyID       = "alias/aws/secretsmanager"
	pushInitialVersion = "00000000-0000-0000-0000-000000000001"
)

var (
	_ providers.Pusher      = (*provider)(nil)
	_ providers.Owner       = (*provider)(nil)
	_ providers.WouldPusher = (*provider)(nil)
)

// smPush is what a Secrets Manager push decides, reading only (DescribeSecret,
// GetSecretValue), and what its writes then need.
type smPush struct {
	did  providers.Pushed
	meta awsservice.SecretsManagerPush
	desc *secretsmanager.DescribeSecretOutput
	// value is what a create or a new version writes.
	value []byte
	// setTags and removeTags make the tags the metadata's (with managed-by).
	setTags    map[string]string
	removeTags []string
	// policy is the resource policy to put (nil: none to put); dropPolicy
	// removes the one the secret has (push_policy.go).
	policy     *string
	dropPolicy bool
}

// Push writes p as ESO's Secrets Manager push does (decide says what it
// writes): a secret that does not exist is created with the managed-by tag;
// otherwise the metadata's tags are set when they differ, and a new version
// is put only when the current one holds another value, in the metadata's
// format. Pushes of one secret take turns (remoteLocks), and a create that
// another process won is decided again (raced), so that pushes of two
// properties of one secret both end in it.
func (p *provider) Push(ctx context.Context, in providers.Push) (providers.Pushed, error) {
	return p.locks.pushInTurn(ctx, remoteKey("secretsmanager", p.region, in.Key), smRef(in.Key), func() (providers.Pushed, error) { return p.pushOnce(ctx, in) })
}

// pushOnce decides and writes one push of in.
func (p *provider) pushOnce(ctx context.Context, in providers.Push) (providers.Pushed, error) {
	d, err := p.decide(ctx, in)
	if err != nil {
		return "", err
	}
	switch d.did {
	case providers.Created:
		if err := p.create(ctx, in.Key, d); err != nil {
			return "", err
		}
		if err := p.setPolicy(ctx, smRef(in.Key), aws.String(in.Key), d); err != nil {
			return "", err
		}
	case providers.Updated, providers.Retagged:
		if err := p.retag(ctx, d); err != nil {
			return "", err
		}
		if err := p.setPolicy(ctx, smRef(in.Key), d.desc.ARN, d); err != nil {
			return "", err
		}
	}
	if d.did != providers.Updated {
		return d.did, nil
	}
	put := &secretsmanager.PutSecretValueInput{SecretId: d.desc.ARN, SecretBinary: d.value}
	if d.meta.SecretPushFormat == awsservice.PushFormatString {
		put.SecretBinary, put.SecretString = nil, aws.String(string(d.value))
	}
	_, err = p.client.api.PutSecretValue(ctx, put)
	p.calls.add("PutSecretValue", err)
	if err != nil {
		return "", classify(smRef(in.Key), err)
	}
	return providers.Updated, nil
}

// WouldPush is what Push would do with in, decided the same way, reading only.
func (p *provider) WouldPush(ctx context.Context, in providers.Push) (providers.Pushed, error) {
	d, err := p.decide(ctx, in)
	return d.did, err
}

// decide reads what a push of in finds and decides what it does: create a
// secret that does not exist; refuse one scheduled for deletion, or one
// that exists without the managed-by tag (unless IfNotExists, which leaves
// any that exists); else compare the current value (read first: no version
// churn) and the tags with what the push writes.
func (p *provider) decide(ctx context.Context, in providers.Push) (smPush, error) {
	ref := smRef(in.Key)
	meta, err := smMeta(in.Metadata)
	if err != nil {
		return smPush{}, &providers.Error{Class: providers.Invalid, Ref: ref, Err: err}
	}
	d := smPush{meta: meta}
	want, err := wantedPolicy(meta, in.ResourcePolicy)
	if err != nil {
		return smPush{}, &providers.Error{Class: providers.Invalid, Ref: ref, Err: err}
	}
	desc, err := p.describe(ctx, in.Key)
	if providers.ClassOf(err) == providers.NotFound {
		d.did = providers.Created
		if want != nil && *want != "" {
			d.policy = want
		}
		d.value, err = withProperty(nil, in)
		if err != nil {
			return smPush{}, &providers.Error{Class: providers.Invalid, Ref: ref, Err: err}
		}
		return d, nil
	}
	if err != nil {
		return smPush{}, err
	}
	if desc.DeletedDate != nil {
		return smPush{}, &providers.Error{Class: providers.Invalid, Ref: ref, Err: errors.New("is scheduled for deletion; restore it or wait for its recovery window to end")}
	}
	if in.IfNotExists {
		d.did = providers.Exists
		return d, nil
	}
	if !managed(desc.Tags) {
		return smPush{}, &providers.Error{Class: providers.NotManaged, Ref: ref, Err: fmt.Errorf("exists without the tag %s=%s: it was not made by a push, so it is never overwritten", providers.ManagedByTag, providers.ManagedByValue)}
	}
	d.desc = desc
	if len(meta.Tags) > 0 {
		current := map[string]string{}
		for _, t := range desc.Tags {
			current[aws.ToString(t.Key)] = aws.ToString(t.Value)
		}
		d.setTags, d.removeTags = tagDiff(current, withManagedBy(meta.Tags))
	}
	if err := p.comparePolicy(ctx, &d, want); err != nil {
		return smPush{}, err
	}
	var current []byte
	if len(desc.VersionIdsToStages) > 0 {
		f := p.get(ctx, providers.Ref{Key: in.Key})
		if f.Err != nil {
			return smPush{}, f.Err
		}
		current = f.Value.Bytes()
	}
	if d.value, err = withProperty(current, in); err != nil {
		return smPush{}, &providers.Error{Class: providers.Invalid, Ref: ref, Err: err}
	}
	retag := len(d.setTags)+len(d.removeTags) > 0 || d.policy != nil || d.dropPolicy
	d.did = changed(current != nil && bytes.Equal(current, d.value), retag)
	return d, nil
}

// changed is what a push to a secret of ours does: a new version when the
// value differs, else new tags or resource policy when they differ, else
// nothing.
func changed(sameValue, retag bool) providers.Pushed {
	switch {
	case !sameValue:
		return providers.Updated
	case retag:
		return providers.Retagged
	}
	return providers.Unchanged
}

// create makes the secret key with the managed-by tag and the metadata's
// format, key, description and tags.
func (p *provider) create(ctx context.Context, key string, d smPush) error {
	meta := d.meta
	create := &secretsmanager.CreateSecretInput{
		Name: aws.String(key), SecretBinary: d.value, Description: aws.String(meta.Description),
		KmsKeyId: aws.String(meta.KMSKeyID), ClientRequestToken: aws.String(pushInitialVersion), Tags: smTags(withManagedBy(meta.Tags)),
	}
	if meta.SecretPushFormat == awsservice.PushFormatString {
		create.SecretBinary, create.SecretString = nil, aws.String(string(d.value))
	}
	_, err := p.client.api.CreateSecret(ctx, create)
	p.calls.add("CreateSecret", err)
	switch {
	case madeMeanwhile(err):
		return raced{classify(smRef(key), err)}
	case err != nil:
		return classify(smRef(key), err)
	}
	return nil
}

// retag makes a pushed secret's tags those decide found wanting, as ESO
// does on every push whose metadata sets tags.
func (p *provider) retag(ctx context.Context, d smPush) error {
	ref := smRef(aws.ToString(d.desc.Name))
	if len(d.removeTags) > 0 {
		_, err := p.client.api.UntagResource(ctx, &secretsmanager.UntagResourceInput{SecretId: d.desc.ARN, TagKeys: d.removeTags})
		p.calls.add("UntagResource", err)
		if err != nil {
			return classify(ref, err)
		}
	}
	if len(d.setTags) > 0 {
		_, err := p.client.api.TagResource(ctx, &secretsmanager.TagResourceInput{SecretId: d.desc.ARN, Tags: smTags(d.setTags)})
		p.calls.add("TagResource", err)
		if err != nil {
			return classify(ref, err)
		}
	}
	return nil
}

func smTags(tags map[string]string) []smtypes.Tag {
	out := make([]smtypes.Tag, 0, len(tags))
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		out = append(out, smtypes.Tag{Key: aws.String(k), Value: aws.String(tags[k])})
	}
	return out
}

// DeleteRemote deletes key if it carries the managed-by tag, with the
// store's recovery window, or at once under forceDeleteWithoutRecovery.
func (p *provider) DeleteRemote(ctx context.Context, key string) (bool, error) {
	ref := smRef(key)
	unlock, err := p.locks.turn(ctx, remoteKey("secretsmanager", p.region, key), ref)
	if err != nil {
		return false, err
	}
	defer unlock()
	desc, err := p.describe(ctx, key)
	if providers.ClassOf(err) == providers.NotFound {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	if desc.DeletedDate != nil {
		return true, nil
	}
	if !managed(desc.Tags) {
		return false, &providers.Error{Class: providers.NotManaged, Ref: ref, Err: fmt.Errorf("has no tag %s=%s: it was not made by a push, so it is never deleted", providers.ManagedByTag, providers.ManagedByValue)}
	}
	return false, p.deleteSecret(ctx, ref, desc.ARN)
}

// deleteSecret deletes the secret arn (ref in errors) with the store's
// recovery window, or at once under forceDeleteWithoutRecovery; the caller
// holds its turn and has checked that it is ours.
func (p *provider) deleteSecret(ctx context.Context, ref string, arn *string) error {
	in := &secretsmanager.DeleteSecretInput{SecretId: arn}
	if p.forceDelete {
		in.ForceDeleteWithoutRecovery = aws.Bool(true)
	} else if p.recoveryDays > 0 {
		in.RecoveryWindowInDays = aws.Int64(p.recoveryDays)
	}
	_, err := p.client.api.DeleteSecret(ctx, in)
	p.calls.add("DeleteSecret", err)
	if err != nil {
		return classify(ref, err)
	}
	return nil
}

// Owner describes key (DescribeSecret: no value is read). A secret
// scheduled for deletion exists, and says so: Push refuses it until it is
// restored or gone.
func (p *provider) Owner(ctx context.Context, key string) (providers.Remote, error) {
	desc, err := p.describe(ctx, key)
	if providers.ClassOf(err) == providers.NotFound {
		return providers.Remote{}, nil
	}
	if err != nil {
		return providers.Remote{}, err
	}
	return providers.Remote{Exists: true, Ours: managed(desc.Tags), Deleting: desc.DeletedDate != nil}, nil
}

func (p *provider) describe(ctx context.Context, key string) (*secretsmanager.DescribeSecretOutput, error) {
	if err := p.client.wait(ctx, "DescribeSecret"); err != nil {
		return nil, err
	}
	out, err := p.client.api.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(key)})
	p.calls.add("DescribeSecret", err)
	if err != nil {
		return nil, classify(smRef(key), err)
	}
	return out, nil
}

func managed(tags []smtypes.Tag) bool {
	for _, t := range tags {
		if aws.ToString(t.Key) == providers.ManagedByTag && aws.ToString(t.Value) == providers.ManagedByValue {
			return true
		}
	}
	return false
}

// withProperty is what a push writes: value itself, or, with a property,
// current (a JSON object, or nothing) with value as the string at that
// property, dots nesting, as ESO sets it. A value on the way that is no
// JSON object is an error, unless in.Replace names its path (a push
// leaving Git wrote it); when that push wrote the whole secret, only the
// properties of in.Keep stay of its object. When current already holds
// it, current is returned as it is, so an unchanged push writes nothing.
func withProperty(current []byte, in providers.Push) ([]byte, error) {
	property, value := in.Property, in.Value
	if property == "" {
		return value, nil
	}
	wholeLeft := slices.Contains(in.Replace, "")
	obj := map[string]any{}
	// JSON null decodes into a nil map without error: no object either.
	if len(bytes.TrimSpace(current)) > 0 && (decodeObject(current, &obj) != nil || obj == nil) {
		if !wholeLeft {
			return nil, errors.New("holds no JSON object, so property " + property + " cannot be written into it")
		}
		obj = map[string]any{}
	}
	narrowed := wholeLeft && current != nil
	if narrowed {
		obj = pickPaths(obj, append(slices.Clone(in.Keep), property))
	}
	path := strings.Split(property, ".")
	node := obj
	for i, k := range path[:len(path)-1] {
		next, ok := node[k].(map[string]any)
		if !ok {
			if _, taken := node[k]; taken && !slices.Contains(in.Replace, strings.Join(path[:i+1], ".")) {
				return nil, fmt.Errorf("property %s: %s holds no JSON object", property, k)
			}
			next = map[string]any{}
			node[k] = next
		}
		node = next
	}
	last := path[len(path)-1]
	if s, ok := node[last].(string); ok && s == string(value) && current != nil && !narrowed {
		return current, nil
	}
	node[last] = string(value)
	out, err := encodeObject(obj)
	if err == nil && bytes.Equal(out, current) {
		return current, nil
	}
	return out, err
}

// pickPaths is the part of obj at paths (dots nest): what a whole push
// leaving Git left that pushes in Git still write.
func pickPaths(obj map[string]any, paths []string) map[string]any {
	out := map[string]any{}
	for _, p := range paths {
		parts := strings.Split(p, ".")
		v, ok := any(obj), true
		for _, k := range parts {
			var m map[string]any
			if m, ok = v.(map[string]any); ok {
				v, ok = m[k]
			}
			if !ok {
				break
			}
		}
		if !ok {
			continue
		}
		to := out
		for _, k := range parts[:len(parts)-1] {
			sub, isMap := to[k].(map[string]any)
			if !isMap {
				sub = map[string]any{}
				to[k] = sub
			}
			to = sub
		}
		to[parts[len(parts)-1]] = v
	}
	return out
}

// decodeObject reads a remote secret's JSON object into obj, numbers as
// written (json.Number), as withProperty and withoutProperties both read it.
func decodeObject(current []byte, obj *map[string]any) error {
	dec := json.NewDecoder(bytes.NewReader(current))
	dec.UseNumber()
	return dec.Decode(obj)
}

// encodeObject is obj as a remote secret holds it: no HTML escaping, no
// trailing newline; a push compares these bytes before it writes, so
// adding and taking out properties must write the same form.
func encodeObject(obj map[string]any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(obj); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
