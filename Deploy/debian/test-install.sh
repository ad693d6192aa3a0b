#!/usr/bin/env bash
# Installs, upgrades and removes the Debian package on this machine (root; CI runs it after the
# tests), checking what each step must leave behind. It changes the system: not for a workstation.
#   Deploy/debian/test-install.sh FERRY.deb
set -euo pipefail
deb="${1:?usage: test-install.sh FERRY.deb}"
fail() { echo "test-install: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || fail "needs root (it installs a package)"

dpkg -i "$deb" >/dev/null
getent passwd ferry >/dev/null || fail "no ferry user after install"
[ "$(stat -c %U /var/lib/ferry/capture)" = ferry ] || fail "/var/lib/ferry/capture is not the ferry user's"
/usr/bin/ferry --version >/dev/null || fail "/usr/bin/ferry does not run"
# The packaged config runs as the service would, as the ferry user, and captures.
runuser -u ferry -- timeout -s TERM 25 /usr/bin/ferry run /etc/ferry/machine.json >/tmp/ferry-install-run.log 2>&1 || true
find /var/lib/ferry/capture -name '*.capture' -o -name '*.prog' | grep -q . || { cat /tmp/ferry-install-run.log; fail "the packaged config captured nothing"; }
echo "# edited by the administrator" >> /etc/default/ferry-serve

dpkg -i "$deb" >/dev/null   # the upgrade path: same version reinstalled
grep -q "edited by the administrator" /etc/default/ferry-serve || fail "an upgrade replaced an edited conffile"

dpkg -r ferry >/dev/null
[ ! -e /usr/bin/ferry ] || fail "/usr/bin/ferry left after remove"
[ ! -e /lib/systemd/system/ferry.service ] || fail "the unit is left after remove"
find /var/lib/ferry/capture -name '*.capture' -o -name '*.prog' | grep -q . || fail "remove deleted captured data"
dpkg -P ferry >/dev/null 2>&1
[ -d /var/lib/ferry ] || fail "purge deleted /var/lib/ferry"
rm -rf /var/lib/ferry
deluser ferry >/dev/null 2>&1 || true
echo "test-install: install, upgrade, remove and purge behave"
