package reconciler

import "k8s.io/client-go/rest"

// testConfig lets internal tests reach the control plane TestMain started.
var testConfig *rest.Config

// SetTestConfig is for TestMain only.
func SetTestConfig(c *rest.Config) { testConfig = c }

// SetPartSize makes parts of n ExternalSecrets until the test ends.
func SetPartSize(t interface{ Cleanup(func()) }, n int) {
	old := partSize
	partSize = n
	t.Cleanup(func() { partSize = old })
}
