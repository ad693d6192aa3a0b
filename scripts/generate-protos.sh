#!/usr/bin/env bash
# Regenerate the Swift code for Viam's public API:
#   Host/Generated/ViamProtos/*.pb.swift    protobuf messages        (target ViamProtos)
#   Host/Generated/ViamGRPC/*.grpc.swift    grpc-swift-2 stubs        (target ViamGRPC, imports ViamProtos)
#
# Usage (from anywhere; paths are resolved against the repository root):
#   scripts/generate-protos.sh            regenerate both directories
#   scripts/generate-protos.sh --check    regenerate into a temporary directory and compare with the
#                                         committed files; exit 1 (listing the differences) if they differ
#
# Needs:  swift (6.1+), protoc (Debian: apt-get install protobuf-compiler),
#         python3 with viam-sdk 0.85.1 (pip install viam-sdk==0.85.1). Set PYTHON to pick another
#         interpreter, PROTOC to pick another protoc. The Swift packages come from the usual package
#         sources (on the project's machines: the local copies under /opt/swift-packages).
#
# How it works — no .proto sources are needed:
#   1. builds the two protoc plugins, protoc-gen-swift (swift-protobuf 1.39.0) and
#      protoc-gen-grpc-swift-2 (grpc-swift-protobuf 2.4.1), from the small dedicated package
#      scripts/protogen/ into .build-protogen/ (git-ignored; the main .build/ is never touched, and
#      the main Package.swift needs no code-generator dependencies). Its swift-protobuf pin must equal
#      the root Package.swift's, so generated code and runtime always match: checked below;
#   2. scripts/viam_descriptors.py reads the FileDescriptorProtos embedded in the viam-sdk wheel's
#      *_pb2 modules and writes them, with every file they import (Google's included), as one
#      FileDescriptorSet;
#   3. protoc generates the messages from that set for the root files below and every non-Google-WKT
#      file they import (google/api/*.proto included). google/protobuf/*.proto is never generated:
#      SwiftProtobuf ships those types;
#   4. protoc generates gRPC client and server stubs for the services of the root files only (the
#      imports have no services). The stubs live in their own module, so they are told where the
#      messages are: ExtraModuleImports=ViamProtos gives every stub file `import ViamProtos` (a
#      ProtoPathModuleMappings file alone cannot: swift-protobuf's plugin library never imports a
#      file's own module), and the mappings file maps every generated .proto to ViamProtos so that no
#      type name is ever module-qualified differently.
# Each output directory is emptied of *.swift first, so the result is exactly what this run produced;
# running the script twice gives byte-identical files.
#
# The wheel carries no source_code_info, so the generated code has no doc comments from the .proto
# files. Field, method and service names, numbers and types are exact.

set -euo pipefail

# The root files: Ferry serves these services. Their imports are found and generated automatically.
# proto/rpc/v1/auth.proto also declares ExternalAuthService; its stubs come along and are unused.
ROOTS=(
    app/datasync/v1/data_sync.proto
    app/data/v1/data.proto
    app/datapipelines/v1/data_pipelines.proto
    proto/rpc/v1/auth.proto
)
MESSAGES_MODULE=ViamProtos
MESSAGES_REL=Host/Generated/ViamProtos
GRPC_REL=Host/Generated/ViamGRPC
SWIFT_OPTS="Visibility=Public,FileNaming=PathToUnderscores"
# ProtoPathModuleMappings=<file> is appended below.
GRPC_OPTS="Visibility=Public,Server=true,Client=true,FileNaming=PathToUnderscores,ExtraModuleImports=$MESSAGES_MODULE"

die() { echo "generate-protos.sh: error: $*" >&2; exit 1; }
note() { echo "generate-protos.sh: $*" >&2; }

CHECK=false
for arg in "$@"; do
    case "$arg" in
        --check) CHECK=true ;;
        -h|--help) sed -n '2,/^$/{s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; exit 0 ;;
        *) die "unknown argument '$arg' (expected nothing, --check or --help)" ;;
    esac
done

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
PROTOGEN="$REPO/scripts/protogen"
[[ -f Package.swift && -f scripts/viam_descriptors.py && -f "$PROTOGEN/Package.swift" ]] \
    || die "run from the Ferry repository ($REPO has no Package.swift, scripts/viam_descriptors.py or scripts/protogen/Package.swift)"

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

# --- The generators' versions must be the runtime's -------------------------------------------------
# Prints the version a manifest pins a package to with `exact:` (empty if it does not pin it so).
pinned() { # pinned OWNER/NAME MANIFEST
    sed -n "s|.*github\.com/$1\(\.git\)\{0,1\}\", *exact: *\"\([^\"]*\)\".*|\2|p" "$2" | head -n 1
}
for dep in apple/swift-protobuf grpc/grpc-swift-protobuf grpc/grpc-swift-2; do
    generator="$(pinned "$dep" "$PROTOGEN/Package.swift")"
    [[ -n "$generator" ]] || die "scripts/protogen/Package.swift must pin $dep with exact:"
    if grep -q "github\.com/$dep[.\"]" Package.swift; then
        runtime="$(pinned "$dep" Package.swift)"
        [[ "$runtime" == "$generator" ]] || die "Package.swift uses $dep ${runtime:-(not pinned with exact:)} but the generator is built from $generator (scripts/protogen/Package.swift): pin both to the same version with exact:"
    fi
done

# --- 1. both protoc plugins from scripts/protogen ---------------------------------------------------
SCRATCH="$REPO/.build-protogen"
SWIFT_BUILD=(swift build --package-path "$PROTOGEN" --scratch-path "$SCRATCH")
for product in protoc-gen-swift protoc-gen-grpc-swift-2; do
    note "building $product into ${SCRATCH#"$REPO"/}/ (first run: ~2 min for both)"
    "${SWIFT_BUILD[@]}" --quiet --product "$product" >&2 \
        || die "could not build $product from scripts/protogen/Package.swift"
done
BIN="$("${SWIFT_BUILD[@]}" --show-bin-path)"
SWIFT_PLUGIN="$BIN/protoc-gen-swift"
GRPC_PLUGIN="$BIN/protoc-gen-grpc-swift-2"
[[ -x "$SWIFT_PLUGIN" ]] || die "protoc-gen-swift was built but is not at $SWIFT_PLUGIN"
[[ -x "$GRPC_PLUGIN" ]] || die "protoc-gen-grpc-swift-2 was built but is not at $GRPC_PLUGIN"
note "$("$SWIFT_PLUGIN" --version), $("$GRPC_PLUGIN" --version 2>&1 | head -n 1)"

# --- 2. the descriptor set from the viam-sdk wheel --------------------------------------------------
WORK="$(mktemp -d "${TMPDIR:-/tmp}/ferry-protogen.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
SET="$WORK/viam.protoset"
"$PYTHON" scripts/viam_descriptors.py "$SET" "${ROOTS[@]}"
mapfile -t FILES < <("$PYTHON" scripts/viam_descriptors.py --list-generate "${ROOTS[@]}")
((${#FILES[@]})) || die "viam_descriptors.py listed no files to generate"
note "generating messages for ${#FILES[@]} files: ${FILES[*]}"

# --- 3. messages ------------------------------------------------------------------------------------
GEN_MESSAGES="$WORK/$MESSAGES_MODULE"
mkdir -p "$GEN_MESSAGES"
"$PROTOC" \
    --descriptor_set_in="$SET" \
    --plugin=protoc-gen-swift="$SWIFT_PLUGIN" \
    --swift_out="$GEN_MESSAGES" \
    --swift_opt="$SWIFT_OPTS" \
    "${FILES[@]}"

# --- 4. gRPC stubs for the roots' services ----------------------------------------------------------
MAPPINGS="$WORK/module-mappings.asciipb"
{
    echo "mapping {"
    echo "  module_name: \"$MESSAGES_MODULE\""
    for f in "${FILES[@]}"; do echo "  proto_file_path: \"$f\""; done
    echo "}"
} >"$MAPPINGS"
GEN_GRPC="$WORK/grpc"
mkdir -p "$GEN_GRPC"
note "generating gRPC stubs for ${ROOTS[*]}"
"$PROTOC" \
    --descriptor_set_in="$SET" \
    --plugin=protoc-gen-grpc-swift-2="$GRPC_PLUGIN" \
    --grpc-swift-2_out="$GEN_GRPC" \
    --grpc-swift-2_opt="$GRPC_OPTS,ProtoPathModuleMappings=$MAPPINGS" \
    "${ROOTS[@]}"

shopt -s nullglob
messages=("$GEN_MESSAGES"/*.swift)
stubs=("$GEN_GRPC"/*.swift)
((${#messages[@]} == ${#FILES[@]})) \
    || die "expected ${#FILES[@]} Swift files from protoc-gen-swift, got ${#messages[@]}: ${messages[*]##*/}"
((${#stubs[@]} == ${#ROOTS[@]})) \
    || die "expected ${#ROOTS[@]} Swift files from protoc-gen-grpc-swift-2, got ${#stubs[@]}: ${stubs[*]##*/}"
for f in "${stubs[@]}"; do
    grep -qx "import $MESSAGES_MODULE" "$f" || die "${f##*/} does not import $MESSAGES_MODULE"
done

# --- 5. compare with, or replace, the committed output ----------------------------------------------
if $CHECK; then
    stale=0
    for pair in "$GEN_MESSAGES:$MESSAGES_REL" "$GEN_GRPC:$GRPC_REL"; do
        gen="${pair%%:*}" rel="${pair#*:}"
        # Compare *.swift only, in both directions (a missing or an extra file is a difference).
        mkdir -p "$WORK/committed/$rel"
        [[ -d "$rel" ]] && for f in "$rel"/*.swift; do cp "$f" "$WORK/committed/$rel/"; done
        if ! diff -r -q "$WORK/committed/$rel" "$gen" >"$WORK/diff.txt"; then
            stale=1
            note "$rel/ is out of date:"
            sed "s|$WORK/committed/||; s|$gen|(generated)|" "$WORK/diff.txt" >&2
        fi
    done
    ((stale == 0)) || die "the committed generated code differs from what the generators produce: run scripts/generate-protos.sh"
    note "up to date: $MESSAGES_REL/ (${#messages[@]} files), $GRPC_REL/ (${#stubs[@]} files)"
    exit 0
fi

install_into() { # install_into REL FILE...
    local rel="$1"; shift
    mkdir -p "$rel"
    rm -f "$rel"/*.swift
    cp "$@" "$rel"/
    note "wrote $# files ($(cat "$@" | wc -l) lines) to $rel/:"
    for f in "$@"; do echo "  $rel/${f##*/}" >&2; done
}
install_into "$MESSAGES_REL" "${messages[@]}"
install_into "$GRPC_REL" "${stubs[@]}"
