#!/bin/bash
# Builds improbable-eng's grpcwebproxy (module github.com/improbable-eng/grpc-web, pinned below) from the Go module
# proxy, as the established gRPC-Web proxy that bench/proxy.mjs runs side by side with etcd-connect's.
# Output: $BENCH_WORK/bin/grpcwebproxy. Env: BENCH_WORK (default ./.bench-work), GO_BIN (default go).
set -euo pipefail
VERSION=v0.15.0
WORK=${BENCH_WORK:-.bench-work}
GO=${GO_BIN:-go}
mkdir -p "$WORK/bin"
OUT=$(cd "$WORK/bin" && pwd)
if [ -x "$OUT/grpcwebproxy" ] && [ "$(cat "$OUT/grpcwebproxy.version" 2>/dev/null)" = "$VERSION" ]; then
  echo "grpcwebproxy $VERSION already built"
  exit 0
fi
GOBIN="$OUT" GOFLAGS=-mod=mod "$GO" install "github.com/improbable-eng/grpc-web/go/grpcwebproxy@$VERSION"
echo "$VERSION" > "$OUT/grpcwebproxy.version"
echo "built $OUT/grpcwebproxy ($VERSION)"
