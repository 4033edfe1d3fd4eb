package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/secretsync/secretsync/internal/awstest"
	"github.com/secretsync/secretsync/providers"
	"github.com/secretsync/secretsync/providers/aws"
)

func TestEncryptReadsStdinAndBindsTheTarget(t *testing.T) {
	awstest.Isolate(t)
	url := awstest.StartKMS(t)
	key := awstest.CreateKey(t, url)
	const value = "encrypt-cmd-seeded"
	var out, errOut bytes.Buffer
	args := []string{"--kms-key", key, "--namespace", "ns", "--secret", "db", "--secret-key", "pw", "--kms-endpoint", url, "--aws-region", awstest.Region}
	if code := cliIn("encrypt", args, strings.NewReader(value+"\n"), &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	if strings.Contains(out.String()+errOut.String(), value) {
		t.Fatal("the value is echoed")
	}
	p, err := aws.NewFactory(aws.Options{KMSEndpoint: url, DefaultRegion: awstest.Region}).Provider(context.Background(), aws.Store{Service: "KMS"})
	if err != nil {
		t.Fatal(err)
	}
	ref := providers.Ref{Key: strings.TrimSpace(out.String()), Target: providers.Target{Namespace: "ns", Secret: "db", Key: "pw"}}
	got := p.Resolve(context.Background(), []providers.Ref{ref})[ref]
	if got.Err != nil || string(got.Value.Bytes()) != value {
		t.Fatalf("decrypt: %v (value matches without the newline: %v)", got.Err, string(got.Value.Bytes()) == value)
	}

	t.Run("a value given as an argument is refused", func(t *testing.T) {
		if code := cliIn("encrypt", append(args, value), strings.NewReader(""), &out, &errOut); code != 2 {
			t.Fatalf("exit %d", code)
		}
	})
}
