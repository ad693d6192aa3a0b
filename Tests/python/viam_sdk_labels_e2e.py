"""Labelling images with bounding boxes through the published Viam Python SDK (viam-sdk 0.85.1,
unmodified) against the real `ferry serve` over TLS: add_bounding_box_to_image_by_id,
update_bounding_box, remove_bounding_box_from_image_by_id; the boxes as binary_data_by_ids,
bounding_box_labels_by_filter and the bbox_labels filter see them; invalid boxes, roles and another
organisation's ids.

Run by the Swift test suite (EndToEndTests/ViamSDKTests.swift):
    python3 Tests/python/viam_sdk_labels_e2e.py /path/to/ferry
Exits 0 when every check passes; prints what failed otherwise."""

import sys
from datetime import datetime, timezone

try:
    from grpclib import Status
    from google.protobuf.timestamp_pb2 import Timestamp
    from viam.proto.app.data import Annotations, BoundingBox, UpdateBoundingBoxRequest
    from viam.proto.app.datasync import DataCaptureUploadRequest, DataType, SensorData, SensorMetadata, UploadMetadata
    from viam.utils import create_filter
except ImportError:
    print("viam-sdk is not installed: pip install viam-sdk==0.85.1 (CI's .ci/run does)")
    sys.exit(2)

from ferry_e2e import check, connect, ferry, refused, run

BASE = datetime(2024, 3, 1, 12, 0, tzinfo=timezone.utc)


async def boxes(client, binary_id):
    [data] = await client.binary_data_by_ids([binary_id])
    return list(data.metadata.annotations.bboxes)


async def main(data, port, metrics_port):
    org = ferry("org", "create", "acme", data=data)
    rival_org = ferry("org", "create", "rival", data=data)
    keys = {role: ferry("key", "create", "--org", org, "--role", role, data=data).split() for role in ("owner", "operator", "viewer")}
    rival_id, rival_key = ferry("key", "create", "--org", rival_org, "--role", "owner", data=data).split()
    owner_client, operator_client, viewer_client = [await connect(port, *keys[r]) for r in ("owner", "operator", "viewer")]
    rival_client = await connect(port, rival_id, rival_key)
    dc, operator, viewer = owner_client.data_client, operator_client.data_client, viewer_client.data_client

    # One image captured with a box already (its annotations travel with the upload), one without.
    stamp = Timestamp()
    stamp.FromDatetime(BASE)
    response = await dc._data_sync_client.DataCaptureUpload(DataCaptureUploadRequest(
        metadata=UploadMetadata(part_id="part-0", component_type="rdk:component:camera", component_name="cam",
                                method_name="ReadImage", type=DataType.DATA_TYPE_BINARY_SENSOR, file_extension=".jpg",
                                mime_type="image/jpeg"),
        sensor_contents=[SensorData(metadata=SensorMetadata(
            time_requested=stamp, time_received=stamp, annotations=Annotations(bboxes=[BoundingBox(
                id="captured", label="ball", x_min_normalized=0.1, y_min_normalized=0.1, x_max_normalized=0.2,
                y_max_normalized=0.2)])), binary=b"jpeg")]),
        metadata=dc._metadata)
    captured = response.binary_data_id
    plain = await dc.binary_data_capture_upload(
        binary_data=b"png", part_id="part-0", component_type="rdk:component:camera", component_name="cam",
        method_name="ReadImage", file_extension=".png", mime_type="image/png", data_request_times=(BASE, BASE))
    theirs = await rival_client.data_client.file_upload(part_id="p", data=b"secret", file_name="secret.jpg")
    check(bool(captured) and bool(plain), "two images uploaded")

    cup = await operator.add_bounding_box_to_image_by_id(captured, "cup", 0.25, 0.5, 0.75, 1.0, confidence_score=0.8)
    dog = await operator.add_bounding_box_to_image_by_id(plain, "dog", 0.0, 0.0, 0.5, 0.5)
    check(bool(cup) and bool(dog) and cup != dog, f"add_bounding_box_to_image_by_id returns new ids: {cup}, {dog}")
    got = await boxes(viewer, captured)
    check([(b.id, b.label) for b in got] == [("captured", "ball"), (cup, "cup")], f"the box joins the captured one: {got}")
    check((got[1].x_min_normalized, got[1].y_min_normalized, got[1].x_max_normalized, got[1].y_max_normalized) == (0.25, 0.5, 0.75, 1.0)
          and got[1].HasField("confidence") and got[1].confidence == 0.8, "its coordinates and confidence as given")
    check(await viewer.bounding_box_labels_by_filter() == ["ball", "cup", "dog"], "bounding_box_labels_by_filter sees the new labels")
    labelled, n, _ = await viewer.binary_data_by_filter(create_filter(bbox_labels=["dog"]), include_binary_data=False)
    check(n == 1 and labelled[0].metadata.binary_data_id == plain, "the bbox_labels filter finds an image by a label added later")

    await operator.update_bounding_box(captured, cup, "mug", 0.2, 0.4, 0.6, 0.9)
    got = await boxes(viewer, captured)
    check((got[1].id, got[1].label, got[1].x_min_normalized, got[1].y_max_normalized) == (cup, "mug", 0.2, 0.9),
          f"update_bounding_box changes the box in place: {got[1]}")
    # Fields an update leaves unset keep their values (the request's fields are optional).
    await operator._data_client.UpdateBoundingBox(
        UpdateBoundingBoxRequest(binary_data_id=plain, bbox_id=dog, label="puppy"), metadata=operator._metadata)
    [puppy] = await boxes(viewer, plain)
    check((puppy.label, puppy.x_max_normalized, puppy.y_max_normalized) == ("puppy", 0.5, 0.5), f"a partial update: {puppy}")
    check(await viewer.bounding_box_labels_by_filter() == ["ball", "mug", "puppy"], "labels follow the updates")

    await refused(operator.add_bounding_box_to_image_by_id(plain, "x", 0.5, 0.0, 1.2, 0.5), Status.INVALID_ARGUMENT,
                  "a coordinate above 1", "x_max_normalized is 1.2")
    await refused(operator.add_bounding_box_to_image_by_id(plain, "x", 0.6, 0.0, 0.4, 0.5), Status.INVALID_ARGUMENT,
                  "x_min above x_max", "x_min_normalized (0.6) must be less than x_max_normalized (0.4)")
    await refused(operator.update_bounding_box(plain, dog, "x", 0.0, 0.7, 0.5, 0.3), Status.INVALID_ARGUMENT,
                  "an update with y_min above y_max", "y_min_normalized")
    await refused(operator.add_bounding_box_to_image_by_id(plain, "", 0.0, 0.0, 0.5, 0.5), Status.INVALID_ARGUMENT,
                  "an empty label", "label")
    await refused(viewer.add_bounding_box_to_image_by_id(plain, "x", 0.0, 0.0, 0.5, 0.5), Status.PERMISSION_DENIED, "a viewer labelling")
    await refused(viewer.remove_bounding_box_from_image_by_id(dog, plain), Status.PERMISSION_DENIED, "a viewer removing a box")
    await refused(operator.add_bounding_box_to_image_by_id(theirs, "x", 0.0, 0.0, 0.5, 0.5), Status.NOT_FOUND,
                  "labelling another organisation's image", theirs)
    await refused(rival_client.data_client.remove_bounding_box_from_image_by_id(dog, plain), Status.NOT_FOUND,
                  "another organisation removing our box")
    await refused(operator.update_bounding_box(plain, "no-such-box", "x", 0.0, 0.0, 0.5, 0.5), Status.NOT_FOUND,
                  "updating an unknown box", "no-such-box")
    check([b.label for b in await boxes(viewer, plain)] == ["puppy"], "refused calls changed nothing")

    await dc.remove_bounding_box_from_image_by_id(cup, captured)
    await operator.remove_bounding_box_from_image_by_id(dog, plain)
    check([b.id for b in await boxes(viewer, captured)] == ["captured"] and await boxes(viewer, plain) == [],
          "remove_bounding_box_from_image_by_id removes only that box")
    await refused(operator.remove_bounding_box_from_image_by_id(dog, plain), Status.NOT_FOUND, "removing a removed box")
    check(await viewer.bounding_box_labels_by_filter() == ["ball"], "the removed labels are gone")

    for client in (owner_client, operator_client, viewer_client, rival_client):
        client.close()


run(main)
