#!/usr/bin/env bash
# Regenerate the Swift code for Viam's public API, in two groups:
#   the data server's (app.datasync, app.data, app.datapipelines, app.dataset, proto.rpc auth):
#     Host/Generated/ViamProtos/*.pb.swift          protobuf messages   (target ViamProtos)
#     Host/Generated/ViamGRPC/*.grpc.swift          grpc-swift-2 stubs  (target ViamGRPC, imports ViamProtos)
#   the machine API's (robot, common, nine components, data manager and vision services):
#     Host/Generated/ViamMachineProtos/*.pb.swift   messages not already in ViamProtos (imports it)
#     Host/Generated/ViamMachineGRPC/*.grpc.swift   stubs (target ViamMachineGRPC, imports ViamMachineProtos)
#   Two groups, so the data server never compiles the machine API's code.
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
#   3. for each group, protoc generates the messages from that set for its root files and every
#      non-Google-WKT file they import (google/api/*.proto included) that the data server's group does
#      not already have (robot.proto imports app/data and app/datasync: those stay in ViamProtos, and
#      the machine group's files `import ViamProtos`). google/protobuf/*.proto is never generated:
#      SwiftProtobuf ships those types;
#   4. protoc generates gRPC client and server stubs for the services of each group's root files only.
#      The stubs live in their own module, so they are told where the messages are:
#      ExtraModuleImports=<messages module> gives every stub file that import (a
#      ProtoPathModuleMappings file alone cannot: swift-protobuf's plugin library never imports a
#      file's own module), and one mappings file maps every generated .proto to its module, so that no
#      type name is ever module-qualified differently.
# Each output directory is emptied of *.swift first, so the result is exactly what this run produced;
# running the script twice gives byte-identical files.
#
# The wheel carries no source_code_info, so the generated code has no doc comments from the .proto
# files. Field, method and service names, numbers and types are exact.

set -euo pipefail

# The root files of each group: Ferry serves (or calls) these services. Their imports are found and
# generated automatically. proto/rpc/v1/auth.proto also declares ExternalAuthService; its stubs come
# along and are unused.
DATA_ROOTS=(
    app/datasync/v1/data_sync.proto
    app/data/v1/data.proto
    app/datapipelines/v1/data_pipelines.proto
    app/dataset/v1/dataset.proto
    proto/rpc/v1/auth.proto
)
MACHINE_ROOTS=(
    robot/v1/robot.proto
    common/v1/common.proto
    component/arm/v1/arm.proto
    component/board/v1/board.proto
    component/camera/v1/camera.proto
    component/encoder/v1/encoder.proto
    component/gantry/v1/gantry.proto
    component/motor/v1/motor.proto
    component/movementsensor/v1/movementsensor.proto
    component/sensor/v1/sensor.proto
    component/servo/v1/servo.proto
    service/datamanager/v1/data_manager.proto
    service/vision/v1/vision.proto
)
SWIFT_OPTS="Visibility=Public,FileNaming=PathToUnderscores"
# ExtraModuleImports=<module> and ProtoPathModuleMappings=<file> are appended below.
GRPC_OPTS="Visibility=Public,Server=true,Client=true,FileNaming=PathToUnderscores"

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
"$PYTHON" scripts/viam_descriptors.py "$SET" "${DATA_ROOTS[@]}" "${MACHINE_ROOTS[@]}"
mapfile -t DATA_FILES < <("$PYTHON" scripts/viam_descriptors.py --list-generate "${DATA_ROOTS[@]}")
((${#DATA_FILES[@]})) || die "viam_descriptors.py listed no files to generate for the data server"
# The machine API's messages are those its roots need that the data server's module lacks.
mapfile -t MACHINE_FILES < <(
    "$PYTHON" scripts/viam_descriptors.py --list-generate "${MACHINE_ROOTS[@]}" | grep -vxF -f <(printf '%s\n' "${DATA_FILES[@]}")
)
((${#MACHINE_FILES[@]})) || die "viam_descriptors.py listed no files to generate for the machine API"

# The module every generated .proto lives in, for both plugins: types are never module-qualified
# differently, and a file importing another group's .proto gets `import <that module>`.
MAPPINGS="$WORK/module-mappings.asciipb"
{
    for pair in "ViamProtos:DATA_FILES" "ViamMachineProtos:MACHINE_FILES"; do
        module="${pair%%:*}"
        declare -n group="${pair#*:}"
        echo "mapping {"
        echo "  module_name: \"$module\""
        for f in "${group[@]}"; do echo "  proto_file_path: \"$f\""; done
        echo "}"
        unset -n group
    done
} >"$MAPPINGS"

CHECK_STALE=0
# generate MESSAGES_MODULE MESSAGES_REL GRPC_REL ROOTS_ARRAY FILES_ARRAY
generate() {
    local module="$1" messages_rel="$2" grpc_rel="$3"
    declare -n roots="$4" files="$5"
    note "$module: generating messages for ${#files[@]} files: ${files[*]}"

    # --- 3. messages
    local gen_messages="$WORK/$module"
    mkdir -p "$gen_messages"
    "$PROTOC" \
        --descriptor_set_in="$SET" \
        --plugin=protoc-gen-swift="$SWIFT_PLUGIN" \
        --swift_out="$gen_messages" \
        --swift_opt="$SWIFT_OPTS,ProtoPathModuleMappings=$MAPPINGS" \
        "${files[@]}"

    # --- 4. gRPC stubs for the services of the roots that declare any (common.proto has none)
    local gen_grpc="$WORK/$module-grpc" services
    mkdir -p "$gen_grpc"
    mapfile -t services < <("$PYTHON" scripts/viam_descriptors.py --list-services "${roots[@]}")
    note "$module: generating gRPC stubs for ${services[*]}"
    "$PROTOC" \
        --descriptor_set_in="$SET" \
        --plugin=protoc-gen-grpc-swift-2="$GRPC_PLUGIN" \
        --grpc-swift-2_out="$gen_grpc" \
        --grpc-swift-2_opt="$GRPC_OPTS,ExtraModuleImports=$module,ProtoPathModuleMappings=$MAPPINGS" \
        "${services[@]}"

    shopt -s nullglob
    local messages=("$gen_messages"/*.swift) stubs=("$gen_grpc"/*.swift)
    shopt -u nullglob
    ((${#messages[@]} == ${#files[@]})) \
        || die "expected ${#files[@]} Swift files from protoc-gen-swift, got ${#messages[@]}: ${messages[*]##*/}"
    ((${#stubs[@]} == ${#services[@]})) \
        || die "expected ${#services[@]} Swift files from protoc-gen-grpc-swift-2, got ${#stubs[@]}: ${stubs[*]##*/}"
    for f in "${stubs[@]}"; do
        grep -qx "import $module" "$f" || die "${f##*/} does not import $module"
    done

    # --- 5. compare with, or replace, the committed output
    if $CHECK; then
        local pair gen rel
        for pair in "$gen_messages:$messages_rel" "$gen_grpc:$grpc_rel"; do
            gen="${pair%%:*}" rel="${pair#*:}"
            # Compare *.swift only, in both directions (a missing or an extra file is a difference).
            mkdir -p "$WORK/committed/$rel"
            if [[ -d "$rel" ]]; then
                for f in "$rel"/*.swift; do [[ -e "$f" ]] && cp "$f" "$WORK/committed/$rel/"; done
            fi
            if ! diff -r -q "$WORK/committed/$rel" "$gen" >"$WORK/diff.txt"; then
                CHECK_STALE=1
                note "$rel/ is out of date:"
                sed "s|$WORK/committed/||; s|$gen|(generated)|" "$WORK/diff.txt" >&2
            fi
        done
        note "checked: $messages_rel/ (${#messages[@]} files), $grpc_rel/ (${#stubs[@]} files)"
        return
    fi
    install_into "$messages_rel" "${messages[@]}"
    install_into "$grpc_rel" "${stubs[@]}"
}

install_into() { # install_into REL FILE...
    local rel="$1"; shift
    mkdir -p "$rel"
    rm -f "$rel"/*.swift
    cp "$@" "$rel"/
    note "wrote $# files ($(cat "$@" | wc -l) lines) to $rel/:"
    for f in "$@"; do echo "  $rel/${f##*/}" >&2; done
}

generate ViamProtos Host/Generated/ViamProtos Host/Generated/ViamGRPC DATA_ROOTS DATA_FILES
generate ViamMachineProtos Host/Generated/ViamMachineProtos Host/Generated/ViamMachineGRPC MACHINE_ROOTS MACHINE_FILES

if $CHECK; then
    ((CHECK_STALE == 0)) || die "the committed generated code differs from what the generators produce: run scripts/generate-protos.sh"
    note "up to date"
fi
