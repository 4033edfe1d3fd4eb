package main

import (
	"context"
	"fmt"

	"github.com/secretsync/secretsync/providers"
	"github.com/secretsync/secretsync/providers/aws"
	"github.com/secretsync/secretsync/render"
	"github.com/secretsync/secretsync/review"
)

// checkRemote confirms that every data[] reference of set exists in
// Secrets Manager: DescribeSecret for each distinct secret, and
// GetSecretValue only for those whose property must be checked. Values are
// never printed. Stores are used with the AWS default credential chain,
// since plan runs without a cluster to read store credentials from.
func checkRemote(ctx context.Context, set *render.Set, f *aws.Factory) []review.Finding {
	stores := map[string]*render.SecretStore{}
	for _, st := range set.Stores {
		stores[st.Kind+"/"+st.Namespace+"/"+st.Name] = st
	}
	described := map[string]error{}
	var out []review.Finding
	for _, es := range set.ExternalSecrets {
		for i, d := range es.Spec.Data {
			kind, ns, name := es.StoreRef(d.SourceRef)
			st := stores[kind+"/"+ns+"/"+name]
			if st == nil || st.Spec.Provider.AWS.Service != "SecretsManager" || d.RemoteRef.MetadataPolicy == "Fetch" {
				continue // validate reports missing stores; KMS values are in Git
			}
			a := st.Spec.Provider.AWS
			p, err := f.Provider(ctx, aws.Store{Region: a.Region, Prefix: a.Prefix})
			field := fmt.Sprintf("spec.data[%d].remoteRef", i)
			if err == nil {
				ref := p.Canonical(providers.Ref{Key: d.RemoteRef.Key, Version: d.RemoteRef.Version})
				k := p.ID() + "|" + ref.String()
				e, seen := described[k]
				if !seen {
					e = p.(providers.Describer).Describe(ctx, ref)
					described[k] = e
				}
				err = e
				if err == nil && d.RemoteRef.Property != "" {
					got := p.Resolve(ctx, []providers.Ref{ref})[ref]
					if err = got.Err; err == nil {
						_, err = providers.Property(got.Value, d.RemoteRef.Property)
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
