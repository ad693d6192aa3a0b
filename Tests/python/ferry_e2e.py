"""What the viam-sdk end-to-end scripts share: checks that record failures, the `ferry` CLI, and a
real `ferry serve` on a free loopback port for the duration of one async `main`."""

import asyncio
import socket
import subprocess
import sys
import tempfile
import time

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


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def connect(port, key_id, key):
    return await ViamClient.create_from_dial_options(
        DialOptions.with_api_key(api_key=key, api_key_id=key_id), app_url=f"127.0.0.1:{port}")


def run(main, serve_args=()):
    """Starts `ferry serve` (TLS, metrics on a free port) in a fresh data directory, runs
    `main(data, port, metrics_port)`, stops the server, and exits 0 only if every check passed."""
    with tempfile.TemporaryDirectory() as data:
        port, metrics_port = free_port(), free_port()
        server = subprocess.Popen([FERRY, "serve", "--data", data, "--listen", f"127.0.0.1:{port}",
                                   "--metrics-listen", f"127.0.0.1:{metrics_port}", *serve_args],
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            deadline = time.time() + 60
            while time.time() < deadline:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    break
                except OSError:
                    if server.poll() is not None:
                        print(server.stdout.read())
                        sys.exit("ferry serve exited early")
                    time.sleep(0.1)
            asyncio.run(main(data, port, metrics_port))
        finally:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
    print(f"{len(failures)} failed" if failures else "all checks passed")
    sys.exit(1 if failures else 0)
