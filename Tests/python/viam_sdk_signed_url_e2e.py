"""Signed download URLs through the published Viam Python SDK (viam-sdk 0.85.1, unmodified) against
the real `ferry serve --download-listen` over TLS: create_binary_data_signed_url returns an HTTPS URL
that plain `curl` (trusting the server's certificate, no other credential) downloads; a URL with
its id, expiry or signature changed is refused with 403; another organisation's id is NOT_FOUND;
--download-url sets what URLs start with.
(Expiry itself is checked with an injected clock in FerryAPITests/DownloadURLSignerTests.)

Run by the Swift test suite (EndToEndTests/ViamSDKTests.swift):
    python3 Tests/python/viam_sdk_signed_url_e2e.py /path/to/ferry
Exits 0 when every check passes; prints what failed otherwise."""

import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone

try:
    from grpclib import Status
    from grpclib.exceptions import GRPCError
except ImportError:
    print("viam-sdk is not installed: pip install viam-sdk==0.85.1 (CI's .ci/run does)")
    sys.exit(2)

from ferry_e2e import Server, check, connect, ferry, run


async def refused(call, status, what, contains=""):
    """Checks that `call` fails with gRPC `status` (and a message containing `contains`)."""
    try:
        await call
        check(False, f"{what}: refused")
    except GRPCError as error:
        check(error.status == status and contains in (error.message or ""), f"{what}: {error.status.name} {error.message}")


def curl(url, ca, *extra):
    """(HTTP status, body bytes, content type) of a plain curl of `url`, trusting only the server's certificate."""
    out = subprocess.run(["curl", "-sS", "--cacert", ca, *extra, "-o", "-", "-w", "\n%{http_code} %{content_type}", url],
                         capture_output=True, check=True)
    body, _, trailer = out.stdout.rpartition(b"\n")
    status, _, content_type = trailer.decode().partition(" ")
    return int(status), body, content_type


async def main(data, port, metrics_port, ports):
    ca = os.path.join(data, "tls-cert.pem")
    org = ferry("org", "create", "acme", data=data)
    rival_org = ferry("org", "create", "rival", data=data)
    owner_id, owner_key = ferry("key", "create", "--org", org, "--role", "owner", data=data).split()
    viewer_id, viewer_key = ferry("key", "create", "--org", org, "--role", "viewer", data=data).split()
    rival_id, rival_key = ferry("key", "create", "--org", rival_org, "--role", "owner", data=data).split()
    owner, viewer, rival = await connect(port, owner_id, owner_key), await connect(port, viewer_id, viewer_key), await connect(port, rival_id, rival_key)
    dc = owner.data_client

    image = bytes(range(256)) * 40
    now = datetime.now(timezone.utc)
    first = await dc.binary_data_capture_upload(
        binary_data=image, part_id="part-0", component_type="rdk:component:camera", component_name="cam",
        method_name="ReadImage", file_extension=".jpg", mime_type="image/jpeg", data_request_times=(now, now))
    second = await dc.file_upload(part_id="part-0", data=b"other", file_name="other.txt", mime_type="text/plain")
    theirs = await rival.data_client.file_upload(part_id="p", data=b"secret", file_name="secret.txt")

    url, expires_at = await viewer.data_client.create_binary_data_signed_url(first, expiration_minutes=5)
    check(url.startswith(f"https://127.0.0.1:{ports['download']}/download/{org}/{first}?"), f"an HTTPS URL on the download listener: {url}")
    expires_at = expires_at.replace(tzinfo=timezone.utc)
    check(now + timedelta(minutes=4) < expires_at <= datetime.now(timezone.utc) + timedelta(minutes=5), f"expires in 5 minutes: {expires_at}")
    status, body, content_type = curl(url, ca)
    check(status == 200 and body == image and content_type == "image/jpeg", f"plain curl downloads the payload: {status} {len(body)} bytes {content_type}")
    _, default_expiry = await dc.create_binary_data_signed_url(second)
    default_expiry = default_expiry.replace(tzinfo=timezone.utc)
    check(now + timedelta(minutes=14) < default_expiry <= datetime.now(timezone.utc) + timedelta(minutes=15), "15 minutes by default")

    tampered = {
        "another id": url.replace(f"/{first}?", f"/{second}?"),
        "another organisation": url.replace(f"/{org}/", f"/{rival_org}/"),
        "a later expiry": url.replace("expires=", "expires=9"),
        "another signature": url[:-4] + ("AAAA" if not url.endswith("AAAA") else "BBBB"),
    }
    for what, bad in tampered.items():
        status, body, _ = curl(bad, ca)
        check(status == 403 and b"signature" in body, f"{what} is refused: {status} {body.decode(errors='replace').strip()}")
    status, body, _ = curl(url.split("?")[0], ca)
    check(status == 403 and b"not a download URL" in body, f"a URL without its signature is refused: {status}")
    status, body, _ = curl(url, ca, "-I")
    check(status == 200 and b"content-length: 10240" in body.lower(), f"HEAD answers the length without the bytes: {status}")
    status, _, _ = curl(url, ca, "-X", "POST")
    check(status == 405, f"only GET and HEAD: {status}")

    await refused(dc.create_binary_data_signed_url(theirs), Status.NOT_FOUND, "another organisation's id", theirs)
    await refused(dc.create_binary_data_signed_url("no-such-id"), Status.NOT_FOUND, "an unknown id")
    await refused(dc.create_binary_data_signed_url(first, expiration_minutes=20000), Status.INVALID_ARGUMENT,
                  "an expiry past a week", "expiration_minutes")

    # A URL outlives nothing: once its payload is deleted, it answers 404.
    await dc.delete_binary_data_by_ids([first])
    status, body, _ = curl(url, ca)
    check(status == 404, f"the URL of a deleted payload: {status} {body.decode(errors='replace').strip()}")

    # Behind a proxy: URLs start with --download-url, and the listener still checks them.
    proxied = Server(data, ["--download-listen", "127.0.0.1:0", "--download-url", "https://files.example.com:8443/"],
                     {"download": r"serving signed binary downloads on https://[^ ]+:(\d+)"})
    try:
        client = await connect(proxied.ports["api"], owner_id, owner_key)
        url, _ = await client.data_client.create_binary_data_signed_url(second)
        check(url.startswith(f"https://files.example.com:8443/download/{org}/{second}?"), f"--download-url starts the URL: {url}")
        direct = url.replace("https://files.example.com:8443", f"https://127.0.0.1:{proxied.ports['download']}")
        status, body, content_type = curl(direct, ca)
        check(status == 200 and body == b"other", f"the proxied URL's path downloads: {status} {body!r} {content_type}")
        client.close()
    finally:
        proxied.stop()

    # Without --download-listen there is nowhere for a URL to point.
    plain = Server(data)
    try:
        client = await connect(plain.ports["api"], owner_id, owner_key)
        await refused(client.data_client.create_binary_data_signed_url(second), Status.FAILED_PRECONDITION,
                      "a server without a download listener", "--download-listen")
        client.close()
    finally:
        plain.stop()

    for client in (owner, viewer, rival):
        client.close()


run(main, serve_args=["--download-listen", "127.0.0.1:0"],
    extra_ports={"download": r"serving signed binary downloads on https://[^ ]+:(\d+)"})
