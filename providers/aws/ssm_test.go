package aws_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/secretsync/secretsync/internal/awstest"
	"github.com/secretsync/secretsync/providers"
	"github.com/secretsync/secretsync/providers/aws"
)

func ssmProvider(t *testing.T, s awstest.SSM, prefix string) (providers.Provider, *aws.Factory) {
	t.Helper()
	f := aws.NewFactory(aws.Options{SSMEndpoint: s.URL, DefaultRegion: awstest.Region})
	p, err := f.Provider(context.Background(), aws.Store{Service: "ParameterStore", Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	return p, f
}

// TestParameterStoreValues runs the provider against kumo's Parameter
// Store (through awstest.SSM, which records the calls).
func TestParameterStoreValues(t *testing.T) {
	awstest.Isolate(t)
	s := awstest.StartSSM(t)
	s.Put(t, "/app/db", "SecureString", `{"user":"app","password":"ssm-seeded-pw","port":5432}`, map[string]string{"team": "payments"})
	s.Put(t, "/app/hosts", "StringList", "a.example,b.example", nil)
	s.Put(t, "/app/plain", "String", "ssm-seeded-plain", nil)
	p, f := ssmProvider(t, s, "/app/")
	s.Requests()

	refs := []providers.Ref{{Key: "db"}, {Key: "hosts"}, {Key: "plain"}, {Key: "missing"}, {Key: "db", Metadata: true}}
	for i := range refs {
		refs[i] = p.Canonical(refs[i])
	}
	got := p.Resolve(context.Background(), refs)
	for _, c := range []struct {
		ref  providers.Ref
		want string
	}{
		// SecureString: decrypted (kumo masks it unless WithDecryption).
		{refs[0], `{"user":"app","password":"ssm-seeded-pw","port":5432}`},
		{refs[1], "a.example,b.example"}, // StringList: as stored, as ESO returns it
		{refs[2], "ssm-seeded-plain"},
		{refs[4], `{"team":"payments"}`}, // metadataPolicy: Fetch
	} {
		f := got[c.ref]
		if f.Err != nil || string(f.Value.Bytes()) != c.want {
			t.Errorf("%s: %v, value matches: %v", c.ref, f.Err, f.Err == nil && string(f.Value.Bytes()) == c.want)
		}
	}
	if got[refs[0]].VersionID != "1" {
		t.Errorf("version id %q, want the parameter version 1", got[refs[0]].VersionID)
	}
	if err := got[refs[3]].Err; providers.ClassOf(err) != providers.NotFound || !strings.Contains(err.Error(), "parameterstore:/app/missing") {
		t.Errorf("a missing parameter: %v", err)
	}
	if strings.Contains(fmt.Sprint(got[refs[3]].Err), "ssm-seeded") {
		t.Fatal("an error carries a value")
	}
	var ops []string
	for _, r := range s.Requests() {
		ops = append(ops, r.Operation)
	}
	slices.Sort(ops)
	if !slices.Equal(ops, []string{"GetParameters", "ListTagsForResource"}) {
		t.Fatalf("calls %v: want one GetParameters for the four names and one ListTagsForResource", ops)
	}
	if n := f.Calls().Snapshot()["GetParameters ok"]; n != 1 {
		t.Fatalf("GetParameters counted %d times", n)
	}

	t.Run("ten names a call", func(t *testing.T) {
		var many []providers.Ref
		for i := range 25 {
			name := fmt.Sprintf("/bulk/p%02d", i)
			s.Put(t, name, "String", "v", nil)
			many = append(many, providers.Ref{Key: name})
		}
		p, _ := ssmProvider(t, s, "")
		s.Requests()
		got := p.Resolve(context.Background(), many)
		for _, ref := range many {
			if got[ref].Err != nil {
				t.Fatalf("%s: %v", ref, got[ref].Err)
			}
		}
		reqs := s.Requests()
		if len(reqs) != 3 {
			t.Fatalf("%d calls for 25 names, want 3", len(reqs))
		}
	})

	t.Run("a version is asked for as name:version", func(t *testing.T) {
		ref := p.Canonical(providers.Ref{Key: "plain", Version: "1"})
		s.Requests()
		f := p.Resolve(context.Background(), []providers.Ref{ref})[ref]
		reqs := s.Requests()
		if len(reqs) != 1 || !strings.Contains(reqs[0].Body, `"/app/plain:1"`) {
			t.Fatalf("requests %v", reqs)
		}
		// kumo keeps no history, so it answers "not found"; AWS answers
		// with the version (a selector the provider maps back).
		if providers.ClassOf(f.Err) != providers.NotFound {
			t.Fatalf("kumo's answer: %v", f.Err)
		}
	})
}

func TestParameterStoreFind(t *testing.T) {
	awstest.Isolate(t)
	s := awstest.StartSSM(t)
	s.Put(t, "/team/a/db-user", "String", "u", map[string]string{"env": "prod"})
	s.Put(t, "/team/a/db-pass", "SecureString", "ssm-find-seeded", map[string]string{"env": "prod"})
	s.Put(t, "/team/a/api", "String", "x", nil)
	s.Put(t, "/team/b/db-user", "String", "other", nil)
	p, _ := ssmProvider(t, s, "/ignored-by-find/")
	finder := p.(providers.Finder)

	found, err := finder.Find(context.Background(), providers.Query{Path: "/team/a", NameRegexp: "db-"})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range found {
		names = append(names, f.Name)
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"/team/a/db-pass", "/team/a/db-user"}) {
		t.Fatalf("found %v", names)
	}

	s.Requests()
	if _, err := finder.Find(context.Background(), providers.Query{Path: "/team/a", Tags: map[string]string{"env": "prod"}}); err != nil {
		t.Fatal(err)
	}
	// kumo ignores the filters and pages through the process's every
	// parameter (other tests' too): each page's request must carry them.
	reqs := s.Requests()
	if len(reqs) == 0 {
		t.Fatal("find by tags sent nothing")
	}
	for _, r := range reqs {
		if r.Operation != "DescribeParameters" ||
			!strings.Contains(r.Body, `"Key":"tag:env"`) || !strings.Contains(r.Body, `"Values":["prod"]`) ||
			!strings.Contains(r.Body, `"Key":"Path"`) || !strings.Contains(r.Body, `"Option":"Recursive"`) {
			t.Fatalf("find by tags sent %v", reqs)
		}
	}
	if _, err := finder.Find(context.Background(), providers.Query{Path: "/team/a"}); providers.ClassOf(err) != providers.Invalid {
		t.Fatalf("a find with neither name nor tags: %v", err)
	}
}

// TestParameterStoreFindByNameWithoutGetParametersByPath: a role denied
// GetParametersByPath finds by name as ESO 2.9.0 does, through
// DescribeParameters filtered by the path (recursive), keeping the names
// the regexp matches; their values are then read as every parameter's.
func TestParameterStoreFindByNameWithoutGetParametersByPath(t *testing.T) {
	awstest.Isolate(t)
	s := awstest.StartSSM(t)
	s.Put(t, "/team/a/db-user", "String", "u", nil)
	s.Put(t, "/team/a/db-pass", "SecureString", "ssm-fallback-seeded", nil)
	s.Put(t, "/team/a/api", "String", "x", nil)
	s.Deny("GetParametersByPath")
	p, _ := ssmProvider(t, s, "")
	s.Requests()
	found, err := p.(providers.Finder).Find(context.Background(), providers.Query{Path: "/team/a", NameRegexp: "^/team/a/db-"})
	if err != nil {
		t.Fatalf("find with GetParametersByPath denied: %v", err)
	}
	var names []string
	var refs []providers.Ref
	for _, f := range found {
		names = append(names, f.Name)
		refs = append(refs, f.Ref)
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"/team/a/db-pass", "/team/a/db-user"}) {
		t.Fatalf("found %v", names)
	}
	var described bool
	for _, r := range s.Requests() {
		if r.Operation == "DescribeParameters" {
			described = strings.Contains(r.Body, `"Key":"Path"`) && strings.Contains(r.Body, `"Option":"Recursive"`) && strings.Contains(r.Body, `"Values":["/team/a"]`)
		}
	}
	if !described {
		t.Fatal("no DescribeParameters filtered by the path (recursive)")
	}
	got := p.Resolve(context.Background(), refs)
	for _, ref := range refs {
		if got[ref].Err != nil {
			t.Fatalf("%s: %v", ref.Key, got[ref].Err)
		}
	}
}
