"""Browsing, tagging and deleting binary data with the published Viam Python SDK (viam-sdk 0.85.1,
unmodified) against the real `ferry serve` over TLS: binary_data_by_filter paged to the end with
`last`, count_only, the filter fields, binary_data_by_ids, tags, bounding-box labels, another organisation's ids, roles,
deletion by ids and by filter; tabular_data_by_filter, get_latest_tabular_data and delete_tabular_data.

Run by the Swift test suite (EndToEndTests/ViamSDKTests.swift):
    python3 Tests/python/viam_sdk_binary_e2e.py /path/to/ferry
Exits 0 when every check passes; prints what failed otherwise."""

import os
import sys
from datetime import datetime, timedelta, timezone

try:
    from grpclib import Status
    from grpclib.exceptions import GRPCError
    from google.protobuf.timestamp_pb2 import Timestamp
    from viam.proto.app.data import Annotations, BoundingBox, Filter, Order, TagsFilter, TagsFilterType
    from viam.proto.app.datasync import DataCaptureUploadRequest, DataType, SensorData, SensorMetadata, UploadMetadata
    from viam.utils import create_filter
except ImportError:
    print("viam-sdk is not installed: pip install viam-sdk==0.85.1 (CI's .ci/run does)")
    sys.exit(2)

from ferry_e2e import POSTGRES, check, connect, ferry, run

BASE = datetime(2024, 3, 1, 12, 0, tzinfo=timezone.utc)


async def refused(call, status, what, contains=""):
    """Checks that `call` fails with gRPC `status` (and a message containing `contains`)."""
    try:
        await call
        check(False, f"{what}: refused")
    except GRPCError as error:
        check(error.status == status and contains in (error.message or ""), f"{what}: {error.status.name} {error.message}")


async def upload(dc, i):
    """Image i of seven: cam-a takes 0-4, cam-b 5-6; even ones are JPEG on part-0, odd ones PNG on
    part-1; 0-2 are tagged "yard"; captured i minutes after BASE; i+100 bytes of value i."""
    return await dc.binary_data_capture_upload(
        binary_data=bytes([i]) * (100 + i), part_id=f"part-{i % 2}", component_type="rdk:component:camera",
        component_name="cam-a" if i < 5 else "cam-b", method_name="ReadImage",
        file_extension=".jpg" if i % 2 == 0 else ".png", mime_type="image/jpeg" if i % 2 == 0 else "image/png",
        tags=["yard"] if i < 3 else [], data_request_times=(BASE + timedelta(minutes=i), BASE + timedelta(minutes=i, seconds=1)))


async def count(dc, flt):
    _, n, _ = await dc.binary_data_by_filter(flt, count_only=True)
    return n


async def main(data, port, metrics_port):
    org = ferry("org", "create", "acme", data=data)
    rival_org = ferry("org", "create", "rival", data=data)
    keys = {role: ferry("key", "create", "--org", org, "--role", role, data=data).split() for role in ("owner", "operator", "viewer")}
    rival_id, rival_key = ferry("key", "create", "--org", rival_org, "--role", "owner", data=data).split()

    owner = await connect(port, *keys["owner"])
    dc = owner.data_client
    ids = [await upload(dc, i) for i in range(7)]
    check(len(set(ids)) == 7 and all(ids), "seven binary uploads return distinct ids")
    note = await dc.file_upload(part_id="part-0", data=b"field notes", file_name="notes.txt", tags=["docs"], mime_type="text/plain")
    rival = await connect(port, rival_id, rival_key)
    theirs = await rival.data_client.file_upload(part_id="p", data=b"secret", file_name="secret.txt")

    # Paging to the end with `last`, as the SDK's documentation loops: until a page comes back empty.
    cam_a = create_filter(component_name="cam-a")
    seen, last, pages = [], None, 0
    while pages < 10:
        page, n, last = await dc.binary_data_by_filter(cam_a, limit=2, last=last, sort_order=Order.ORDER_ASCENDING)
        if not page:
            break
        pages += 1
        check(n == len(page) and bool(last), f"page {pages}: count {n} is its size and `last` is set")
        seen.extend(page)
    check([d.metadata.binary_data_id for d in seen] == ids[:5], f"paging 2 at a time reaches every cam-a image in order ({pages} pages)")
    check(all(d.binary == bytes([i]) * (100 + i) for i, d in enumerate(seen)), "include_binary_data returns the bytes")
    first = seen[0].metadata
    check(first.capture_metadata.component_name == "cam-a" and first.capture_metadata.part_id == "part-0"
          and first.capture_metadata.mime_type == "image/jpeg" and list(first.capture_metadata.tags) == ["yard"]
          and first.capture_metadata.organization_id == org and first.file_ext == ".jpg" and first.file_size_bytes == 100
          and first.time_requested.ToDatetime(tzinfo=timezone.utc) == BASE, "metadata as uploaded")

    newest, _, _ = await dc.binary_data_by_filter(cam_a, limit=1, include_binary_data=False)
    check(newest[0].metadata.binary_data_id == ids[4] and newest[0].binary == b"", "newest first by default; metadata only")

    _, n, _ = await dc.binary_data_by_filter(Filter(), count_only=True)
    check(n == 8, f"count_only counts the organisation's binary data only: {n}")
    cases = [
        ("mime_type", create_filter(mime_type=["image/png"]), 3),
        ("part_id", create_filter(part_id="part-1"), 3),
        ("component_type", create_filter(component_type="rdk:component:camera"), 7),
        ("method", create_filter(method="ReadImage"), 7),
        ("tags (match any)", create_filter(tags=["yard", "docs"]), 4),
        ("tagged", Filter(tags_filter=TagsFilter(type=TagsFilterType.TAGS_FILTER_TYPE_TAGGED)), 4),
        ("untagged", Filter(tags_filter=TagsFilter(type=TagsFilterType.TAGS_FILTER_TYPE_UNTAGGED)), 4),
        ("capture interval", create_filter(start_time=BASE + timedelta(minutes=2), end_time=BASE + timedelta(minutes=4)), 2),
        ("own organisation", create_filter(organization_ids=[org]), 8),
        ("another organisation", create_filter(organization_ids=[rival_org]), 0),
        ("location", create_filter(location_ids=["elsewhere"]), 0),
        ("combined", create_filter(component_name="cam-a", mime_type=["image/jpeg"], tags=["yard"]), 2),
    ]
    for name, flt, expected in cases:
        n = await count(dc, flt)
        check(n == expected, f"filter by {name}: {n} of {expected}")
    await refused(dc.binary_data_by_filter(create_filter(robot_name="rover")), Status.INVALID_ARGUMENT, "a robot name filter", "robot_id")
    await refused(dc.binary_data_by_filter(cam_a, last="garbage"), Status.INVALID_ARGUMENT, "a `last` this server never gave", "last")

    by_ids = await dc.binary_data_by_ids([ids[6], note])
    check([d.metadata.binary_data_id for d in by_ids] == [ids[6], note] and by_ids[1].binary == b"field notes", "binary_data_by_ids")
    await refused(dc.binary_data_by_ids([theirs]), Status.NOT_FOUND, "another organisation's id", theirs)
    await refused(dc.binary_data_by_ids([ids[0], theirs]), Status.NOT_FOUND, "a list with another organisation's id")

    # Tags: operators tag, viewers read.
    operator_client = await connect(port, *keys["operator"])
    viewer_client = await connect(port, *keys["viewer"])
    operator, viewer = operator_client.data_client, viewer_client.data_client
    await operator.add_tags_to_binary_data_by_ids(["review"], [ids[3], ids[4]])
    await operator.add_tags_to_binary_data_by_filter(["camera"], create_filter(component_type="rdk:component:camera"))
    check(await viewer.tags_by_filter() == ["camera", "docs", "review", "yard"], "tags_by_filter lists every tag once")
    check(await viewer.tags_by_filter(create_filter(component_name="cam-b")) == ["camera"], "tags_by_filter narrows")
    check(await operator.remove_tags_from_binary_data_by_ids(["review"], [ids[3]]) == 1, "remove tags by ids counts the changed")
    check(await operator.remove_tags_from_binary_data_by_filter(["camera"], create_filter(component_name="cam-b")) == 2,
          "remove tags by filter counts the changed")
    check(await count(dc, create_filter(tags=["review"])) == 1, "one image keeps its review tag")
    await refused(viewer.add_tags_to_binary_data_by_ids(["x"], [ids[0]]), Status.PERMISSION_DENIED, "a viewer tagging")
    await refused(operator.add_tags_to_binary_data_by_ids(["x"], [theirs]), Status.NOT_FOUND, "tagging another organisation's data")
    await refused(operator.add_tags_to_binary_data_by_ids([], [ids[0]]), Status.INVALID_ARGUMENT, "tagging with no tag", "tag")

    # Deletion: owners only; payloads go with their rows.
    await refused(viewer.delete_binary_data_by_ids([ids[0]]), Status.PERMISSION_DENIED, "a viewer deleting", "owner")
    await refused(operator.delete_binary_data_by_filter(cam_a), Status.PERMISSION_DENIED, "an operator deleting")
    await refused(dc.delete_binary_data_by_ids([theirs]), Status.NOT_FOUND, "deleting another organisation's data")
    check(await dc.delete_binary_data_by_ids([ids[0], ids[1]]) == 2, "delete_binary_data_by_ids counts")
    await refused(dc.binary_data_by_ids([ids[0]]), Status.NOT_FOUND, "a deleted id")
    check(await dc.delete_binary_data_by_filter(create_filter(component_name="cam-b")) == 2, "delete_binary_data_by_filter counts")
    check(await count(dc, Filter()) == 4, "four left")
    if not POSTGRES:
        payloads = [f for _, _, files in os.walk(os.path.join(data, "binary", org)) for f in files]
        check(len(payloads) == 4, f"the deleted payload files are gone: {payloads}")
    check(await count(rival.data_client, Filter()) == 1, "the other organisation keeps its data")

    # Bounding boxes (a vision service's detections, uploaded with the image as a Ferry host does):
    # the SDK has no helper for annotated uploads, so its own DataSync stub sends them.
    for labels in (["ball", "cup"], ["ball"]):
        stamp = Timestamp(seconds=int(BASE.timestamp()))
        boxes = [BoundingBox(label=label, x_min_normalized=0.1, y_min_normalized=0.2, x_max_normalized=0.3, y_max_normalized=0.4)
                 for label in labels]
        await dc._data_sync_client.DataCaptureUpload(DataCaptureUploadRequest(
            metadata=UploadMetadata(part_id="part-0", component_type="rdk:component:camera", component_name="cam-v",
                                    method_name="ReadImage", type=DataType.DATA_TYPE_BINARY_SENSOR, file_extension=".jpg",
                                    mime_type="image/jpeg"),
            sensor_contents=[SensorData(metadata=SensorMetadata(time_requested=stamp, time_received=stamp,
                                                                annotations=Annotations(bboxes=boxes)), binary=b"jpeg")]),
            metadata=dc._metadata)
    check(await viewer.bounding_box_labels_by_filter() == ["ball", "cup"], "bounding_box_labels_by_filter lists each label once")
    check(await viewer.bounding_box_labels_by_filter(create_filter(organization_ids=[rival_org])) == [], "no labels of another organisation")
    check(await count(dc, create_filter(bbox_labels=["cup"])) == 1, "filter by a bounding box label")
    labelled, _, _ = await dc.binary_data_by_filter(create_filter(bbox_labels=["ball"]), include_binary_data=False)
    check(len(labelled) == 2 and all("ball" in [b.label for b in d.metadata.annotations.bboxes] for d in labelled),
          "images come back with their bounding boxes")
    check(await dc.delete_binary_data_by_filter(create_filter(component_name="cam-v")) == 2, "the labelled images are deleted")

    # delete_tabular_data: readings captured more than N days ago; 0 deletes the rest.
    now = datetime.now(timezone.utc)
    old = [(now - timedelta(days=40, minutes=i), now - timedelta(days=40, minutes=i) + timedelta(seconds=1)) for i in range(3)]
    recent = [(now - timedelta(minutes=i + 1), now - timedelta(minutes=i)) for i in range(2)]
    await dc.tabular_data_capture_upload(
        tabular_data=[{"readings": {"v": i}} for i in range(5)], part_id="part-0", component_type="rdk:component:sensor",
        component_name="thermo", method_name="Readings", data_request_times=old + recent)
    # tabular_data_by_filter pages to the end with `last`; get_latest_tabular_data finds the newest.
    thermo = create_filter(component_name="thermo")
    rows, last, pages = [], None, 0
    while pages < 10:
        page, n, last = await viewer.tabular_data_by_filter(thermo, limit=2, last=last, sort_order=Order.ORDER_ASCENDING)
        if not page:
            break
        pages += 1
        rows.extend(page)
    check([r.data["readings"]["v"] for r in rows] == [2, 1, 0, 4, 3] and pages == 3,
          f"tabular_data_by_filter pages to the end by time received: {[r.data for r in rows]} in {pages} pages")
    check(all(r.metadata.component_name == "thermo" and r.metadata.part_id == "part-0" and r.metadata.organization_id == org
              for r in rows), "each row has its capture metadata")
    check(rows[0].time_requested.replace(tzinfo=timezone.utc) < now - timedelta(days=39), "rows carry their capture time")
    _, n, _ = await viewer.tabular_data_by_filter(thermo, count_only=True)
    check(n == 5, f"tabular count_only: {n}")
    recent_only, _, _ = await viewer.tabular_data_by_filter(create_filter(component_name="thermo", start_time=now - timedelta(days=1)))
    check(sorted(r.data["readings"]["v"] for r in recent_only) == [3, 4], "tabular capture interval")
    none, _, _ = await viewer.tabular_data_by_filter(create_filter(organization_ids=[rival_org]))
    check(none == [], "tabular data of another organisation: none")
    await refused(viewer.tabular_data_by_filter(create_filter(bbox_labels=["ball"])), Status.INVALID_ARGUMENT,
                  "a bounding box label filter on readings", "bbox_labels")
    latest = await viewer.get_latest_tabular_data(
        part_id="part-0", resource_name="thermo", resource_api="rdk:component:sensor", method_name="Readings")
    check(latest is not None and latest[2] == {"readings": {"v": 3}}, f"get_latest_tabular_data: {latest}")
    missing = await viewer.get_latest_tabular_data(
        part_id="part-0", resource_name="nothing", resource_api="rdk:component:sensor", method_name="Readings")
    check(missing is None, "get_latest_tabular_data of a resource without readings: None")

    await refused(viewer.delete_tabular_data(org, 30), Status.PERMISSION_DENIED, "a viewer deleting tabular data")
    await refused(dc.delete_tabular_data(rival_org, 0), Status.PERMISSION_DENIED, "deleting another organisation's tabular data")
    check(await dc.delete_tabular_data(org, 30) == 3, "delete_tabular_data deletes readings older than 30 days")
    left = await dc.tabular_data_by_mql(organization_id=org, query=[{"$count": "n"}])
    check(left == [{"n": 2}], f"the recent readings stay: {left}")
    check(await dc.delete_tabular_data(org, 0) == 2, "delete_tabular_data with 0 days deletes the rest")

    # Pages with payloads stop before gRPC's default 4 MiB message limit; `last` goes on from there.
    big_org = ferry("org", "create", "big", data=data)
    big_client = await connect(port, *ferry("key", "create", "--org", big_org, "--role", "owner", data=data).split())
    big = big_client.data_client
    payloads = [bytes([i]) * (1_500_000 + i) for i in range(5)]
    for i, payload in enumerate(payloads):
        await big.binary_data_capture_upload(
            binary_data=payload, part_id="part-0", component_type="rdk:component:camera", component_name="cam",
            method_name="ReadImage", file_extension=".bin", data_request_times=(BASE + timedelta(minutes=i), BASE + timedelta(minutes=i)))
    sizes, last = [], None
    while True:
        page, listed, last = await big.binary_data_by_filter(None, limit=10, last=last, include_binary_data=True,
                                                              sort_order=Order.ORDER_ASCENDING)
        if not page:
            break
        check(listed == len(page) and sum(len(d.binary) for d in page) <= 4 * 1024 * 1024,
              f"a page with payloads stays under 4 MiB: {[len(d.binary) for d in page]}")
        sizes.append([len(d.binary) for d in page])
    check(sizes == [[1_500_000, 1_500_001], [1_500_002, 1_500_003], [1_500_004]],
          f"paging with payloads continues after each capped page, every payload once, in order: {sizes}")
    metadata_only, listed, _ = await big.binary_data_by_filter(None, limit=10, include_binary_data=False)
    check(listed == 5 and len(metadata_only) == 5, "without payloads, the page is not capped")
    big_client.close()

    for client in (owner, rival, operator_client, viewer_client):
        client.close()


run(main)
