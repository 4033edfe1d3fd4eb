package smserver_test

import (
	"context"
	"errors"
	"sort"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	"github.com/secretsync/secretsync/internal/awstest"
	"github.com/secretsync/secretsync/internal/smserver"
)

// These tests drive the server through the real SDK client, so they check
// the wire protocol as much as the behaviour.

func get(t *testing.T, c *secretsmanager.Client, in *secretsmanager.GetSecretValueInput) *secretsmanager.GetSecretValueOutput {
	t.Helper()
	out, err := c.GetSecretValue(context.Background(), in)
	if err != nil {
		t.Fatalf("GetSecretValue: %v", err)
	}
	return out
}

func TestStagesStayCorrectOverManyRotations(t *testing.T) {
	b := awstest.StartSM(t)
	c := b.Client()
	_, first := b.Create(t, "rot", "v0")
	versions := []string{first}
	for i := 1; i <= 10; i++ {
		versions = append(versions, b.Put(t, "rot", "v"+string(rune('0'+i))))
	}
	cur := get(t, c, &secretsmanager.GetSecretValueInput{SecretId: aws.String("rot")})
	prev := get(t, c, &secretsmanager.GetSecretValueInput{SecretId: aws.String("rot"), VersionStage: aws.String("AWSPREVIOUS")})
	if aws.ToString(cur.VersionId) != versions[10] || aws.ToString(prev.VersionId) != versions[9] {
		t.Fatalf("after 10 rotations current=%s previous=%s, want %s and %s", aws.ToString(cur.VersionId), aws.ToString(prev.VersionId), versions[10], versions[9])
	}
	old := get(t, c, &secretsmanager.GetSecretValueInput{SecretId: aws.String("rot"), VersionId: aws.String(versions[3])})
	if aws.ToString(old.SecretString) != "v3" || len(old.VersionStages) != 0 {
		t.Fatalf("version 3: value matches=%v stages=%v", aws.ToString(old.SecretString) == "v3", old.VersionStages)
	}
	desc, err := c.DescribeSecret(context.Background(), &secretsmanager.DescribeSecretInput{SecretId: aws.String("rot")})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{versions[10]: {"AWSCURRENT"}, versions[9]: {"AWSPREVIOUS"}}
	if diff := cmp.Diff(want, desc.VersionIdsToStages); diff != "" {
		t.Fatalf("stages (-want +got):\n%s", diff)
	}

	t.Run("a pending version promoted by UpdateSecretVersionStage", func(t *testing.T) {
		pending, err := c.PutSecretValue(context.Background(), &secretsmanager.PutSecretValueInput{
			SecretId: aws.String("rot"), SecretString: aws.String("next"), VersionStages: []string{"AWSPENDING"}})
		if err != nil {
			t.Fatal(err)
		}
		if got := get(t, c, &secretsmanager.GetSecretValueInput{SecretId: aws.String("rot")}); aws.ToString(got.VersionId) != versions[10] {
			t.Fatal("a pending version became current")
		}
		_, err = c.UpdateSecretVersionStage(context.Background(), &secretsmanager.UpdateSecretVersionStageInput{
			SecretId: aws.String("rot"), VersionStage: aws.String("AWSCURRENT"),
			MoveToVersionId: pending.VersionId, RemoveFromVersionId: aws.String(versions[10])})
		if err != nil {
			t.Fatal(err)
		}
		cur := get(t, c, &secretsmanager.GetSecretValueInput{SecretId: aws.String("rot")})
		prev := get(t, c, &secretsmanager.GetSecretValueInput{SecretId: aws.String("rot"), VersionStage: aws.String("AWSPREVIOUS")})
		if aws.ToString(cur.VersionId) != aws.ToString(pending.VersionId) || aws.ToString(prev.VersionId) != versions[10] {
			t.Fatalf("after promotion current=%s previous=%s", aws.ToString(cur.VersionId), aws.ToString(prev.VersionId))
		}
	})
}

func names(list []types.SecretListEntry) []string {
	var out []string
	for _, e := range list {
		out = append(out, aws.ToString(e.Name))
	}
	sort.Strings(out)
	return out
}

func TestListSecretsFiltersAndPages(t *testing.T) {
	b := awstest.StartSM(t)
	c := b.Client()
	ctx := context.Background()
	for _, n := range []string{"team-a/db", "team-a/api", "team-b/db"} {
		b.Create(t, n, "x")
	}
	if _, err := c.TagResource(ctx, &secretsmanager.TagResourceInput{SecretId: aws.String("team-b/db"),
		Tags: []types.Tag{{Key: aws.String("env"), Value: aws.String("prod")}}}); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		filters []types.Filter
		want    []string
	}{
		{"a name prefix", []types.Filter{{Key: types.FilterNameStringTypeName, Values: []string{"team-a/"}}}, []string{"team-a/api", "team-a/db"}},
		{"a negated name prefix", []types.Filter{{Key: types.FilterNameStringTypeName, Values: []string{"!team-a/"}}}, []string{"team-b/db"}},
		{"a tag key", []types.Filter{{Key: types.FilterNameStringTypeTagKey, Values: []string{"env"}}}, []string{"team-b/db"}},
		{"a tag value", []types.Filter{{Key: types.FilterNameStringTypeTagValue, Values: []string{"prod"}}}, []string{"team-b/db"}},
		{"two filters are and-ed", []types.Filter{
			{Key: types.FilterNameStringTypeName, Values: []string{"team-"}},
			{Key: types.FilterNameStringTypeTagValue, Values: []string{"prod"}}}, []string{"team-b/db"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, err := c.ListSecrets(ctx, &secretsmanager.ListSecretsInput{Filters: tc.filters})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, names(out.SecretList)); diff != "" {
				t.Fatalf("(-want +got):\n%s", diff)
			}
		})
	}
	t.Run("pages follow NextToken", func(t *testing.T) {
		var got []types.SecretListEntry
		pager := secretsmanager.NewListSecretsPaginator(c, &secretsmanager.ListSecretsInput{MaxResults: aws.Int32(2)})
		pages := 0
		for pager.HasMorePages() {
			out, err := pager.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			pages++
			got = append(got, out.SecretList...)
		}
		if pages != 2 || len(got) != 3 {
			t.Fatalf("%d pages, %d secrets; want 2 and 3", pages, len(got))
		}
	})
}

func TestBatchGetSecretValue(t *testing.T) {
	b := awstest.StartSM(t)
	c := b.Client()
	b.Create(t, "a", "1")
	b.Create(t, "b", "2")
	out, err := c.BatchGetSecretValue(context.Background(), &secretsmanager.BatchGetSecretValueInput{SecretIdList: []string{"a", "b", "missing"}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, v := range out.SecretValues {
		got = append(got, aws.ToString(v.Name)+"="+aws.ToString(v.SecretString))
	}
	if diff := cmp.Diff([]string{"a=1", "b=2"}, got); diff != "" {
		t.Fatalf("values (-want +got):\n%s", diff)
	}
	if len(out.Errors) != 1 || aws.ToString(out.Errors[0].SecretId) != "missing" || aws.ToString(out.Errors[0].ErrorCode) != "ResourceNotFoundException" {
		t.Fatalf("errors = %+v", out.Errors)
	}
	if _, err := c.BatchGetSecretValue(context.Background(), &secretsmanager.BatchGetSecretValueInput{SecretIdList: make([]string, 21)}); err == nil {
		t.Fatal("21 ids were accepted; the limit is 20")
	}
}

func TestDeleteAndInjectedFaults(t *testing.T) {
	b := awstest.StartSM(t)
	c := b.Client()
	ctx := context.Background()
	b.Create(t, "gone", "x")
	if _, err := c.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{SecretId: aws.String("gone")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("gone")}); err == nil {
		t.Fatal("a secret scheduled for deletion still serves its value")
	}

	b.SM.SetLatency(50 * time.Millisecond)
	b.SM.SetFault(func(op, id string) error {
		if op == "GetSecretValue" {
			return smserver.ErrThrottled
		}
		return nil
	})
	b.Create(t, "slow", "x")
	start := time.Now()
	_, err := c.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("slow")})
	var api smithy.APIError
	if !errors.As(err, &api) || api.ErrorCode() != "ThrottlingException" {
		t.Fatalf("err = %v, want a throttling error", err)
	}
	if time.Since(start) < 50*time.Millisecond {
		t.Fatal("latency was not injected")
	}
	if n := b.SM.Calls()["GetSecretValue"]; n != 2 {
		t.Fatalf("GetSecretValue counted %d times, want 2", n)
	}
}
