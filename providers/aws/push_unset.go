package aws

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/secretsync/secretsync/providers"
)

// Taking a property out is what deletionPolicy Delete does for a data
// entry that pushed one and left Git. ESO 2.9.0's Vault provider does it
// so (the other keys stay; a secret left with none is deleted); its AWS
// providers delete the whole secret, the properties still pushed with it,
// which we do not copy.
var (
	_ providers.PropertyDeleter = (*provider)(nil)
	_ providers.PropertyDeleter = (*ssmProvider)(nil)
)

// DeleteProperties takes properties out of the Secrets Manager secret key
// if it carries the managed-by tag: a new version of its JSON without
// them, in the form the current one has (string or binary), or, with no
// key left, the secret deleted as DeleteRemote deletes it, all in the
// secret's turn (pushlock.go).
func (p *provider) DeleteProperties(ctx context.Context, key string, properties []string) (providers.Unset, error) {
	ref := smRef(key)
	unlock, err := p.locks.turn(ctx, remoteKey("secretsmanager", p.region, key), ref)
	if err != nil {
		return "", err
	}
	defer unlock()
	u, err := p.unset(ctx, key, properties)
	switch {
	case err != nil || u.did == providers.UnsetNothing:
		return u.did, err
	case u.did == providers.UnsetDeleted:
		return unsetByDelete(false, p.deleteSecret(ctx, ref, u.arn))
	}
	put := &secretsmanager.PutSecretValueInput{SecretId: u.arn, SecretBinary: u.rest}
	if u.text {
		put.SecretBinary, put.SecretString = nil, aws.String(string(u.rest))
	}
	_, err = p.client.api.PutSecretValue(ctx, put)
	p.calls.add("PutSecretValue", err)
	if err != nil {
		return "", classify(ref, err)
	}
	return providers.UnsetProperties, nil
}

// WouldDeleteProperties is what DeleteProperties would do, with read calls
// only (for diff).
func (p *provider) WouldDeleteProperties(ctx context.Context, key string, properties []string) (providers.Unset, error) {
	u, err := p.unset(ctx, key, properties)
	return u.did, err
}

// smUnset is what taking properties out of a Secrets Manager secret does:
// did, and for a new version, the secret's ARN, what is left (rest) and
// whether it is held as a string (text).
type smUnset struct {
	did  providers.Unset
	arn  *string
	rest []byte
	text bool
}

// unset reads the secret key and decides what taking properties out of it
// does: nothing (absent, scheduled for deletion, none of them there), a
// new version, or its deletion (no key left); one without the managed-by
// tag is refused.
func (p *provider) unset(ctx context.Context, key string, properties []string) (smUnset, error) {
	ref := smRef(key)
	nothing := smUnset{did: providers.UnsetNothing}
	desc, err := p.describe(ctx, key)
	if providers.ClassOf(err) == providers.NotFound {
		return nothing, nil
	}
	if err != nil {
		return smUnset{}, err
	}
	if desc.DeletedDate != nil || len(desc.VersionIdsToStages) == 0 {
		return nothing, nil
	}
	if !managed(desc.Tags) {
		return smUnset{}, notOursToUnset(ref)
	}
	if err := p.client.wait(ctx, "GetSecretValue"); err != nil {
		return smUnset{}, err
	}
	cur, err := p.client.api.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: desc.ARN})
	p.calls.add("GetSecretValue", err)
	if err != nil {
		return smUnset{}, classify(ref, err)
	}
	rest, removed := withoutProperties(valueBytes(cur.SecretString, cur.SecretBinary), properties)
	switch {
	case !removed:
		return nothing, nil
	case rest == nil:
		return smUnset{did: providers.UnsetDeleted, arn: desc.ARN}, nil
	}
	return smUnset{did: providers.UnsetProperties, arn: desc.ARN, rest: rest, text: cur.SecretString != nil}, nil
}

// DeleteProperties takes properties out of the parameter key if it carries
// the managed-by tag: a new version of its JSON without them, with the
// type, key and tier it has, or, with no key left, the parameter deleted
// as DeleteRemote deletes it.
func (p *ssmProvider) DeleteProperties(ctx context.Context, key string, properties []string) (providers.Unset, error) {
	ref := ssmRef(key)
	unlock, err := p.locks.turn(ctx, remoteKey("ssm", p.region, key), ref)
	if err != nil {
		return "", err
	}
	defer unlock()
	u, err := p.unset(ctx, key, properties)
	switch {
	case err != nil || u.did == providers.UnsetNothing:
		return u.did, err
	case u.did == providers.UnsetDeleted:
		return unsetByDelete(p.deleteParameter(ctx, ref, key))
	}
	put := &ssm.PutParameterInput{Name: aws.String(key), Value: aws.String(string(u.rest)), Type: u.meta.Type, Tier: u.meta.Tier, Overwrite: aws.Bool(true)}
	if u.meta.Type == ssmtypes.ParameterTypeSecureString {
		put.KeyId = u.meta.KeyId
	}
	if err := p.put(ctx, put); err != nil {
		return "", err
	}
	return providers.UnsetProperties, nil
}

// WouldDeleteProperties is what DeleteProperties would do, with read calls
// only (for diff).
func (p *ssmProvider) WouldDeleteProperties(ctx context.Context, key string, properties []string) (providers.Unset, error) {
	u, err := p.unset(ctx, key, properties)
	return u.did, err
}

// ssmUnset is what taking properties out of a parameter does: did, and
// for a new version, the parameter's metadata and what is left (rest).
type ssmUnset struct {
	did  providers.Unset
	meta *ssmtypes.ParameterMetadata
	rest []byte
}

// unset reads the parameter key and decides what taking properties out of
// it does, as the Secrets Manager one does.
func (p *ssmProvider) unset(ctx context.Context, key string, properties []string) (ssmUnset, error) {
	ref := ssmRef(key)
	nothing := ssmUnset{did: providers.UnsetNothing}
	if err := p.client.wait(ctx, "DescribeParameters"); err != nil {
		return ssmUnset{}, err
	}
	found, err := p.client.api.DescribeParameters(ctx, &ssm.DescribeParametersInput{
		ParameterFilters: []ssmtypes.ParameterStringFilter{{Key: aws.String("Name"), Option: aws.String("Equals"), Values: []string{key}}}})
	p.calls.add("DescribeParameters", err)
	if err != nil {
		return ssmUnset{}, classifySSM(ref, err)
	}
	var meta *ssmtypes.ParameterMetadata
	for i := range found.Parameters {
		if aws.ToString(found.Parameters[i].Name) == key {
			meta = &found.Parameters[i]
		}
	}
	if meta == nil {
		return nothing, nil
	}
	tags, err := p.tagMap(ctx, key)
	if err != nil {
		return ssmUnset{}, err
	}
	if tags[providers.ManagedByTag] != providers.ManagedByValue {
		return ssmUnset{}, notOursToUnset(ref)
	}
	f := p.get(ctx, []providers.Ref{{Key: key}})[providers.Ref{Key: key}]
	if providers.ClassOf(f.Err) == providers.NotFound {
		return nothing, nil
	}
	if f.Err != nil {
		return ssmUnset{}, f.Err
	}
	rest, removed := withoutProperties(f.Value.Bytes(), properties)
	switch {
	case !removed:
		return nothing, nil
	case rest == nil:
		return ssmUnset{did: providers.UnsetDeleted}, nil
	}
	return ssmUnset{did: providers.UnsetProperties, meta: meta, rest: rest}, nil
}

func notOursToUnset(ref string) error {
	return &providers.Error{Class: providers.NotManaged, Ref: ref, Err: fmt.Errorf("has no tag %s=%s: it was not made by a push, so nothing is taken out of it", providers.ManagedByTag, providers.ManagedByValue)}
}

// unsetByDelete is DeleteRemote's answer as DeleteProperties gives it.
func unsetByDelete(gone bool, err error) (providers.Unset, error) {
	switch {
	case err != nil:
		return "", err
	case gone:
		return providers.UnsetNothing, nil
	}
	return providers.UnsetDeleted, nil
}

// withoutProperties is current, a JSON object, without properties (dots
// nest, as withProperty writes them; an object a removal leaves empty on
// the way goes too), and whether any was there; nil rest when no key is
// left. A current value that is no JSON object holds none of them.
func withoutProperties(current []byte, properties []string) (rest []byte, removed bool) {
	obj := map[string]any{}
	if decodeObject(current, &obj) != nil {
		return nil, false
	}
	for _, property := range properties {
		removed = unsetPath(obj, strings.Split(property, ".")) || removed
	}
	if !removed || len(obj) == 0 {
		return nil, removed
	}
	rest, err := encodeObject(obj)
	return rest, err == nil
}

// unsetPath deletes path from node, and each object on it the deletion
// leaves empty; it reports whether path was there.
func unsetPath(node map[string]any, path []string) bool {
	if len(path) == 1 {
		_, ok := node[path[0]]
		delete(node, path[0])
		return ok
	}
	next, ok := node[path[0]].(map[string]any)
	if !ok || !unsetPath(next, path[1:]) {
		return false
	}
	if len(next) == 0 {
		delete(node, path[0])
	}
	return true
}
