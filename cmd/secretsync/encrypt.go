package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/secretsync/secretsync/providers"
	"github.com/secretsync/secretsync/providers/aws"
)

// encryptCmd is `secretsync encrypt`: it reads a value from stdin, never
// from argv where it would reach shell history and ps, and prints KMS
// ciphertext bound to one Secret key by the encryption context.
func encryptCmd(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("encrypt", flag.ContinueOnError)
	fs.SetOutput(stderr)
	keyID := fs.String("kms-key", env("SECRETSYNC_KMS_KEY", ""), "KMS key id, ARN or alias (alias/name) [SECRETSYNC_KMS_KEY]")
	ns := fs.String("namespace", "", "namespace of the target Secret")
	secret := fs.String("secret", "", "name of the target Secret (the ExternalSecret's target.name, else its name)")
	key := fs.String("secret-key", "", "the key in the target Secret (data[].secretKey)")
	region := fs.String("aws-region", env("SECRETSYNC_AWS_REGION", env("AWS_REGION", "")), "KMS region [SECRETSYNC_AWS_REGION, else AWS_REGION]")
	endpoint := fs.String("kms-endpoint", env("SECRETSYNC_KMS_ENDPOINT", ""), "KMS endpoint URL; empty uses AWS [SECRETSYNC_KMS_ENDPOINT]")
	keepNewline := fs.Bool("keep-newline", false, "keep a trailing newline of the input")
	fs.Usage = func() {
		fmt.Fprint(stderr, "usage: secretsync encrypt --kms-key KEY --namespace NS --secret NAME --secret-key KEY < value\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintln(stderr, "secretsync encrypt: the value is read from stdin, never from arguments")
		return 2
	}
	if *keyID == "" || *ns == "" || *secret == "" || *key == "" {
		fmt.Fprintln(stderr, "secretsync encrypt: --kms-key, --namespace, --secret and --secret-key are required")
		return 2
	}
	plain, err := io.ReadAll(io.LimitReader(stdin, 64<<10))
	if err != nil {
		fmt.Fprintf(stderr, "secretsync encrypt: read stdin: %v\n", err)
		return 2
	}
	if !*keepNewline {
		plain = bytes.TrimSuffix(bytes.TrimSuffix(plain, []byte("\n")), []byte("\r"))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client, err := aws.NewFactory(aws.Options{KMSEndpoint: *endpoint, DefaultRegion: *region}).KMS(ctx, *region)
	if err != nil {
		fmt.Fprintf(stderr, "secretsync encrypt: %v\n", err)
		return 1
	}
	ct, err := aws.Encrypt(ctx, client, *keyID, providers.Target{Namespace: *ns, Secret: *secret, Key: *key}, providers.NewValue(plain))
	if err != nil {
		fmt.Fprintf(stderr, "secretsync encrypt: %v\n", err)
		return 1
	}
	fmt.Fprintln(stdout, ct)
	return 0
}
