package testenv

import (
	"net/http/httptest"
	"testing"
)

func TestDescribeNamesRequestsAsTheAuditLogDoes(t *testing.T) {
	for _, c := range []struct{ method, url, contentType, want string }{
		{"GET", "/api/v1/namespaces/a/secrets", "", "list secrets"},
		{"GET", "/api/v1/namespaces/a/secrets/x", "", "get secrets"},
		{"GET", "/api/v1/namespaces/a/secrets?watch=true&labelSelector=x", "", "watch secrets"},
		{"GET", "/api/v1/namespaces/a", "", "get namespaces"},
		{"PATCH", "/api/v1/namespaces/a/secrets/x", "application/apply-patch+yaml", "apply secrets"},
		{"PATCH", "/apis/apps/v1/namespaces/a/deployments/d", "application/strategic-merge-patch+json", "patch deployments"},
		{"POST", "/api/v1/namespaces/a/events", "", "create events"},
		{"PUT", "/apis/coordination.k8s.io/v1/namespaces/a/leases/l", "", "update leases"},
		{"GET", "/apis/coordination.k8s.io/v1/namespaces/a/leases", "", "list leases"},
		{"DELETE", "/api/v1/namespaces/a/secrets/x", "", "delete secrets"},
	} {
		r := httptest.NewRequest(c.method, c.url, nil)
		if c.contentType != "" {
			r.Header.Set("Content-Type", c.contentType)
		}
		if got := describe(r); got != c.want {
			t.Errorf("%s %s = %q, want %q", c.method, c.url, got, c.want)
		}
	}
}
