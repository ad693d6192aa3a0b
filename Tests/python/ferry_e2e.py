"""What the viam-sdk end-to-end scripts share: checks that record failures, the `ferry` CLI, and a
real `ferry serve` on a free loopback port for the duration of one async `main`."""

import asyncio
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


def run(main, serve_args=(), extra_ports=None):
    """Starts `ferry serve` (TLS, metrics) in a fresh data directory on ports the kernel picks, reads
    the real ports from its log, runs `main(data, port, metrics_port)`, stops the server, and exits 0
    only if every check passed. Binding port 0 leaves no window for another process to take the port
    between choosing and binding it; the server's output is printed whenever something goes wrong.
    `extra_ports` ({name: log regex with the port as group 1}) waits for more listeners too and
    passes `main` a fourth argument, every port by name."""
    with tempfile.TemporaryDirectory() as data:
        server = subprocess.Popen([FERRY, "serve", "--data", data, "--listen", "127.0.0.1:0",
                                   "--metrics-listen", "127.0.0.1:0", *serve_args],
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        log, ports, ready = [], {}, threading.Event()
        patterns = {"api": r"serving Viam's data API on [^ ]+:(\d+)",
                    "metrics": r"serving Prometheus metrics on http://[^/]+:(\d+)/", **(extra_ports or {})}

        def read_log():
            for line in server.stdout:
                log.append(line)
                for name, pattern in patterns.items():
                    if match := re.search(pattern, line):
                        ports[name] = int(match.group(1))
                if len(ports) == len(patterns):
                    ready.set()
            ready.set()  # the server exited: stop waiting

        threading.Thread(target=read_log, daemon=True).start()
        try:
            # Generous: a loaded 2-core CI machine runs many end-to-end tests at once.
            if not ready.wait(timeout=300) or len(ports) < len(patterns):
                print("".join(log))
                sys.exit(f"ferry serve did not report its listening ports {sorted(patterns)} (exit status {server.poll()})")
            asyncio.run(main(data, ports["api"], ports["metrics"], *([ports] if extra_ports else [])))
        finally:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
            if failures or sys.exc_info()[0] is not None:
                print("--- ferry serve output ---\n" + "".join(log))
    print(f"{len(failures)} failed" if failures else "all checks passed")
    sys.exit(1 if failures else 0)
