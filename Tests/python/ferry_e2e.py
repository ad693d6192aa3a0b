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
# The environment of a `ferry` on the embedded SQLite store, for scripts that compare the two backends.
SQLITE_ENV = {name: value for name, value in os.environ.items() if name != "FERRY_DATABASE_URL"}


def check(condition, what):
    print(("ok   " if condition else "FAIL ") + what, flush=True)
    if not condition:
        failures.append(what)


async def refused(call, status, what, contains=""):
    """Checks that the awaitable `call` fails with gRPC `status` (a grpclib `Status`) and a message
    containing `contains`."""
    from grpclib.exceptions import GRPCError

    try:
        await call
        check(False, f"{what}: refused")
    except GRPCError as error:
        check(error.status == status and contains in (error.message or ""), f"{what}: {error.status.name} {error.message}")


def ferry(*args, data, env=None):
    out = subprocess.run([FERRY, *args, "--data", data], capture_output=True, text=True, check=True, env=env)
    return out.stdout.strip()


async def connect(port, key_id, key):
    return await ViamClient.create_from_dial_options(
        DialOptions.with_api_key(api_key=key, api_key_id=key_id), app_url=f"127.0.0.1:{port}")


def start_logged(args, patterns, timeout=300, env=None):
    """Starts `ferry ARGS`, reads the ports its log reports (`patterns`: name -> regex with one
    group), and returns (process, ports, log). Exits with the log if a port is not reported."""
    process = subprocess.Popen([FERRY, *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    log, ports, ready = [], {}, threading.Event()

    def read_log():
        for line in process.stdout:
            log.append(line)
            for name, pattern in patterns.items():
                if match := re.search(pattern, line):
                    ports[name] = int(match.group(1))
            if len(ports) == len(patterns):
                ready.set()
        ready.set()  # the process exited: stop waiting

    threading.Thread(target=read_log, daemon=True).start()
    # Generous: a loaded 2-core CI machine runs many end-to-end tests at once.
    if not ready.wait(timeout=timeout) or len(ports) < len(patterns):
        print("".join(log))
        process.kill()
        sys.exit(f"ferry {args[0]} did not report its listening ports {sorted(patterns)} (exit status {process.poll()})")
    return process, ports, log


def stop(process):
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


def finish():
    print(f"{len(failures)} failed" if failures else "all checks passed")
    sys.exit(1 if failures else 0)


class Server:
    """A `ferry serve` (TLS, metrics) on ports the kernel picks, read back from its log. Binding port 0
    leaves no window for another process to take the port between choosing and binding it."""

    def __init__(self, data, serve_args=(), extra_ports=None, env=None):
        self.process, self.ports, self.log = start_logged(
            ["serve", "--data", data, "--listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0", *serve_args],
            {"api": r"serving Viam's data API on [^ ]+:(\d+)", "metrics": r"serving Prometheus metrics on http://[^/]+:(\d+)/",
             **(extra_ports or {})}, env=env)

    def stop(self):
        stop(self.process)


def run(main, serve_args=(), extra_ports=None):
    """Starts `ferry serve` in a fresh data directory, runs `main(data, port, metrics_port)`, stops the
    server, and exits 0 only if every check passed; the server's output is printed whenever
    something goes wrong. `extra_ports` ({name: log regex with the port as group 1}) waits for more
    listeners too and passes `main` a fourth argument, every port by name."""
    with tempfile.TemporaryDirectory() as data:
        server = Server(data, serve_args, extra_ports)
        try:
            asyncio.run(main(data, server.ports["api"], server.ports["metrics"], *([server.ports] if extra_ports else [])))
        finally:
            server.stop()
            if failures or sys.exc_info()[0] is not None:
                print("--- ferry serve output ---\n" + "".join(server.log))
    finish()
