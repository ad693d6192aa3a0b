#!/usr/bin/env bash
# Builds the release bundle: dist/ferry-VERSION-linux-ARCH.tar.gz with the ferry binary (and
# ferry-host, the host alone that `ferry run` becomes when it can), the built-in plugins and the
# Swift runtime libraries they load (so a machine without a Swift toolchain runs it), licences and a README; a .sha256 beside it, and a detached Ed25519 signature
# (.sig) when --sign KEY is given (a key from `ferry module keygen`; verify with
# `openssl pkeyutl -verify -rawin -pubin -inkey KEY.pub -in BUNDLE -sigfile BUNDLE.sig`).
#
#   Deploy/release.sh [--configuration release|debug] [--skip-build] [--products DIR] [--out DIR] [--sign KEY]
#
# --products DIR bundles what is already built there (the tests bundle their debug build so).
#
# The binaries look for libraries in the toolchain first, then beside themselves ($ORIGIN in their
# run path), so the bundle keeps them all in one directory: lib/ferry/, with bin/ferry a link to it.
set -euo pipefail
cd "$(dirname "$0")/.."

configuration=release skip_build=0 out=dist key="" products=""
while [ $# -gt 0 ]; do
    case "$1" in
        --configuration) configuration="$2"; shift 2 ;;
        --skip-build) skip_build=1; shift ;;
        --out) out="$2"; shift 2 ;;
        --products) products="$2"; skip_build=1; shift 2 ;;
        --sign) key="$2"; shift 2 ;;
        *) echo "release.sh: unknown argument $1 (see the comment at the top of the script)" >&2; exit 2 ;;
    esac
done
case "$configuration" in release|debug) ;; *) echo "release.sh: --configuration is release or debug, not $configuration" >&2; exit 2 ;; esac

# In release, the dependencies' functions get their own sections too (the package's targets have
# them from Package.swift), so the linker's symbol order file lays out all of the host's code.
build_flags=()
[ "$configuration" = release ] && build_flags=(-Xswiftc -Xfrontend -Xswiftc -function-sections)
if [ "$skip_build" = 0 ]; then swift build -c "$configuration" "${build_flags[@]}"; fi
[ -n "$products" ] || products="$(swift build -c "$configuration" --show-bin-path)"
for binary in ferry ferry-host; do
    [ -x "$products/$binary" ] || { echo "release.sh: no $products/$binary; build first (or drop --skip-build)" >&2; exit 1; }
done

version="$("$products/ferry" --version)"
arch="$(uname -m)"
name="ferry-$version-linux-$arch"
mkdir -p "$out"
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
root="$stage/$name"
mkdir -p "$root/bin" "$root/lib/ferry" "$root/share/licenses"

cp "$products/ferry" "$products/ferry-host" "$root/lib/ferry/"
for plugin in "$products"/libFerry*.so; do cp "$plugin" "$root/lib/ferry/"; done
ln -s ../lib/ferry/ferry "$root/bin/ferry"

# Every library the binary and plugins resolve inside the Swift toolchain goes beside them.
toolchain_lib="$(dirname "$(dirname "$(readlink -f "$(command -v swift)")")")/lib"
for object in "$root"/lib/ferry/*; do
    ldd "$object" | awk '$3 ~ /^\// { print $3 }'
done | sort -u | while read -r library; do
    case "$library" in "$toolchain_lib"/*) cp -n "$library" "$root/lib/ferry/" ;; esac
done

licence="$toolchain_lib/../share/swift/LICENSE.txt"
[ -f "$licence" ] && cp "$licence" "$root/share/licenses/swift-runtime-LICENSE.txt"
cat > "$root/README" <<README
Ferry $version for Linux $arch: data management for robots and edge machines.

  bin/ferry run CONFIG.json            capture (and sync) on a machine
  bin/ferry serve --data DIR           the data server
  bin/ferry --help                     everything else

lib/ferry/ holds the ferry binary, ferry-host (the host alone, which \`ferry run\` becomes when it
needs no data server of its own), the built-in plugins (libFerry*.so) and the Swift runtime
libraries they load; keep them together. The Swift runtime's licence is in share/licenses/.
The runtime libraries a plugin needs from the system (libsqlite3, libffi, libjpeg, zlib) come from
the distribution: apt-get install libsqlite3-0 libffi8 libjpeg62-turbo zlib1g
README

tar -C "$stage" --owner=0 --group=0 -czf "$out/$name.tar.gz" "$name"
(cd "$out" && sha256sum "$name.tar.gz" > "$name.tar.gz.sha256")
if [ -n "$key" ]; then
    openssl pkeyutl -sign -rawin -inkey "$key" -in "$out/$name.tar.gz" -out "$out/$name.tar.gz.sig"
fi
echo "$out/$name.tar.gz"
