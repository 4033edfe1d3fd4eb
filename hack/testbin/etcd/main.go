// Command etcd is the etcd server for the test control plane, built from the
// module proxy because no release binary can be downloaded here.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
