"""What the scripted-device fixtures share: their command line, the request log, and running the
program under the testbed until it exits (SIGTERM/SIGINT forwarded, its status passed on).
Imported by i2c_bus.py and v4l2_camera.py, which sit in the same directory."""
import json
import os
import signal
import subprocess
import sys

import gi

gi.require_version("UMockdev", "1.0")
from gi.repository import GLib, UMockdev  # noqa: E402,F401  (UMockdev is re-exported to the fixtures)


def arguments(usage):
    """`SCRIPT.json -- PROGRAM ARGS...` → (the parsed script, the program's argv)."""
    if "--" not in sys.argv or len(sys.argv) < 4:
        sys.exit("usage: " + usage)
    with open(sys.argv[1]) as f:
        script = json.load(f)
    return script, sys.argv[sys.argv.index("--") + 1:]


def trace(text):
    """Appends one line to $FERRY_UMOCKDEV_LOG when it is set."""
    log = os.environ.get("FERRY_UMOCKDEV_LOG")
    if log:
        with open(log, "a") as f:
            f.write(text + "\n")


def run(testbed, program):
    """Runs `program` against `testbed` until it exits, then exits with its status."""
    env = dict(os.environ, UMOCKDEV_DIR=testbed.get_root_dir())
    # A parent may start us with SIGTERM/SIGINT blocked (a test runner's worker thread); unblock
    # them, or the forwarding below never runs and the program is never stopped.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
    child = subprocess.Popen(program, env=env)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda number, frame: child.send_signal(number))
    loop = GLib.MainLoop()

    def check():
        if child.poll() is not None:
            loop.quit()
            return False
        return True

    GLib.timeout_add(20, check)
    loop.run()
    sys.exit(child.returncode if child.returncode >= 0 else 128 - child.returncode)
