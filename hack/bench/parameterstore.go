package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/rs/zerolog"
	"github.com/sivchari/kumo"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/secretsync/secretsync/gitsource"
	"github.com/secretsync/secretsync/internal/gittest"
	"github.com/secretsync/secretsync/internal/testenv"
	awsprov "github.com/secretsync/secretsync/providers/aws"
	"github.com/secretsync/secretsync/reconciler"
)

// parameterStoreScenario refreshes n ExternalSecrets, each with one key
// from its own SecureString parameter in kumo's Parameter Store, and
// counts the calls against ESO's one GetParameter per reference.
func parameterStoreScenario(kube *testenv.Env, dir string, n int) error {
	ctx := context.Background()
	k := kumo.NewServer()
	defer k.Close()
	client := ssm.New(ssm.Options{Region: "us-east-1", BaseEndpoint: aws.String(k.URL),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDBENCH", "bench", "")})
	instance := "bench-ps"
	ns := instance
	if _, err := kube.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		return err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: external-secrets.io/v1\nkind: SecretStore\nmetadata: {name: ps, namespace: %s}\nspec: {provider: {aws: {service: ParameterStore, region: us-east-1, prefix: /bench/}}}\n", ns)
	for j := range n {
		fmt.Fprintf(&b, "---\napiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: {name: ps-%05d, namespace: %s}\nspec:\n  secretStoreRef: {name: ps}\n  data: [{secretKey: value, remoteRef: {key: p-%05d, property: password}}]\n", j, ns, j)
		if _, err := client.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String(fmt.Sprintf("/bench/p-%05d", j)), Type: ssmtypes.ParameterTypeSecureString,
			Value: aws.String(fmt.Sprintf(`{"password":"p-%05d"}`, j))}); err != nil {
			return err
		}
	}
	repo, err := gittest.Init(filepath.Join(dir, "repo"))
	if err != nil {
		return err
	}
	if _, err := repo.Commit("bench", map[string]string{"secrets.yaml": b.String()}); err != nil {
		return err
	}
	src, err := gitsource.New(gitsource.Options{URL: "file://" + repo.Dir, Ref: "main", Dir: filepath.Join(dir, "checkout")})
	if err != nil {
		return err
	}
	pf := awsprov.NewFactory(awsprov.Options{SSMEndpoint: k.URL, DefaultRegion: "us-east-1"})
	rec, err := reconciler.New(reconciler.Config{Instance: instance, InventoryNamespace: "default", Path: ".", RefreshInterval: 0},
		src, kube.Client, pf, zerolog.Nop())
	if err != nil {
		return err
	}
	if cold := rec.Pass(ctx, true); !cold.OK() || cold.Applied != n {
		return fmt.Errorf("parameter store cold pass: applied %d of %d, errors %v", cold.Applied, n, first(cold.Errors))
	}
	before := pf.Calls().Total()
	refresh := rec.Pass(ctx, true)
	if !refresh.OK() || refresh.Unchanged != n {
		return fmt.Errorf("parameter store refresh: unchanged %d of %d, errors %v", refresh.Unchanged, n, first(refresh.Errors))
	}
	ours := pf.Calls().Total() - before
	record(fmt.Sprintf("parameterstore_refresh_aws_calls_%s", label(n)), float64(ours), "", fmt.Sprintf("%v", pf.Calls().Snapshot()))
	record("refresh_aws_calls_ratio_parameterstore", float64(n)/float64(ours), "x",
		fmt.Sprintf("ESO's %d GetParameter calls (one per reference) / ours (GetParameters, 10 names a call)", n))
	return nil
}
