"""Saved queries against the real `ferry serve` over TLS, with the published Viam Python SDK
(viam-sdk 0.85.1, unmodified). Its DataClient has no saved-query methods, so Create/Update/Get/
Delete/ListSavedQueries go through the generated DataServiceStub the SDK ships, on the client's
channel with its credentials; tabular_data_by_mql(..., query_prefix_name=...) goes through the SDK.
Checks names unique per organisation, invalid MQL, roles, another organisation's ids, and that the
saved stages run before the caller's.

Run by the Swift test suite (EndToEndTests/ViamSDKTests.swift):
    python3 Tests/python/viam_sdk_saved_queries_e2e.py /path/to/ferry
Exits 0 when every check passes; prints what failed otherwise."""

import sys
from datetime import datetime, timedelta, timezone

try:
    import bson
    from grpclib import Status
    from viam.gen.app.data.v1.data_grpc import DataServiceStub
    from viam.proto.app.data import (CreateSavedQueryRequest, DeleteSavedQueryRequest, GetSavedQueryRequest,
                                     ListSavedQueriesRequest, UpdateSavedQueryRequest)
except ImportError:
    print("viam-sdk is not installed: pip install viam-sdk==0.85.1 (CI's .ci/run does)")
    sys.exit(2)

from ferry_e2e import check, connect, ferry, refused, run


class SavedQueries:
    """The saved-query RPCs through the SDK's generated stub, as the SDK's DataClient calls its others."""

    def __init__(self, client):
        self.stub = DataServiceStub(client._channel)
        self.metadata = client.data_client._metadata

    async def create(self, org, name, stages):
        response = await self.stub.CreateSavedQuery(
            CreateSavedQueryRequest(organization_id=org, name=name, mql_binary=[bson.encode(s) for s in stages]), metadata=self.metadata)
        return response.id

    async def update(self, id, name, stages):
        await self.stub.UpdateSavedQuery(
            UpdateSavedQueryRequest(id=id, name=name, mql_binary=[bson.encode(s) for s in stages]), metadata=self.metadata)

    async def get(self, id):
        return (await self.stub.GetSavedQuery(GetSavedQueryRequest(id=id), metadata=self.metadata)).saved_query

    async def delete(self, id):
        await self.stub.DeleteSavedQuery(DeleteSavedQueryRequest(id=id), metadata=self.metadata)

    async def list(self, org, limit=0):
        return list((await self.stub.ListSavedQueries(ListSavedQueriesRequest(organization_id=org, limit=limit), metadata=self.metadata)).queries)


async def main(data, port, _metrics):
    org = ferry("org", "create", "acme", data=data)
    rival_org = ferry("org", "create", "rival", data=data)
    keys = {role: ferry("key", "create", "--org", org, "--role", role, data=data).split() for role in ("owner", "operator", "viewer")}
    rival_keys = ferry("key", "create", "--org", rival_org, "--role", "owner", data=data).split()
    owner_client, operator_client, viewer_client = [await connect(port, *keys[r]) for r in ("owner", "operator", "viewer")]
    rival_client = await connect(port, *rival_keys)
    operator, viewer, rival = SavedQueries(operator_client), SavedQueries(viewer_client), SavedQueries(rival_client)
    dc = owner_client.data_client

    now = datetime.now(timezone.utc) - timedelta(minutes=10)
    for component, offset in (("thermo", 0), ("hygro", 100)):
        await dc.tabular_data_capture_upload(
            tabular_data=[{"readings": {"v": offset + i}} for i in range(10)], part_id="part-1",
            component_type="rdk:component:sensor", component_name=component, method_name="Readings",
            data_request_times=[(now + timedelta(seconds=i), now + timedelta(seconds=i)) for i in range(10)])

    thermo = [{"$match": {"component_name": "thermo"}}, {"$match": {"data.readings.v": {"$gte": 5}}}]
    first = await operator.create(org, "thermo high", thermo)
    second = await operator.create(org, "count", [{"$count": "n"}])
    theirs = await rival.create(rival_org, "thermo high", [{"$limit": 1}])
    check(len({first, second, theirs}) == 3, "CreateSavedQuery returns new ids (the same name in another organisation is another query)")

    got = await viewer.get(first)
    check(got.id == first and got.organization_id == org and got.name == "thermo high"
          and [bson.decode(b) for b in got.mql_binary] == thermo, f"GetSavedQuery returns the stages as saved: {got}")
    check(got.created_on.seconds > 1_700_000_000 and got.updated_at == got.created_on, "with its creation and update times")
    listed = await viewer.list(org)
    check([q.name for q in listed] == ["thermo high", "count"], f"ListSavedQueries, oldest first: {[q.name for q in listed]}")
    check([q.name for q in await viewer.list(org, limit=1)] == ["thermo high"], "ListSavedQueries honours limit")

    # query_prefix_name: the saved stages run first, then the caller's.
    rows = await viewer_client.data_client.tabular_data_by_mql(
        org, [{"$sort": {"data.readings.v": 1}}, {"$project": {"_id": 0, "v": "$data.readings.v"}}], query_prefix_name="thermo high")
    check([r["v"] for r in rows] == [5, 6, 7, 8, 9], f"tabular_data_by_mql with query_prefix_name: {rows}")
    counted = await viewer_client.data_client.tabular_data_by_mql(org, [{"$match": {"component_name": "thermo"}}], query_prefix_name="count")
    check(counted == [], f"the caller's stages run after the prefix (a $match on $count's output): {counted}")
    counted = await viewer_client.data_client.tabular_data_by_mql(org, [{"$project": {"n": 1, "_id": 0}}], query_prefix_name="count")
    check(counted == [{"n": 20}], f"the prefix alone decides what the caller's stages see: {counted}")
    await refused(viewer_client.data_client.tabular_data_by_mql(org, [{"$limit": 1}], query_prefix_name="nope"), Status.NOT_FOUND,
                  "an unknown query_prefix_name", 'no saved query named "nope"')

    # Updating: a new name and new stages, the same id; the old name is free.
    await operator.update(first, "thermo low", [{"$match": {"component_name": "thermo", "data.readings.v": {"$lt": 2}}}])
    rows = await viewer_client.data_client.tabular_data_by_mql(org, [{"$project": {"_id": 0, "v": "$data.readings.v"}}],
                                                                query_prefix_name="thermo low")
    check(sorted(r["v"] for r in rows) == [0, 1], f"an updated query runs its new stages: {rows}")
    got = await viewer.get(first)
    check(got.name == "thermo low" and got.updated_at.seconds >= got.created_on.seconds, "UpdateSavedQuery renames and keeps the id")
    await refused(viewer_client.data_client.tabular_data_by_mql(org, [{"$limit": 1}], query_prefix_name="thermo high"),
                  Status.NOT_FOUND, "the old name after a rename")

    # Refusals.
    await refused(operator.create(org, "count", [{"$limit": 1}]), Status.ALREADY_EXISTS, "a duplicate name", 'saved query named "count"')
    await refused(operator.update(second, "thermo low", [{"$limit": 1}]), Status.ALREADY_EXISTS, "renaming to a taken name")
    await refused(operator.create(org, "bad", [{"$nosuchstage": 1}]), Status.INVALID_ARGUMENT, "invalid MQL", "invalid MQL pipeline")
    await refused(operator.create(org, "", [{"$limit": 1}]), Status.INVALID_ARGUMENT, "an empty name", "1 to 100 characters")
    await refused(operator.create(org, "empty", []), Status.INVALID_ARGUMENT, "no stages", "at least one MQL stage")
    await refused(viewer.create(org, "mine", [{"$limit": 1}]), Status.PERMISSION_DENIED, "a viewer saving", "operator")
    await refused(viewer.delete(first), Status.PERMISSION_DENIED, "a viewer deleting", "operator")
    await refused(operator.create(rival_org, "x", [{"$limit": 1}]), Status.PERMISSION_DENIED, "saving in another organisation")
    await refused(viewer.list(rival_org), Status.PERMISSION_DENIED, "listing another organisation")
    await refused(viewer.get(theirs), Status.NOT_FOUND, "reading another organisation's query", theirs)
    await refused(operator.update(theirs, "mine", [{"$limit": 1}]), Status.NOT_FOUND, "updating another organisation's query")
    await refused(operator.delete(theirs), Status.NOT_FOUND, "deleting another organisation's query")
    await refused(viewer_client.data_client.tabular_data_by_mql(org, [{"$limit": 1}], query_prefix_name="thermo high"),
                  Status.NOT_FOUND, "another organisation's query name is not ours")

    await operator.delete(second)
    await refused(viewer.get(second), Status.NOT_FOUND, "a deleted query is gone")
    check([q.id for q in await viewer.list(org)] == [first], "DeleteSavedQuery")
    check([q.id for q in await rival.list(rival_org)] == [theirs], "another organisation's queries stay")

    for client in (owner_client, operator_client, viewer_client, rival_client):
        client.close()


run(main)
