#!/bin/bash
# Builds the kit's Go anchor (benchgo/main.go) against Go's current clientv3: go.etcd.io/etcd/client/v3 at the
# version pinned in go.mod here (the 3.6 line, with the grpc-go it requires), from the Go module proxy. The kit's
# source is copied into $BENCH_WORK/go-clientv3/ with its 3.4 import paths moved to the module ones; nothing of it
# is kept in this repository. Output: $BENCH_WORK/bin/bench-go-current.
# Env: BENCH_KIT (the kit), BENCH_WORK (default ./.bench-work), GO_BIN (default go).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
KIT=${BENCH_KIT:?set BENCH_KIT}
WORK=${BENCH_WORK:-.bench-work}
GO=${GO_BIN:-go}
SRC=$WORK/go-clientv3
mkdir -p "$SRC" "$WORK/bin"
cp "$HERE/go.mod" "$HERE/go.sum" "$SRC/"
sed -e 's#"go.etcd.io/etcd/clientv3"#"go.etcd.io/etcd/client/v3"#' \
    -e 's#"go.etcd.io/etcd/version"#"go.etcd.io/etcd/api/v3/version"#' \
    "$KIT/benchgo/main.go" > "$SRC/main.go"
cd "$SRC"
CLIENT=$(grep -oE 'go.etcd.io/etcd/client/v3 v[^ ]+' go.mod | cut -d' ' -f2)
GRPC=$(grep -oE 'google.golang.org/grpc v[^ ]+' go.mod | cut -d' ' -f2)
"$GO" version
GOFLAGS=-mod=readonly "$GO" build -trimpath -ldflags "-X 'main.buildInfo=go.etcd.io/etcd/client/v3 $CLIENT, google.golang.org/grpc $GRPC'" -o "$WORK/bin/bench-go-current" .
echo "built $WORK/bin/bench-go-current"
