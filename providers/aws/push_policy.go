package aws

import (
	"context"
	"errors"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/secretsync/secretsync/providers/aws/awsservice"
)

// A Secrets Manager push whose metadata names a resourcePolicy manages the
// secret's resource policy, as ESO 2.9.0's does: the text (read by the
// caller from the PushSecret's namespace) is put on a secret it creates,
// and on one of ours it is compared, as JSON, with GetResourcePolicy's and
// put only when it differs; empty text removes the policy. Unlike ESO, a
// push whose metadata names none leaves the policy as it is (ESO deletes
// it on every push): no call, no write and no permission for pushes that
// do not use policies. BlockPublicPolicy is always true.

// wantedPolicy is the policy text a push of meta sets (nil: it manages
// none), checked: a JSON object of at most AWS's length, or empty.
func wantedPolicy(meta awsservice.SecretsManagerPush, text *string) (*string, error) {
	src := meta.ResourcePolicy
	switch {
	case src == nil:
		return nil, nil
	case text == nil:
		return nil, errors.New("metadata.spec.resourcePolicy: the policy of " + src.String() + " was not read")
	}
	if err := awsservice.CheckPolicy([]byte(*text)); err != nil {
		return nil, errors.New("metadata.spec.resourcePolicy: the policy in " + src.String() + " " + err.Error())
	}
	if strings.TrimSpace(*text) == "" {
		// Blanks are no policy (CheckPolicy): never sent to AWS as one.
		return new(string), nil
	}
	return text, nil
}

// comparePolicy reads the resource policy of d's secret (ours) when the
// push manages one (want) and notes in d what makes it want: a put when
// the JSON differs, a removal for empty text when it has one.
func (p *provider) comparePolicy(ctx context.Context, d *smPush, want *string) error {
	if want == nil {
		return nil
	}
	ref := smRef(aws.ToString(d.desc.Name))
	out, err := p.client.api.GetResourcePolicy(ctx, &secretsmanager.GetResourcePolicyInput{SecretId: d.desc.ARN})
	p.calls.add("GetResourcePolicy", err)
	if err != nil {
		return classify(ref, err)
	}
	current := []byte(aws.ToString(out.ResourcePolicy))
	if awsservice.SamePolicy(current, []byte(*want)) {
		return nil
	}
	if *want == "" {
		d.dropPolicy = true
	} else {
		d.policy = want
	}
	return nil
}

// setPolicy puts or removes the resource policy of the secret id (ref in
// errors) as d decided, always with BlockPublicPolicy.
func (p *provider) setPolicy(ctx context.Context, ref string, id *string, d smPush) error {
	switch {
	case d.policy != nil:
		_, err := p.client.api.PutResourcePolicy(ctx, &secretsmanager.PutResourcePolicyInput{
			SecretId: id, ResourcePolicy: d.policy, BlockPublicPolicy: aws.Bool(true)})
		p.calls.add("PutResourcePolicy", err)
		if err != nil {
			return classify(ref, err)
		}
	case d.dropPolicy:
		_, err := p.client.api.DeleteResourcePolicy(ctx, &secretsmanager.DeleteResourcePolicyInput{SecretId: id})
		p.calls.add("DeleteResourcePolicy", err)
		if err != nil {
			return classify(ref, err)
		}
	}
	return nil
}
