package main

import (
	"context"
	"strings"

	"github.com/secretsync/secretsync/desired"
	"github.com/secretsync/secretsync/providers"
	"github.com/secretsync/secretsync/providers/aws"
	"github.com/secretsync/secretsync/providers/aws/awsservice"
	"github.com/secretsync/secretsync/render"
	"github.com/secretsync/secretsync/review"
)

// checkRemote confirms that every data[] reference of set exists in
// Secrets Manager: DescribeSecret for each distinct secret, and
// GetSecretValue only for those whose property must be checked. Values are
// never printed, and only a plain key path is checked (plainProperty). Stores are used with the AWS default credential chain,
// since plan runs without a cluster to read store credentials from.
func checkRemote(ctx context.Context, set *render.Set, f *aws.Factory) []review.Finding {
	stores := desired.IndexStores(set)
	described := map[string]error{}
	var out []review.Finding
	for _, es := range set.ExternalSecrets {
		for _, e := range desired.Entries(es, stores) {
			st := stores[e.Store]
			if e.SecretKey == "" || st == nil || desired.Service(st) != awsservice.SecretsManager || e.Ref.Metadata {
				continue // data[] of Secrets Manager (the one provider that describes) only; validate reports missing stores
			}
			a := st.Spec.Provider.AWS
			p, err := f.Provider(ctx, aws.Store{Region: a.Region, Prefix: a.Prefix})
			field := e.Field + ".remoteRef"
			if err == nil {
				ref := p.Canonical(providers.Ref{Key: e.Ref.Key, Version: e.Ref.Version})
				k := p.ID() + "|" + ref.String()
				derr, seen := described[k]
				if !seen {
					derr = p.(providers.Describer).Describe(ctx, ref)
					described[k] = derr
				}
				err = derr
				if err == nil && plainProperty(e.Remote.Property) {
					got := p.Resolve(ctx, []providers.Ref{ref})[ref]
					if err = got.Err; err == nil {
						_, err = providers.Property(got.Value, e.Remote.Property)
					}
				}
			}
			if err != nil {
				out = append(out, review.Finding{File: es.Source, Kind: render.KindExternalSecret, Namespace: es.Namespace, Name: es.Name,
					Field: field, Message: "remote: " + err.Error()})
			}
		}
	}
	return out
}

// plainProperty reports a property that names keys only. A gjson query,
// wildcard, modifier or multipath (`[@this]|#(password%"c*")`) tests the
// value itself, so its found or not found would let a pull request ask
// about a value that CI's credentials read, a character at a time: such a
// property is not checked.
func plainProperty(p string) bool {
	return p != "" && !strings.ContainsAny(p, `*?#@|\[]{}!%=<>()"'~`)
}
