#!/usr/bin/env bash
# Builds ferry_VERSION_ARCH.deb from a release bundle (Deploy/release.sh):
#   /opt/ferry/            the bundle (binary, plugins, Swift runtime)
#   /usr/bin/ferry         a link to it
#   /etc/ferry/machine.json, /etc/default/ferry-serve   configuration (kept across upgrades)
#   ferry.service (ferry run) and ferry-serve.service (ferry serve), enabled by the administrator
# The postinst adds the `ferry` system user (in the video, i2c, gpio and dialout groups present)
# and /var/lib/ferry/{capture,data}; removing the package keeps that data.
#
#   Deploy/debian/build-deb.sh [--fast] BUNDLE.tar.gz [OUT_DIR]
# --fast compresses little (gzip -1): for the tests, whose debug binaries are large.
set -euo pipefail
compression=(-Zxz)
if [ "${1:-}" = --fast ]; then compression=(-Zgzip -z1); shift; fi
here="$(cd "$(dirname "$0")" && pwd)"
bundle="${1:?usage: build-deb.sh BUNDLE.tar.gz [OUT_DIR]}"
out="${2:-$(dirname "$bundle")}"
name="$(basename "$bundle" .tar.gz)"            # ferry-VERSION-linux-ARCH
version="${name#ferry-}"; version="${version%-linux-*}"
arch="$(dpkg --print-architecture)"

root="$(mktemp -d)"
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/opt" "$root/usr/bin" "$root/lib/systemd/system" "$root/etc/ferry" "$root/etc/default" "$root/DEBIAN"
tar -C "$root/opt" -xzf "$bundle"
mv "$root/opt/$name" "$root/opt/ferry"
ln -s /opt/ferry/lib/ferry/ferry "$root/usr/bin/ferry"
install -m 0644 "$here/../systemd/ferry.service" "$here/../systemd/ferry-serve.service" "$root/lib/systemd/system/"
install -m 0644 "$here/machine.json" "$root/etc/ferry/machine.json"
install -m 0644 "$here/ferry-serve.default" "$root/etc/default/ferry-serve"
install -m 0755 "$here/postinst" "$here/prerm" "$here/postrm" "$root/DEBIAN/"
printf '/etc/ferry/machine.json\n/etc/default/ferry-serve\n' > "$root/DEBIAN/conffiles"
size="$(du -sk --exclude=DEBIAN "$root" | cut -f1)"
cat > "$root/DEBIAN/control" <<CONTROL
Package: ferry
Version: $version
Architecture: $arch
Maintainer: Ferry developers <ferry@localhost>
Installed-Size: $size
Depends: adduser, libc6, libstdc++6, libgcc-s1, libsqlite3-0, libffi8, libjpeg62-turbo, zlib1g
Section: misc
Priority: optional
Description: data management for robots and edge machines
 Ferry captures readings from a machine's sensors, cameras, boards, motors and
 arms through driver plugins, syncs them exactly once to a data server, and
 runs MQL/SQL queries and scheduled data pipelines there. It speaks Viam's
 public gRPC API. ferry.service runs the host (ferry run /etc/ferry/machine.json),
 ferry-serve.service the data server.
CONTROL
deb="$out/ferry_${version}_${arch}.deb"
dpkg-deb --root-owner-group "${compression[@]}" --build "$root" "$deb" >/dev/null
echo "$deb"
