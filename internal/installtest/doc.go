// Package installtest checks manifests/ against the real API server; it
// holds tests only.
package installtest
