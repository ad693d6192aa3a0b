"""What the viam-sdk end-to-end scripts share: checks that record failures, the `ferry` CLI, and a
real `ferry serve` on a free loopback port for the duration of one async `main`."""

import asyncio
import os
import re
import subprocess
import sys
import tempfile
import threading

try:
    from viam.app.viam_client import ViamClient
    from viam.rpc.dial import DialOptions
except ImportError:
    print("viam-sdk is not installed: pip install viam-sdk==0.85.1 (CI's .ci/run does)")
    sys.exit(2)

FERRY = sys.argv[1]
failures = []
# Set by the test for the PostgreSQL run: every `ferry` command and `ferry serve` inherit it and use
# that database instead of the data directory's SQLite store (the data directory still holds the
# server's TLS certificate).
POSTGRES = os.environ.get("FERRY_DATABASE_URL", "").startswith(("postgres://", "postgresql://"))


def check(condition, what):
    print(("ok   " if condition else "FAIL ") + what, flush=True)
    if not condition:
        failures.append(what)


def ferry(*args, data):
    out = subprocess.run([FERRY, *args, "--data", data], capture_output=True, text=True, check=True)
    return out.stdout.strip()


async def connect(port, key_id, key):
    return await ViamClient.create_from_dial_options(
        DialOptions.with_api_key(api_key=key, api_key_id=key_id), app_url=f"127.0.0.1:{port}")


class Server:
    """A `ferry serve` (TLS, metrics) on ports the kernel picks, read back from its log. Binding port 0
    leaves no window for another process to take the port between choosing and binding it."""

    def __init__(self, data, serve_args=()):
        self.process = subprocess.Popen([FERRY, "serve", "--data", data, "--listen", "127.0.0.1:0",
                                         "--metrics-listen", "127.0.0.1:0", *serve_args],
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.log, self.ports, ready = [], {}, threading.Event()

        def read_log():
            for line in self.process.stdout:
                self.log.append(line)
                for name, pattern in (("api", r"serving Viam's data API on [^ ]+:(\d+)"),
                                      ("metrics", r"serving Prometheus metrics on http://[^/]+:(\d+)/")):
                    if match := re.search(pattern, line):
                        self.ports[name] = int(match.group(1))
                if len(self.ports) == 2:
                    ready.set()
            ready.set()  # the server exited: stop waiting

        threading.Thread(target=read_log, daemon=True).start()
        # Generous: a loaded 2-core CI machine runs many end-to-end tests at once.
        if not ready.wait(timeout=300) or len(self.ports) < 2:
            print("".join(self.log))
            self.stop()
            sys.exit(f"ferry serve did not report both listening ports (exit status {self.process.poll()})")

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def run(main, serve_args=()):
    """Starts `ferry serve` in a fresh data directory, runs `main(data, port, metrics_port)`, stops the
    server, and exits 0 only if every check passed; the server's output is printed whenever
    something goes wrong."""
    with tempfile.TemporaryDirectory() as data:
        server = Server(data, serve_args)
        try:
            asyncio.run(main(data, server.ports["api"], server.ports["metrics"]))
        finally:
            server.stop()
            if failures or sys.exc_info()[0] is not None:
                print("--- ferry serve output ---\n" + "".join(server.log))
    print(f"{len(failures)} failed" if failures else "all checks passed")
    sys.exit(1 if failures else 0)
