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
	desc, err := p.describe(ctx, key)
	if providers.ClassOf(err) == providers.NotFound {
		return providers.UnsetNothing, nil
	}
	if err != nil {
		return "", err
	}
	if desc.DeletedDate != nil || len(desc.VersionIdsToStages) == 0 {
		return providers.UnsetNothing, nil
	}
	if !managed(desc.Tags) {
		return "", notOursToUnset(ref)
	}
	if err := p.client.wait(ctx, "GetSecretValue"); err != nil {
		return "", err
	}
	cur, err := p.client.api.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: desc.ARN})
	p.calls.add("GetSecretValue", err)
	if err != nil {
		return "", classify(ref, err)
	}
	rest, removed := withoutProperties(valueBytes(cur.SecretString, cur.SecretBinary), properties)
	switch {
	case !removed:
		return providers.UnsetNothing, nil
	case rest == nil:
		return unsetByDelete(false, p.deleteSecret(ctx, ref, desc.ARN))
	}
	put := &secretsmanager.PutSecretValueInput{SecretId: desc.ARN, SecretBinary: rest}
	if cur.SecretString != nil {
		put.SecretBinary, put.SecretString = nil, aws.String(string(rest))
	}
	_, err = p.client.api.PutSecretValue(ctx, put)
	p.calls.add("PutSecretValue", err)
	if err != nil {
		return "", classify(ref, err)
	}
	return providers.UnsetProperties, nil
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
	if err := p.client.wait(ctx, "DescribeParameters"); err != nil {
		return "", err
	}
	found, err := p.client.api.DescribeParameters(ctx, &ssm.DescribeParametersInput{
		ParameterFilters: []ssmtypes.ParameterStringFilter{{Key: aws.String("Name"), Option: aws.String("Equals"), Values: []string{key}}}})
	p.calls.add("DescribeParameters", err)
	if err != nil {
		return "", classifySSM(ref, err)
	}
	var meta *ssmtypes.ParameterMetadata
	for i := range found.Parameters {
		if aws.ToString(found.Parameters[i].Name) == key {
			meta = &found.Parameters[i]
		}
	}
	if meta == nil {
		return providers.UnsetNothing, nil
	}
	tags, err := p.tagMap(ctx, key)
	if err != nil {
		return "", err
	}
	if tags[providers.ManagedByTag] != providers.ManagedByValue {
		return "", notOursToUnset(ref)
	}
	f := p.get(ctx, []providers.Ref{{Key: key}})[providers.Ref{Key: key}]
	if providers.ClassOf(f.Err) == providers.NotFound {
		return providers.UnsetNothing, nil
	}
	if f.Err != nil {
		return "", f.Err
	}
	rest, removed := withoutProperties(f.Value.Bytes(), properties)
	switch {
	case !removed:
		return providers.UnsetNothing, nil
	case rest == nil:
		return unsetByDelete(p.deleteParameter(ctx, ref, key))
	}
	put := &ssm.PutParameterInput{Name: aws.String(key), Value: aws.String(string(rest)), Type: meta.Type, Tier: meta.Tier, Overwrite: aws.Bool(true)}
	if meta.Type == ssmtypes.ParameterTypeSecureString {
		put.KeyId = meta.KeyId
	}
	if err := p.put(ctx, put); err != nil {
		return "", err
	}
	return providers.UnsetProperties, nil
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
