package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/secretsync/secretsync/providers"
	"github.com/secretsync/secretsync/providers/aws"
)

func newEncryptCmd(s streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "encrypt --kms-key KEY -n NAMESPACE --secret NAME --secret-key KEY < value",
		Short: "Print KMS ciphertext for Git, bound to one Secret key; the value comes from stdin",
		Long: `Encrypt a value with AWS KMS for a store with service KMS. The value is read
from stdin, never from an argument, where it would reach shell history and ps.
The ciphertext is bound to one key of one Secret by the KMS encryption context
(namespace, Secret name and key), so it cannot be moved to another Secret in
Git and decrypted there. A trailing newline of the input is dropped unless
--keep-newline is given.`,
		Example: `  printf %s "$DB_PASSWORD" | secretsync encrypt --kms-key alias/secretsync -n payments --secret database --secret-key password`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return errors.New("the value is read from stdin, never from arguments")
			}
			return nil
		},
	}
	keyID := cmd.Flags().String("kms-key", env("SECRETSYNC_KMS_KEY", ""), "KMS key id, ARN or alias (alias/name) [SECRETSYNC_KMS_KEY]")
	ns := cmd.Flags().StringP("namespace", "n", "", "namespace of the target Secret")
	secret := cmd.Flags().String("secret", "", "name of the target Secret (the ExternalSecret's target.name, else its name)")
	key := cmd.Flags().String("secret-key", "", "the key in the target Secret (data[].secretKey)")
	region := cmd.Flags().String("aws-region", env("SECRETSYNC_AWS_REGION", env("AWS_REGION", "")), "KMS region [SECRETSYNC_AWS_REGION, else AWS_REGION]")
	endpoint := cmd.Flags().String("kms-endpoint", env("SECRETSYNC_KMS_ENDPOINT", ""), "KMS endpoint URL; empty uses AWS [SECRETSYNC_KMS_ENDPOINT]")
	keepNewline := cmd.Flags().Bool("keep-newline", false, "keep a trailing newline of the input")
	for _, f := range []string{"namespace", "secret", "secret-key"} {
		_ = cmd.MarkFlagRequired(f)
	}
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if *keyID == "" {
			return fail(exitUsage, "--kms-key (or SECRETSYNC_KMS_KEY) is required")
		}
		plain, err := io.ReadAll(io.LimitReader(s.in, 64<<10))
		if err != nil {
			return fail(exitUsage, "read stdin: %v", err)
		}
		if !*keepNewline {
			plain = bytes.TrimSuffix(bytes.TrimSuffix(plain, []byte("\n")), []byte("\r"))
		}
		ctx, cancel := context.WithTimeout(cmd.Context(), 30*time.Second)
		defer cancel()
		client, err := aws.NewFactory(aws.Options{KMSEndpoint: *endpoint, DefaultRegion: *region}).KMS(ctx, *region)
		if err != nil {
			return fail(exitFindings, "%v", err)
		}
		ct, err := aws.Encrypt(ctx, client, *keyID, providers.Target{Namespace: *ns, Secret: *secret, Key: *key}, providers.NewValue(plain))
		if err != nil {
			return fail(exitFindings, "%v", err)
		}
		fmt.Fprintln(s.out, ct)
		return nil
	}
	return cmd
}
