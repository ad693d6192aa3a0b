"""`ferry data export|tag|delete` on a store filled through the published Viam Python SDK
(viam-sdk 0.85.1, unmodified) and the real `ferry serve`: binary export with its files and metadata,
resumed; tabular export as JSON lines; tags and deletion by filter and by id, checked back through
the SDK; another organisation's data never touched; bad flags refused with a clear message.

Run by the Swift test suite (EndToEndTests/ViamSDKTests.swift):
    python3 Tests/python/ferry_data_cli_e2e.py /path/to/ferry
Exits 0 when every check passes; prints what failed otherwise."""

import json
import os
import subprocess
import sys
import tempfile
from datetime import datetime, timedelta, timezone

try:
    from viam.utils import create_filter
except ImportError:
    print("viam-sdk is not installed: pip install viam-sdk==0.85.1 (CI's .ci/run does)")
    sys.exit(2)

from ferry_e2e import FERRY, check, connect, ferry, run

BASE = datetime(2024, 3, 1, 12, 0, tzinfo=timezone.utc)


def cli(*args, data):
    """`ferry data ARGS --data DATA`: (exit status, stdout, stderr)."""
    out = subprocess.run([FERRY, "data", *args, "--data", data], capture_output=True, text=True)
    return out.returncode, out.stdout.strip(), out.stderr.strip()


async def main(data, port, metrics_port):
    org = ferry("org", "create", "acme", data=data)
    rival_org = ferry("org", "create", "rival", data=data)
    owner = await connect(port, *ferry("key", "create", "--org", org, "--role", "owner", data=data).split())
    rival = await connect(port, *ferry("key", "create", "--org", rival_org, "--role", "owner", data=data).split())
    dc = owner.data_client

    images = {}
    for i, (mime, ext) in enumerate([("image/jpeg", ".jpg"), ("image/jpeg", ".jpg"), ("image/png", ".png")]):
        t = BASE + timedelta(minutes=i)
        payload = f"image {i}".encode() * (i + 1)
        images[await dc.binary_data_capture_upload(
            binary_data=payload, part_id="part-0", component_type="rdk:component:camera", component_name="cam",
            method_name="ReadImage", file_extension=ext, mime_type=mime, data_request_times=(t, t), tags=["raw"])] = payload
    theirs = await rival.data_client.file_upload(part_id="p", data=b"secret", file_name="secret.jpg")
    times = [(BASE + timedelta(seconds=s), BASE + timedelta(seconds=s)) for s in range(5)]
    await dc.tabular_data_capture_upload(
        tabular_data=[{"readings": {"celsius": 20 + s}} for s in range(5)], part_id="part-0", component_type="rdk:component:sensor",
        component_name="thermo", method_name="Readings", data_request_times=times)

    with tempfile.TemporaryDirectory() as out:
        # Binary export: the JPEGs, each with its metadata; a second run keeps what is there.
        status, _, err = cli("export", "binary", "--org-ids", org, "--mime-types", "image/jpeg", "--destination", out, data=data)
        check(status == 0 and "exported 2 binary data files" in err, f"export binary: {status} {err}")
        files = sorted(os.listdir(os.path.join(out, "data")))
        jpegs = sorted(i for i, b in images.items() if b.startswith(b"image 0") or b.startswith(b"image 1"))
        check(files == sorted(f"{i}.jpg" for i in jpegs), f"one file per JPEG, named by id: {files}")
        check(all(open(os.path.join(out, "data", f"{i}.jpg"), "rb").read() == images[i] for i in jpegs), "the files hold the bytes uploaded")
        meta = json.load(open(os.path.join(out, "metadata", f"{jpegs[0]}.json")))
        check(meta["component_name"] == "cam" and meta["mime_type"] == "image/jpeg" and meta["tags"] == ["raw"]
              and meta["organization_id"] == org, f"the metadata file describes the payload: {meta}")
        status, _, err = cli("export", "binary", "--org-ids", org, "--mime-types", "image/jpeg", "--destination", out, data=data)
        check(status == 0 and "(2 already there)" in err, f"a second export keeps the files already there: {err}")
        check(not any(f.endswith(".partial") for f in os.listdir(os.path.join(out, "data"))), "no partial file is left")

        # Tabular export: JSON lines of the readings in the interval.
        status, _, err = cli("export", "tabular", "--org-ids", org, "--component-name", "thermo", "--start", "2024-03-01T12:00:01Z",
                             "--end", "2024-03-01T12:00:04Z", "--destination", out, data=data)
        lines = [json.loads(line) for line in open(os.path.join(out, "data.ndjson"))]
        check(status == 0 and [r["data"]["readings"]["celsius"] for r in lines] == [21, 22, 23],
              f"export tabular writes the readings captured in [start, end): {status} {err} {[r.get('data') for r in lines]}")

    # Everything exported from the whole organisation: never the rival's payload.
    with tempfile.TemporaryDirectory() as out:
        cli("export", "binary", "--org-ids", org, "--destination", out, data=data)
        check(not any(theirs in f for f in os.listdir(os.path.join(out, "data"))), "another organisation's data is not exported")

    # Tags by filter and by id, read back through the SDK.
    status, stdout, err = cli("tag", "add", "--org-ids", org, "--tags", "reviewed,cli", "--component-name", "cam", data=data)
    check(status == 0 and stdout == "tagged 3 binary data", f"tag add by filter: {stdout} {err}")
    check(await dc.tags_by_filter(create_filter(organization_ids=[org])) == ["cli", "raw", "reviewed"], "the SDK sees the new tags")
    status, stdout, err = cli("tag", "remove", "--org-ids", org, "--tags", "cli", "--binary-data-ids", jpegs[0], data=data)
    check(status == 0 and stdout == "untagged 1 binary data", f"tag remove by id: {stdout} {err}")
    _, n, _ = await dc.binary_data_by_filter(create_filter(organization_ids=[org], tags=["cli"]), count_only=True)
    check(n == 2, f"two payloads keep the tag removed from the third: {n}")

    # Deletion: a filter is required unless --all; by MIME type; readings by age.
    status, _, err = cli("delete", "binary", "--org-ids", org, data=data)
    check(status != 0 and "--all" in err, f"deleting everything needs --all: {err}")
    status, _, err = cli("export", "tabular", "--org-ids", org, "--tags", "x", "--destination", "/tmp", data=data)
    check(status != 0 and "--tags" in err and "binary data only" in err, f"binary-only flags are refused for readings: {err}")
    status, _, err = cli("export", "binary", "--org-ids", org, "--start", "yesterday", "--destination", "/tmp", data=data)
    check(status != 0 and "--start yesterday" in err and "RFC 3339" in err, f"a bad time says what is expected: {err}")
    status, stdout, err = cli("delete", "binary", "--org-ids", org, "--mime-types", "image/png", data=data)
    check(status == 0 and stdout == "deleted 1 binary data", f"delete binary by filter: {stdout} {err}")
    _, n, _ = await dc.binary_data_by_filter(create_filter(organization_ids=[org]), count_only=True)
    check(n == 2, f"the two JPEGs are left: {n}")
    status, stdout, err = cli("delete", "tabular", "--org-ids", org, "--delete-older-than-days", "0", data=data)
    check(status == 0 and stdout == "deleted 5 readings", f"delete tabular: {stdout} {err}")
    rows, _, _ = await dc.tabular_data_by_filter(create_filter(organization_ids=[org]))
    check(rows == [], f"no reading is left: {rows}")
    _, n, _ = await rival.data_client.binary_data_by_filter(create_filter(organization_ids=[rival_org]), count_only=True)
    check(n == 1, "the rival organisation's payload is untouched")
    owner.close()
    rival.close()


run(main)
