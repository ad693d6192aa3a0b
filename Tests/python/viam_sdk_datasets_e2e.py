"""Datasets through the published Viam Python SDK (viam-sdk 0.85.1, unmodified) against the real
`ferry serve` over TLS: create_dataset, list_datasets_by_organization_id, list_dataset_by_ids,
rename_dataset, merge_datasets, delete_dataset, add_binary_data_to_dataset_by_ids,
remove_binary_data_from_dataset_by_ids, uploads' dataset_ids, binary_data_by_filter with
create_filter(dataset_id=...), and BinaryMetadata.dataset_ids; duplicate names, roles and another
organisation's ids; then the same store through `ferry data dataset …`.

Run by the Swift test suite (EndToEndTests/ViamSDKTests.swift):
    python3 Tests/python/viam_sdk_datasets_e2e.py /path/to/ferry
Exits 0 when every check passes; prints what failed otherwise."""

import json
import subprocess
import sys
from datetime import datetime, timezone

try:
    from grpclib import Status
    from viam.utils import create_filter
except ImportError:
    print("viam-sdk is not installed: pip install viam-sdk==0.85.1 (CI's .ci/run does)")
    sys.exit(2)

from ferry_e2e import FERRY, check, connect, ferry, refused, run

BASE = datetime(2024, 3, 1, 12, 0, tzinfo=timezone.utc)


async def members(client, dataset_id):
    """The binary data ids in the dataset, by binary_data_by_filter with create_filter(dataset_id=…), every page."""
    ids, last = [], None
    while True:
        page, _, last = await client.binary_data_by_filter(
            create_filter(dataset_id=dataset_id), limit=2, last=last, include_binary_data=False)
        if not page:
            return sorted(ids)
        ids += [d.metadata.binary_data_id for d in page]


async def main(data, port, metrics_port):
    org = ferry("org", "create", "acme", data=data)
    rival_org = ferry("org", "create", "rival", data=data)
    keys = {role: ferry("key", "create", "--org", org, "--role", role, data=data).split() for role in ("owner", "operator", "viewer")}
    rival_id, rival_key = ferry("key", "create", "--org", rival_org, "--role", "owner", data=data).split()
    owner_client, operator_client, viewer_client = [await connect(port, *keys[r]) for r in ("owner", "operator", "viewer")]
    rival_client = await connect(port, rival_id, rival_key)
    dc, operator, viewer, rival = (owner_client.data_client, operator_client.data_client, viewer_client.data_client,
                                   rival_client.data_client)

    # Datasets are created by operators and owners, named uniquely per organisation.
    cats = await operator.create_dataset("cats", org)
    dogs = await dc.create_dataset("dogs", org)
    theirs = await rival.create_dataset("cats", rival_org)
    check(len({cats, dogs, theirs}) == 3, "create_dataset returns new ids (the same name in another organisation is another dataset)")
    await refused(operator.create_dataset("cats", org), Status.ALREADY_EXISTS, "a duplicate name",
                  'already has a dataset named "cats"')
    await refused(operator.create_dataset("two words", org), Status.INVALID_ARGUMENT, "a name with a space", "letters, digits")
    await refused(viewer.create_dataset("birds", org), Status.PERMISSION_DENIED, "a viewer creating a dataset", "operator")
    await refused(operator.create_dataset("birds", rival_org), Status.PERMISSION_DENIED, "creating in another organisation")

    listed = await viewer.list_datasets_by_organization_id(org)
    check([(d.id, d.name, d.organization_id) for d in listed] == [(cats, "cats", org), (dogs, "dogs", org)],
          f"list_datasets_by_organization_id, oldest first: {[(d.name, d.id) for d in listed]}")
    check(all(d.time_created.seconds > 1_700_000_000 for d in listed), "each dataset has its creation time")
    by_ids = await viewer.list_dataset_by_ids([dogs, cats])
    check([d.name for d in by_ids] == ["dogs", "cats"], f"list_dataset_by_ids in the order asked: {[d.name for d in by_ids]}")
    await refused(viewer.list_dataset_by_ids([cats, theirs]), Status.NOT_FOUND, "listing another organisation's dataset", theirs)
    await refused(viewer.list_datasets_by_organization_id(rival_org), Status.PERMISSION_DENIED, "listing another organisation")

    # Uploads name their datasets (only the organisation's own are joined).
    jpeg = await dc.binary_data_capture_upload(
        binary_data=b"jpeg", part_id="part-0", component_type="rdk:component:camera", component_name="cam",
        method_name="ReadImage", file_extension=".jpg", mime_type="image/jpeg", data_request_times=(BASE, BASE),
        dataset_ids=[cats, theirs])
    png = await dc.binary_data_capture_upload(
        binary_data=b"png", part_id="part-0", component_type="rdk:component:camera", component_name="cam",
        method_name="ReadImage", file_extension=".png", mime_type="image/png", data_request_times=(BASE, BASE))
    notes = await dc.file_upload(part_id="part-0", data=b"notes", file_name="notes.txt", dataset_ids=[dogs])
    secret = await rival.file_upload(part_id="p", data=b"secret", file_name="secret.jpg", dataset_ids=[theirs])
    check(await members(viewer, cats) == [jpeg], "an upload's dataset_ids put it in the dataset")
    check(await members(viewer, dogs) == [notes], "file_upload's dataset_ids too")
    check(await members(rival, theirs) == [secret], "another organisation's dataset never takes our upload")
    [meta] = await viewer.binary_data_by_ids([jpeg])
    check(list(meta.metadata.dataset_ids) == [cats], f"BinaryMetadata.dataset_ids: {list(meta.metadata.dataset_ids)}")

    # Adding and removing by id.
    await operator.add_binary_data_to_dataset_by_ids([png, notes], cats)
    await dc.add_binary_data_to_dataset_by_ids([png], cats)  # again: nothing changes
    check(await members(viewer, cats) == sorted([jpeg, png, notes]), "add_binary_data_to_dataset_by_ids (every page of the filter)")
    [meta] = await viewer.binary_data_by_ids([notes])
    check(sorted(meta.metadata.dataset_ids) == sorted([cats, dogs]), "a payload in two datasets lists both")
    _, count, _ = await viewer.binary_data_by_filter(create_filter(dataset_id=cats, mime_type=["image/png"]), count_only=True)
    check(count == 1, f"the dataset filter combines with the others: {count}")
    _, count, _ = await viewer.binary_data_by_filter(create_filter(dataset_id=theirs), count_only=True)
    check(count == 0, "filtering by another organisation's dataset matches nothing")
    await refused(viewer.add_binary_data_to_dataset_by_ids([png], dogs), Status.PERMISSION_DENIED, "a viewer adding")
    await refused(operator.add_binary_data_to_dataset_by_ids([secret], cats), Status.NOT_FOUND,
                  "adding another organisation's binary data", secret)
    await refused(operator.add_binary_data_to_dataset_by_ids([png], theirs), Status.NOT_FOUND,
                  "adding to another organisation's dataset", theirs)
    await refused(rival.remove_binary_data_from_dataset_by_ids([png], cats), Status.NOT_FOUND,
                  "another organisation removing from our dataset")
    await operator.remove_binary_data_from_dataset_by_ids([png], cats)
    check(await members(viewer, cats) == sorted([jpeg, notes]), "remove_binary_data_from_dataset_by_ids")
    await refused(viewer.remove_binary_data_from_dataset_by_ids([jpeg], cats), Status.PERMISSION_DENIED, "a viewer removing")

    # Tags by the dataset filter: the existing filter path honours it.
    await operator.add_tags_to_binary_data_by_filter(["curated"], create_filter(dataset_id=cats))
    tagged, _, _ = await viewer.binary_data_by_filter(create_filter(tags=["curated"]), include_binary_data=False)
    check(sorted(d.metadata.binary_data_id for d in tagged) == sorted([jpeg, notes]), "tags added by the dataset filter")

    # Renaming, merging, deleting.
    await operator.rename_dataset(cats, "felines")
    await refused(operator.rename_dataset(dogs, "felines"), Status.ALREADY_EXISTS, "renaming to a taken name", "felines")
    await refused(rival.rename_dataset(cats, "mine"), Status.NOT_FOUND, "renaming another organisation's dataset")
    await refused(viewer.rename_dataset(cats, "x"), Status.PERMISSION_DENIED, "a viewer renaming")
    merged = await operator.merge_datasets("everything", org, [cats, dogs])
    check(await members(viewer, merged) == sorted([jpeg, notes]), "merge_datasets makes a dataset of the union")
    await refused(operator.merge_datasets("mixed", org, [cats, theirs]), Status.NOT_FOUND, "merging another organisation's dataset")
    names = sorted(d.name for d in await viewer.list_datasets_by_organization_id(org))
    check(names == ["dogs", "everything", "felines"], f"names after rename and merge: {names}")

    await refused(viewer.delete_dataset(dogs), Status.PERMISSION_DENIED, "a viewer deleting a dataset")
    await refused(rival.delete_dataset(dogs), Status.NOT_FOUND, "deleting another organisation's dataset")
    await operator.delete_dataset(cats)
    await refused(viewer.list_dataset_by_ids([cats]), Status.NOT_FOUND, "a deleted dataset is gone")
    _, count, _ = await viewer.binary_data_by_filter(None, count_only=True)
    check(count == 3, f"deleting a dataset keeps its binary data: {count}")
    [meta] = await viewer.binary_data_by_ids([notes])
    check(sorted(meta.metadata.dataset_ids) == sorted([dogs, merged]), "and only its memberships go")
    await dc.delete_binary_data_by_ids([notes])
    check(await members(viewer, dogs) == [], "deleting binary data takes it out of its datasets")

    # The CLI reads the same store directly.
    cli = ferry("data", "dataset", "list", "--org-id", org, "--json", data=data).splitlines()
    check(sorted(json.loads(line)["name"] for line in cli) == ["dogs", "everything"], f"ferry data dataset list: {cli}")
    birds = ferry("data", "dataset", "create", "--org-id", org, "--name", "birds", data=data)
    ferry("data", "dataset", "add", "--org-id", org, "--dataset-id", birds, "--binary-data-ids", f"{jpeg},{png}", data=data)
    check(await members(viewer, birds) == sorted([jpeg, png]), "ferry data dataset create and add, seen through the SDK")
    ferry("data", "dataset", "remove", "--org-id", org, "--dataset-id", birds, "--binary-data-ids", png, data=data)
    ferry("data", "dataset", "rename", "--org-id", org, "--dataset-id", birds, "--name", "avians", data=data)
    check([(d.name, d.id) for d in await viewer.list_dataset_by_ids([birds])] == [("avians", birds)]
          and await members(viewer, birds) == [jpeg], "ferry data dataset remove and rename")
    duplicate = subprocess.run([FERRY, "data", "dataset", "create", "--org-id", org, "--name", "dogs", "--data", data],
                               capture_output=True, text=True)
    check(duplicate.returncode != 0 and 'already has a dataset named "dogs"' in duplicate.stderr,
          f"the CLI refuses a duplicate name: {duplicate.stderr.strip()}")
    foreign = subprocess.run([FERRY, "data", "dataset", "delete", "--org-id", org, "--dataset-id", theirs, "--data", data],
                             capture_output=True, text=True)
    check(foreign.returncode != 0 and f"has no dataset {theirs}" in foreign.stderr,
          f"the CLI does not reach another organisation's dataset: {foreign.stderr.strip()}")
    ferry("data", "dataset", "delete", "--org-id", org, "--dataset-id", birds, data=data)
    check(birds not in [d.id for d in await viewer.list_datasets_by_organization_id(org)], "ferry data dataset delete")

    for client in (owner_client, operator_client, viewer_client, rival_client):
        client.close()


run(main)
