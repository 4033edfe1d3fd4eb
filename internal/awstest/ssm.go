package awstest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/sivchari/kumo"
)

// SSM is a Parameter Store server on 127.0.0.1: kumo's, behind a proxy that
// records each call's operation and body. kumo serves PutParameter,
// GetParameter(s), GetParametersByPath (path and recursion), DescribeParameters
// (Name filters only: it ignores tag and Path filters, so tests check the
// filters secretsync sends through Requests), ListTagsForResource and
// AddTagsToResource, RemoveTagsFromResource and DeleteParameter. kumo's
// PutParameter ignores Tags, KeyId and Policies, and its DeleteParameter
// keeps the tags: the proxy does what AWS does with tags (tags a created
// parameter, forgets a deleted one's), and tests check KeyId and Policies
// through Requests. It keeps no parameter history: name:version selectors
// are not found. SecureString values are masked unless WithDecryption is
// set; there is no KMS behind them. kumo keeps one Parameter Store per
// process (its service registers in init): every StartSSM in a test binary
// sees the parameters of every other, so each test uses names of its own.
type SSM struct {
	URL    string
	mu     *sync.Mutex
	log    *[]Request
	denied map[string]bool // under mu
}

// Request is one call the SSM server received.
type Request struct {
	Operation string // from X-Amz-Target, like "GetParameters"
	Body      string
}

// StartSSM serves a fresh Parameter Store on 127.0.0.1.
func StartSSM(t testing.TB) SSM {
	k := kumo.NewServer()
	t.Cleanup(k.Close)
	target, err := url.Parse(k.URL)
	if err != nil {
		t.Fatal(err)
	}
	s := SSM{mu: &sync.Mutex{}, log: &[]Request{}, denied: map[string]bool{}}
	proxy := httputil.NewSingleHostReverseProxy(target)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		op := r.Header.Get("X-Amz-Target")
		if i := bytes.LastIndexByte([]byte(op), '.'); i >= 0 {
			op = op[i+1:]
		}
		s.mu.Lock()
		*s.log = append(*s.log, Request{Operation: op, Body: string(body)})
		denied := s.denied[op]
		s.mu.Unlock()
		if denied {
			w.Header().Set("Content-Type", "application/x-amz-json-1.1")
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, `{"__type":"AccessDeniedException","message":"User is not authorized to perform this action"}`)
			return
		}
		rec := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		proxy.ServeHTTP(rec, r)
		if rec.status == http.StatusOK {
			awsTags(r.Context(), kumoClient(k.URL), op, body)
		}
	}))
	t.Cleanup(ts.Close)
	s.URL = ts.URL
	return s
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) { w.status = code; w.ResponseWriter.WriteHeader(code) }

// awsTags does to kumo's tags what AWS does after a successful call: a
// PutParameter with Tags (a create) tags the parameter; a DeleteParameter
// drops its tags.
func awsTags(ctx context.Context, c *ssm.Client, op string, body []byte) {
	var in struct {
		Name string
		Tags []ssmtypes.Tag
	}
	if json.Unmarshal(body, &in) != nil {
		return
	}
	switch {
	case op == "PutParameter" && len(in.Tags) > 0:
		_, _ = c.AddTagsToResource(ctx, &ssm.AddTagsToResourceInput{ResourceId: aws.String(in.Name), ResourceType: ssmtypes.ResourceTypeForTaggingParameter, Tags: in.Tags})
	case op == "DeleteParameter":
		tags, err := c.ListTagsForResource(ctx, &ssm.ListTagsForResourceInput{ResourceId: aws.String(in.Name), ResourceType: ssmtypes.ResourceTypeForTaggingParameter})
		if err != nil || len(tags.TagList) == 0 {
			return
		}
		var keys []string
		for _, t := range tags.TagList {
			keys = append(keys, aws.ToString(t.Key))
		}
		_, _ = c.RemoveTagsFromResource(ctx, &ssm.RemoveTagsFromResourceInput{ResourceId: aws.String(in.Name), ResourceType: ssmtypes.ResourceTypeForTaggingParameter, TagKeys: keys})
	}
}

func kumoClient(url string) *ssm.Client {
	return ssm.New(ssm.Options{Region: Region, BaseEndpoint: aws.String(url),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDSEED", "seed-secret", ""), RetryMaxAttempts: 1})
}

// Deny makes every later call of operation op fail with AccessDenied, as
// for a role without that permission.
func (s SSM) Deny(op string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.denied[op] = true
}

// Requests returns the calls received so far and forgets them.
func (s SSM) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := *s.log
	*s.log = nil
	return out
}

// Client is a Parameter Store client with static test keys.
func (s SSM) Client() *ssm.Client {
	return ssm.New(ssm.Options{Region: Region, BaseEndpoint: aws.String(s.URL),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDSEED", "seed-secret", ""), RetryMaxAttempts: 1})
}

// Put writes a parameter of type typ (String, StringList, SecureString),
// overwriting, with tags on its first version.
func (s SSM) Put(t testing.TB, name, typ, value string, tags map[string]string) {
	t.Helper()
	ctx := context.Background()
	_, err := s.Client().PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String(name), Type: ssmtypes.ParameterType(typ), Value: aws.String(value), Overwrite: aws.Bool(true)})
	if err != nil {
		t.Fatalf("put parameter %s: %v", name, err)
	}
	if len(tags) == 0 {
		return
	}
	var tl []ssmtypes.Tag
	for k, v := range tags {
		tl = append(tl, ssmtypes.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	if _, err := s.Client().AddTagsToResource(ctx, &ssm.AddTagsToResourceInput{ResourceId: aws.String(name), ResourceType: ssmtypes.ResourceTypeForTaggingParameter, Tags: tl}); err != nil {
		t.Fatalf("tag parameter %s: %v", name, err)
	}
}
