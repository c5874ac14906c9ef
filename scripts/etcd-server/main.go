// The etcd server, built from Go modules at the version pinned by the go.mod
// this is built with (go.mod is 3.6; go.3.5.mod, go.3.7.mod the others; pick
// one with -modfile). This is all etcd's own main package does.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
