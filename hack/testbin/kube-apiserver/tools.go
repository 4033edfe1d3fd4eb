//go:build tools

// Package testbin pins kube-apiserver for the test control plane.
package testbin

import _ "k8s.io/kubernetes/cmd/kube-apiserver"
