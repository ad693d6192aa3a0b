#!/usr/bin/env bash
# Regenerate the Swift protobuf code for Viam's public API: Host/Generated/ViamProtos/*.pb.swift.
#
# Usage (from anywhere; paths are resolved against the repository root):
#   scripts/generate-protos.sh
#
# Needs:  swift (6.1+), protoc (Debian: apt-get install protobuf-compiler),
#         python3 with viam-sdk 0.85.1 (pip install viam-sdk==0.85.1). Set PYTHON to pick another
#         interpreter, PROTOC to pick another protoc.
#
# How it works — no .proto sources are needed:
#   1. builds protoc-gen-swift from this package's own swift-protobuf dependency (the exact version
#      Package.swift pins, so generated code and runtime always match) into .build-protogen/
#      (git-ignored; the main .build/ is never touched);
#   2. scripts/viam_descriptors.py reads the FileDescriptorProtos embedded in the viam-sdk wheel's
#      *_pb2 modules and writes them, with every file they import (Google's included), as one
#      FileDescriptorSet;
#   3. protoc generates Swift from that set for the root files below and every non-Google-WKT file
#      they import (google/api/*.proto included). google/protobuf/*.proto is never generated:
#      SwiftProtobuf ships those types.
# The output directory is emptied of *.swift first, so the result is exactly what this run produced;
# running the script twice gives byte-identical files.
#
# The wheel carries no source_code_info, so the generated code has no doc comments from the .proto
# files. Field names, numbers and types are exact.
#
# gRPC stubs (not generated yet): when the package depends on grpc-swift-protobuf 2.4.1, add to this
# script
#     swift build --product protoc-gen-grpc-swift-2 --scratch-path .build-protogen
#     GRPC_PLUGIN="$BIN/protoc-gen-grpc-swift-2"
# and a second protoc run over the service files only (the four roots), with
#     --plugin=protoc-gen-grpc-swift-2="$GRPC_PLUGIN"
#     --grpc-swift-2_out=Host/Generated/ViamGRPC
#     --grpc-swift-2_opt=Visibility=Public,FileNaming=PathToUnderscores,Server=true,Client=true
# into a ViamGRPC target that depends on ViamProtos (its generated code then needs
# `import ViamProtos`: pass ProtoPathModuleMappings=<file> with a mapping of every root and import
# to module "ViamProtos"). Keep it behind a --grpc flag until then so the default run needs no grpc
# packages.

set -euo pipefail

# The root files: Ferry serves these services. Their imports are found and generated automatically.
ROOTS=(
    app/datasync/v1/data_sync.proto
    app/data/v1/data.proto
    app/datapipelines/v1/data_pipelines.proto
    proto/rpc/v1/auth.proto
)
SWIFT_OPTS="Visibility=Public,FileNaming=PathToUnderscores"
OUT_REL=Host/Generated/ViamProtos

die() { echo "generate-protos.sh: error: $*" >&2; exit 1; }
note() { echo "generate-protos.sh: $*" >&2; }

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
[[ -f Package.swift && -f scripts/viam_descriptors.py ]] || die "run from the Ferry repository ($REPO has no Package.swift or scripts/viam_descriptors.py)"

PYTHON="${PYTHON:-python3}"
PROTOC="${PROTOC:-protoc}"

# --- Check the tools before doing any work --------------------------------------------------------
missing=()
command -v swift >/dev/null 2>&1 || missing+=("swift: install a Swift 6.1+ toolchain (https://swift.org/install)")
command -v "$PROTOC" >/dev/null 2>&1 || missing+=("protoc ($PROTOC): apt-get install protobuf-compiler")
if ! command -v "$PYTHON" >/dev/null 2>&1; then
    missing+=("python3 ($PYTHON): apt-get install python3, then pip install viam-sdk==0.85.1")
elif ! "$PYTHON" -c 'import viam.gen.app.datasync.v1.data_sync_pb2' >/dev/null 2>&1; then
    missing+=("the viam-sdk Python package for $PYTHON: $PYTHON -m pip install viam-sdk==0.85.1")
fi
if ((${#missing[@]})); then
    echo "generate-protos.sh: missing tools:" >&2
    printf '  - %s\n' "${missing[@]}" >&2
    exit 1
fi
note "$("$PROTOC" --version), $("$PYTHON" -c 'import viam; print("viam-sdk", viam.__version__)')"

# --- 1. protoc-gen-swift from the package's own swift-protobuf ------------------------------------
SCRATCH="$REPO/.build-protogen"
note "building protoc-gen-swift into ${SCRATCH#"$REPO"/}/ (first run ~1 min)"
swift build --quiet --product protoc-gen-swift --scratch-path "$SCRATCH" >&2 \
    || die "could not build protoc-gen-swift (does Package.swift still depend on swift-protobuf?)"
BIN="$(swift build --product protoc-gen-swift --scratch-path "$SCRATCH" --show-bin-path)"
SWIFT_PLUGIN="$BIN/protoc-gen-swift"
[[ -x "$SWIFT_PLUGIN" ]] || die "protoc-gen-swift was built but is not at $SWIFT_PLUGIN"
note "$("$SWIFT_PLUGIN" --version)"

# --- 2. the descriptor set from the viam-sdk wheel --------------------------------------------------
WORK="$(mktemp -d "${TMPDIR:-/tmp}/ferry-protogen.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
SET="$WORK/viam.protoset"
"$PYTHON" scripts/viam_descriptors.py "$SET" "${ROOTS[@]}"
mapfile -t FILES < <("$PYTHON" scripts/viam_descriptors.py --list-generate "${ROOTS[@]}")
((${#FILES[@]})) || die "viam_descriptors.py listed no files to generate"
note "generating ${#FILES[@]} files: ${FILES[*]}"

# --- 3. protoc into a fresh directory, then replace the committed output ----------------------------
GEN="$WORK/out"
mkdir -p "$GEN"
"$PROTOC" \
    --descriptor_set_in="$SET" \
    --plugin=protoc-gen-swift="$SWIFT_PLUGIN" \
    --swift_out="$GEN" \
    --swift_opt="$SWIFT_OPTS" \
    "${FILES[@]}"

shopt -s nullglob
generated=("$GEN"/*.swift)
((${#generated[@]} == ${#FILES[@]})) \
    || die "expected ${#FILES[@]} Swift files from protoc, got ${#generated[@]}: ${generated[*]##*/}"

mkdir -p "$OUT_REL"
rm -f "$OUT_REL"/*.swift
cp "${generated[@]}" "$OUT_REL"/
note "wrote ${#generated[@]} files ($(cat "${generated[@]}" | wc -l) lines) to $OUT_REL/:"
for f in "${generated[@]}"; do echo "  $OUT_REL/${f##*/}" >&2; done
