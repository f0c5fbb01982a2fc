"""Tracking sets through the official SDK (issue 3): CreateAuditTrack, CreateEventsAuditTrack,
DescribeAuditTrack, DescribeAuditTracks, ModifyAuditTrack, ModifyEventsAuditTrack, DeleteAuditTrack,
InquireAuditCredit, the region helpers (ListCosEnableRegion, ListCmqEnableRegion, ListKeyAliasByRegion),
roles, quotas, organizations (TrackForAllMembers), every validation rule and error code of
docs/contract.md "Tracking sets and delivery", the regions file (`--regions`) and tccli.

The server under test (`track_env`) has regions ap-guangzhou, ap-shanghai and ap-nanjing on a moto S3
server, ap-beijing on a closed port, and the built-in `local`."""

import json
import os
import re
import time
import uuid
from datetime import datetime, timezone

import pytest

import deliverysupport as D
import s3server as S3
from deliverysupport import call, expect_code
from support import (
    DEFAULT_ACCOUNT_ID,
    ServerStartError,
    expect_error,
    lookup_all,
    poll,
    record_of,
    run_tccli,
    uid,
)

IPV = "InvalidParameterValue"


def _mk(tenant, bucket, **kw):
    return D.track_params(bucket=bucket, **kw)


def _create(tenant, bucket, **kw):
    return D.create_track(tenant.admin, bucket=bucket, **kw)


# ---- create / describe


def test_create_and_describe_audit_track(track_tenant, bucket):
    p = _mk(track_tenant, bucket, action_type="Write", resource_type="cvm",
            event_names=["RunInstances", "TerminateInstances"], prefix="trail01", compress=2)
    t0 = int(time.time())
    r = call(track_tenant.admin, "CreateAuditTrack", p)
    tid = r["TrackId"]
    assert isinstance(tid, int) and tid > 0 and r.get("RequestId")
    d = D.describe_track(track_tenant.admin, tid)
    assert d["Name"] == p["Name"]
    assert d["ActionType"] == "Write"
    assert d["ResourceType"] == "cvm"
    assert d["Status"] == 1
    assert d["EventNames"] == ["RunInstances", "TerminateInstances"]
    st = d["Storage"]
    assert (st["StorageType"], st["StorageRegion"], st["StorageName"], st["StoragePrefix"], st["Compress"]) == (
        "cos", "ap-guangzhou", bucket, "trail01", 2)
    assert d["TrackForAllMembers"] == 0
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", d["CreateTime"]), d["CreateTime"]
    created = datetime.strptime(d["CreateTime"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=timezone.utc).timestamp()
    assert t0 - 120 <= created <= time.time() + 120, "CreateTime must be UTC: %s (now %s)" % (
        d["CreateTime"], datetime.now(timezone.utc))
    assert d["Filters"] == {"ResourceFields": [
        {"ResourceType": "cvm", "ActionType": "Write", "EventNames": ["RunInstances", "TerminateInstances"]}]}


def test_compress_defaults_to_gzip(track_tenant, bucket):
    tid = _create(track_tenant, bucket)
    assert D.describe_track(track_tenant.admin, tid)["Storage"]["Compress"] == 1


def test_create_events_audit_track_multi_product(track_tenant, bucket):
    fields = [("cvm", "Write", ["RunInstances", "TerminateInstances"]), ("cos", "*", ["*"]), ("*", "Read", ["*"])]
    p = D.events_track_params(fields, bucket=bucket)
    tid = call(track_tenant.admin, "CreateEventsAuditTrack", p)["TrackId"]
    d = D.describe_track(track_tenant.admin, tid)
    # the single-product fields come from the first filter; Filters holds them all, in order
    assert (d["ResourceType"], d["ActionType"], d["EventNames"]) == ("cvm", "Write", ["RunInstances", "TerminateInstances"])
    assert d["Filters"]["ResourceFields"] == p["Filters"]["ResourceFields"]
    assert d["Name"] == p["Name"] and d["Status"] == 1 and d["Storage"]["StorageName"] == bucket


def test_describe_audit_tracks_pages_in_track_id_order(track_tenant, bucket):
    tids = [_create(track_tenant, bucket) for _ in range(3)]
    tids.append(D.create_events_track(track_tenant.admin, [("cvm", "*", ["*"])], bucket=bucket))
    assert tids == sorted(tids), "TrackIds are increasing integers: %s" % tids
    p1 = call(track_tenant.admin, "DescribeAuditTracks", {"PageNumber": 1, "PageSize": 3})
    p2 = call(track_tenant.admin, "DescribeAuditTracks", {"PageNumber": 2, "PageSize": 3})
    p3 = call(track_tenant.admin, "DescribeAuditTracks", {"PageNumber": 3, "PageSize": 3})
    assert p1["TotalCount"] == p2["TotalCount"] == p3["TotalCount"] == 4
    assert [t["TrackId"] for t in p1["Tracks"]] == tids[:3]
    assert [t["TrackId"] for t in p2["Tracks"]] == tids[3:]
    assert (p3.get("Tracks") or []) == []
    one = p1["Tracks"][0]
    for f in ("Name", "ActionType", "ResourceType", "Status", "EventNames", "Storage", "CreateTime", "TrackId"):
        assert f in one, "Tracks entry lacks %s: %r" % (f, one)
    assert one["Storage"]["StorageName"] == bucket
    allp = call(track_tenant.admin, "DescribeAuditTracks", {"PageNumber": 1, "PageSize": 100})
    assert [t["TrackId"] for t in allp["Tracks"]] == tids


@pytest.mark.parametrize("page", [
    {"PageNumber": 0, "PageSize": 10},
    {"PageNumber": 1, "PageSize": 0},
    {"PageNumber": 1, "PageSize": 101},
])
def test_describe_audit_tracks_page_bounds(track_tenant, page):
    expect_code((IPV, "InvalidParameter"), call, track_tenant.admin, "DescribeAuditTracks", page)


def test_describe_audit_tracks_page_size_100_is_allowed(track_tenant):
    r = call(track_tenant.admin, "DescribeAuditTracks", {"PageNumber": 1, "PageSize": 100})
    assert r["TotalCount"] == 0 and (r.get("Tracks") or []) == []


# ---- modify


def test_modify_audit_track_changes_given_fields(track_tenant, bucket, s3):
    p = _mk(track_tenant, bucket, action_type="Write", resource_type="cvm", event_names=["RunInstances"])
    tid = call(track_tenant.admin, "CreateAuditTrack", p)["TrackId"]
    before = D.describe_track(track_tenant.admin, tid)
    # nothing but the id: nothing changes
    call(track_tenant.admin, "ModifyAuditTrack", {"TrackId": tid})
    assert D.describe_track(track_tenant.admin, tid)["ActionType"] == "Write"
    # the Name may be sent unchanged
    call(track_tenant.admin, "ModifyAuditTrack", {"TrackId": tid, "Name": p["Name"], "ActionType": "Read"})
    d = D.describe_track(track_tenant.admin, tid)
    assert (d["Name"], d["ActionType"], d["ResourceType"], d["EventNames"]) == (p["Name"], "Read", "cvm", ["RunInstances"])
    call(track_tenant.admin, "ModifyAuditTrack", {"TrackId": tid, "ResourceType": "*", "EventNames": ["*"],
                                                  "ActionType": "*"})
    d = D.describe_track(track_tenant.admin, tid)
    assert (d["ActionType"], d["ResourceType"], d["EventNames"]) == ("*", "*", ["*"])
    assert d["Filters"]["ResourceFields"] == [{"ResourceType": "*", "ActionType": "*", "EventNames": ["*"]}]
    other = S3.create_bucket(s3, S3.new_bucket_name())
    call(track_tenant.admin, "ModifyAuditTrack", {"TrackId": tid, "Storage": D.storage("ap-guangzhou", other, "newpfx", 2)})
    st = D.describe_track(track_tenant.admin, tid)["Storage"]
    assert (st["StorageName"], st["StoragePrefix"], st["Compress"]) == (other, "newpfx", 2)
    call(track_tenant.admin, "ModifyAuditTrack", {"TrackId": tid, "Status": 0})
    assert D.describe_track(track_tenant.admin, tid)["Status"] == 0
    call(track_tenant.admin, "ModifyAuditTrack", {"TrackId": tid, "Status": 1})
    d = D.describe_track(track_tenant.admin, tid)
    assert d["Status"] == 1 and d["CreateTime"] == before["CreateTime"]


def test_modify_rejects_rename(track_tenant, bucket):
    tid = _create(track_tenant, bucket)
    name = D.describe_track(track_tenant.admin, tid)["Name"]
    for action in ("ModifyAuditTrack", "ModifyEventsAuditTrack"):
        expect_error("InvalidParameterValue.AuditTrackNameNotSupportModify", call, track_tenant.admin, action,
                     {"TrackId": tid, "Name": name + "x"})
    assert D.describe_track(track_tenant.admin, tid)["Name"] == name


def test_modify_events_audit_track(track_tenant, bucket):
    tid = D.create_events_track(track_tenant.admin, [("cvm", "Write", ["RunInstances"])], bucket=bucket)
    new = {"ResourceFields": [{"ResourceType": "cos", "ActionType": "Read", "EventNames": ["GetObject"]},
                              {"ResourceType": "cvm", "ActionType": "*", "EventNames": ["*"]}]}
    call(track_tenant.admin, "ModifyEventsAuditTrack", {"TrackId": tid, "Filters": new})
    d = D.describe_track(track_tenant.admin, tid)
    assert d["Filters"] == new
    assert (d["ResourceType"], d["ActionType"], d["EventNames"]) == ("cos", "Read", ["GetObject"])
    call(track_tenant.admin, "ModifyEventsAuditTrack", {"TrackId": tid, "Status": 0})
    assert D.describe_track(track_tenant.admin, tid)["Status"] == 0
    expect_code((IPV, "MissingParameter"), call, track_tenant.admin, "ModifyEventsAuditTrack",
                {"TrackId": tid, "Filters": {"ResourceFields": []}})
    expect_error(IPV, call, track_tenant.admin, "ModifyEventsAuditTrack", {"TrackId": tid, "Filters": {
        "ResourceFields": [{"ResourceType": "cvm", "ActionType": "Bad", "EventNames": ["*"]}]}})
    assert D.describe_track(track_tenant.admin, tid)["Filters"] == new


@pytest.mark.parametrize("change,code", [
    ({"ActionType": "Delete"}, IPV),
    ({"Status": 3}, IPV),
    ({"EventNames": ["*", "RunInstances"]}, IPV),
    ({"ResourceType": "x" * 129}, IPV),
    ({"Storage": {"StorageType": "cos", "StorageRegion": "ap-mars", "StorageName": "abc", "StoragePrefix": "pfx"}},
     "InvalidParameterValue.CosRegionError"),
    ({"Storage": {"StorageType": "cos", "StorageRegion": "ap-guangzhou", "StorageName": "Bad_Name",
                  "StoragePrefix": "pfx"}}, "InvalidParameterValue.CosNameError"),
    ({"Storage": {"StorageType": "cos", "StorageRegion": "ap-guangzhou", "StorageName": "no-such-bucket-zz9",
                  "StoragePrefix": "pfx"}}, "ResourceNotFound.CosNotExist"),
])
def test_modify_applies_the_same_rules(track_tenant, bucket, change, code):
    tid = _create(track_tenant, bucket, action_type="Write", resource_type="cvm", event_names=["RunInstances"])
    before = D.describe_track(track_tenant.admin, tid)
    params = {"TrackId": tid}
    params.update(change)
    expect_error(code, call, track_tenant.admin, "ModifyAuditTrack", params)
    after = D.describe_track(track_tenant.admin, tid)
    assert after == dict(before, RequestId=after["RequestId"]), "a refused modification changed the set"


def test_modify_result_must_be_consistent(track_tenant, bucket):
    """Rules apply to the resulting set: ResourceType `*` with specific names is refused."""
    tid = _create(track_tenant, bucket, action_type="Write", resource_type="cvm", event_names=["RunInstances"])
    expect_error(IPV, call, track_tenant.admin, "ModifyAuditTrack", {"TrackId": tid, "ResourceType": "*"})


# ---- delete, unknown and foreign ids


def test_delete_audit_track(track_tenant, bucket):
    keep = _create(track_tenant, bucket)
    tid = _create(track_tenant, bucket)
    credit = call(track_tenant.admin, "InquireAuditCredit")["AuditAmount"]
    r = call(track_tenant.admin, "DeleteAuditTrack", {"TrackId": tid})
    assert r.get("RequestId")
    expect_error("ResourceNotFound", D.describe_track, track_tenant.admin, tid)
    expect_error("ResourceNotFound", call, track_tenant.admin, "DeleteAuditTrack", {"TrackId": tid})
    assert [t["TrackId"] for t in D.all_tracks(track_tenant.admin)] == [keep]
    assert call(track_tenant.admin, "InquireAuditCredit")["AuditAmount"] == credit + 1


@pytest.mark.parametrize("action,extra", [
    ("DescribeAuditTrack", {}),
    ("DeleteAuditTrack", {}),
    ("ModifyAuditTrack", {"Status": 0}),
    ("ModifyEventsAuditTrack", {"Status": 0}),
])
def test_unknown_track_id(track_tenant, action, extra):
    params = {"TrackId": 987654321098}
    params.update(extra)
    expect_error("ResourceNotFound", call, track_tenant.admin, action, params)


def test_another_accounts_track_is_invisible(track_tenant, track_tenant2, bucket):
    tid = _create(track_tenant, bucket)
    mine = D.describe_track(track_tenant.admin, tid)
    other = track_tenant2.admin
    expect_error("ResourceNotFound", call, other, "DescribeAuditTrack", {"TrackId": tid})
    expect_error("ResourceNotFound", call, other, "ModifyAuditTrack", {"TrackId": tid, "Status": 0})
    expect_error("ResourceNotFound", call, other, "ModifyEventsAuditTrack", {"TrackId": tid, "Status": 0})
    expect_error("ResourceNotFound", call, other, "DeleteAuditTrack", {"TrackId": tid})
    assert D.all_tracks(other) == []
    assert call(other, "DescribeAuditTracks", {"PageNumber": 1, "PageSize": 10})["TotalCount"] == 0
    again = D.describe_track(track_tenant.admin, tid)
    assert again["Status"] == mine["Status"] == 1
    # names are unique per account, not per deployment; ids are deployment-wide
    tid2 = D.create_track(other, bucket=bucket, name=mine["Name"])
    assert tid2 != tid


# ---- quota


def test_inquire_audit_credit_and_quota(track_tenant, bucket):
    admin = track_tenant.admin
    assert call(admin, "InquireAuditCredit")["AuditAmount"] == 5  # default --track-quota
    tids = [_create(track_tenant, bucket) for _ in range(3)]
    assert call(admin, "InquireAuditCredit")["AuditAmount"] == 2
    tids.append(D.create_events_track(admin, [("cvm", "*", ["*"])], bucket=bucket))
    call(admin, "CreateAudit", D.audit_params(bucket=bucket))
    assert call(admin, "InquireAuditCredit")["AuditAmount"] == 0
    expect_error("LimitExceeded.OverAmount", call, admin, "CreateAuditTrack", D.track_params(bucket=bucket))
    expect_error("LimitExceeded.OverAmount", call, admin, "CreateEventsAuditTrack",
                 D.events_track_params([("cvm", "*", ["*"])], bucket=bucket))
    expect_error("LimitExceeded.OverAmount", call, admin, "CreateAudit", D.audit_params(bucket=bucket))
    call(admin, "DeleteAuditTrack", {"TrackId": tids[0]})
    assert call(admin, "InquireAuditCredit")["AuditAmount"] == 1
    _create(track_tenant, bucket)
    assert call(admin, "InquireAuditCredit")["AuditAmount"] == 0


def test_track_quota_flag_and_env(spawn_server):
    by_env = spawn_server(env={"CLOUDAUDIT_TRACK_QUOTA": "2"}).start()
    assert call(by_env.root(), "InquireAuditCredit")["AuditAmount"] == 2
    by_flag = spawn_server(extra_args=["--track-quota", "3"]).start()
    root = by_flag.root()
    assert call(root, "InquireAuditCredit")["AuditAmount"] == 3
    for _ in range(3):
        D.create_track(root, region="local", bucket=S3.new_bucket_name())
    assert call(root, "InquireAuditCredit")["AuditAmount"] == 0
    expect_error("LimitExceeded.OverAmount", D.create_track, root, region="local", bucket=S3.new_bucket_name())


# ---- roles


def test_auditor_reads_but_cannot_write(track_tenant, bucket):
    tid = _create(track_tenant, bucket)
    auditor = track_tenant.key("auditor")
    assert D.describe_track(auditor, tid)["Name"]
    assert call(auditor, "DescribeAuditTracks", {"PageNumber": 1, "PageSize": 10})["TotalCount"] == 1
    assert call(auditor, "InquireAuditCredit")["AuditAmount"] == 4
    call(auditor, "ListCosEnableRegion", {"WebsiteType": "en"})
    call(auditor, "ListCmqEnableRegion", {"WebsiteType": "en"})
    call(auditor, "ListKeyAliasByRegion", {"KmsRegion": "ap-guangzhou"})
    denied = "AuthFailure.UnauthorizedOperation"
    expect_error(denied, call, auditor, "CreateAuditTrack", D.track_params(bucket=bucket))
    expect_error(denied, call, auditor, "CreateEventsAuditTrack",
                 D.events_track_params([("cvm", "*", ["*"])], bucket=bucket))
    expect_error(denied, call, auditor, "ModifyAuditTrack", {"TrackId": tid, "Status": 0})
    expect_error(denied, call, auditor, "ModifyEventsAuditTrack", {"TrackId": tid, "Status": 0})
    expect_error(denied, call, auditor, "DeleteAuditTrack", {"TrackId": tid})
    assert D.describe_track(track_tenant.admin, tid)["Status"] == 1


def test_ingest_key_cannot_use_track_actions(track_tenant, bucket):
    tid = _create(track_tenant, bucket)
    ingest = track_tenant.key("ingest")
    denied = "AuthFailure.UnauthorizedOperation"
    expect_error(denied, call, ingest, "DescribeAuditTrack", {"TrackId": tid})
    expect_error(denied, call, ingest, "DescribeAuditTracks", {"PageNumber": 1, "PageSize": 10})
    expect_error(denied, call, ingest, "InquireAuditCredit")
    expect_error(denied, call, ingest, "CreateAuditTrack", D.track_params(bucket=bucket))
    expect_error(denied, call, ingest, "DeleteAuditTrack", {"TrackId": tid})


# ---- validation (CreateAuditTrack / CreateEventsAuditTrack)


def _storage_with(bucket, **over):
    st = D.storage("ap-guangzhou", bucket, "cloudaudit")
    st.update(over)
    return st


CREATE_CASES = [
    ("name-too-short", lambda b: {"Name": "ab"}, IPV),
    ("name-too-long", lambda b: {"Name": "n" * 49}, IPV),
    ("name-space", lambda b: {"Name": "bad name"}, IPV),
    ("name-dot", lambda b: {"Name": "bad.name"}, IPV),
    ("name-non-ascii", lambda b: {"Name": "审计跟踪集"}, IPV),
    ("status-2", lambda b: {"Status": 2}, IPV),
    ("action-lowercase", lambda b: {"ActionType": "read"}, IPV),
    ("action-other", lambda b: {"ActionType": "All"}, IPV),
    ("resource-type-empty", lambda b: {"ResourceType": ""}, (IPV, "MissingParameter")),
    ("resource-type-129", lambda b: {"ResourceType": "r" * 129}, IPV),
    ("event-names-empty", lambda b: {"EventNames": []}, (IPV, "MissingParameter")),
    ("event-names-11", lambda b: {"ResourceType": "cvm", "EventNames": ["E%d" % i for i in range(11)]}, IPV),
    ("event-name-empty", lambda b: {"ResourceType": "cvm", "EventNames": [""]}, IPV),
    ("event-name-129", lambda b: {"ResourceType": "cvm", "EventNames": ["e" * 129]}, IPV),
    ("all-resources-need-all-names", lambda b: {"ResourceType": "*", "EventNames": ["RunInstances"]}, IPV),
    ("star-mixed-with-names", lambda b: {"ResourceType": "cvm", "EventNames": ["*", "RunInstances"]}, IPV),
    ("storage-cls", lambda b: {"Storage": _storage_with(b, StorageType="cls")}, IPV),
    ("storage-ckafka", lambda b: {"Storage": _storage_with(b, StorageType="ckafka")}, IPV),
    ("storage-other", lambda b: {"Storage": _storage_with(b, StorageType="s3")}, IPV),
    ("region-unknown", lambda b: {"Storage": _storage_with(b, StorageRegion="ap-mars")},
     "InvalidParameterValue.CosRegionError"),
    ("bucket-upper", lambda b: {"Storage": _storage_with(b, StorageName="Bucket1")}, "InvalidParameterValue.CosNameError"),
    ("bucket-leading-dash", lambda b: {"Storage": _storage_with(b, StorageName="-" + b)},
     "InvalidParameterValue.CosNameError"),
    ("bucket-trailing-dash", lambda b: {"Storage": _storage_with(b, StorageName=b + "-")},
     "InvalidParameterValue.CosNameError"),
    ("bucket-underscore", lambda b: {"Storage": _storage_with(b, StorageName="a_b")}, "InvalidParameterValue.CosNameError"),
    ("bucket-dot", lambda b: {"Storage": _storage_with(b, StorageName="a.b")}, "InvalidParameterValue.CosNameError"),
    ("bucket-51", lambda b: {"Storage": _storage_with(b, StorageName="b" * 51)}, "InvalidParameterValue.CosNameError"),
    ("bucket-empty", lambda b: {"Storage": _storage_with(b, StorageName="")},
     ("InvalidParameterValue.CosNameError", "MissingParameter")),
    ("prefix-2", lambda b: {"Storage": _storage_with(b, StoragePrefix="ab")}, "InvalidParameterValue.LogFilePrefixError"),
    ("prefix-41", lambda b: {"Storage": _storage_with(b, StoragePrefix="p" * 41)},
     "InvalidParameterValue.LogFilePrefixError"),
    ("prefix-dash", lambda b: {"Storage": _storage_with(b, StoragePrefix="ab-cd")},
     "InvalidParameterValue.LogFilePrefixError"),
    ("prefix-slash", lambda b: {"Storage": _storage_with(b, StoragePrefix="ab/cd")},
     "InvalidParameterValue.LogFilePrefixError"),
    ("prefix-underscore", lambda b: {"Storage": _storage_with(b, StoragePrefix="ab_cd")},
     "InvalidParameterValue.LogFilePrefixError"),
    ("compress-0", lambda b: {"Storage": _storage_with(b, Compress=0)}, IPV),
    ("compress-3", lambda b: {"Storage": _storage_with(b, Compress=3)}, IPV),
    ("app-id-letters", lambda b: {"Storage": _storage_with(b, StorageAppId="12ab")}, IPV),
    ("bucket-missing", lambda b: {"Storage": _storage_with(b, StorageName=b + "-gone")}, "ResourceNotFound.CosNotExist"),
    ("store-unreachable", lambda b: {"Storage": _storage_with(b, StorageRegion="ap-beijing")},
     "FailedOperation.CheckCosBucketIsExistFailed"),
    ("all-members-without-members", lambda b: {"TrackForAllMembers": 1}, "UnauthorizedOperation"),
]


@pytest.mark.parametrize("case,change,code", CREATE_CASES, ids=[c[0] for c in CREATE_CASES])
def test_create_audit_track_validation(track_tenant, bucket, case, change, code):
    params = D.track_params(bucket=bucket, action_type="*", resource_type="cvm", event_names=["RunInstances"])
    params.update(change(bucket))
    expect_code(code, call, track_tenant.admin, "CreateAuditTrack", params)
    assert D.all_tracks(track_tenant.admin) == [], "a refused CreateAuditTrack left a set behind"
    assert call(track_tenant.admin, "InquireAuditCredit")["AuditAmount"] == 5


EVENTS_CASES = [
    ("fields-empty", lambda b: {"ResourceFields": []}, (IPV, "MissingParameter")),
    ("fields-21", lambda b: {"ResourceFields": [
        {"ResourceType": "p%d" % i, "ActionType": "*", "EventNames": ["*"]} for i in range(21)]}, IPV),
    ("field-action", lambda b: {"ResourceFields": [
        {"ResourceType": "cvm", "ActionType": "Both", "EventNames": ["*"]}]}, IPV),
    ("field-all-resources-with-names", lambda b: {"ResourceFields": [
        {"ResourceType": "*", "ActionType": "*", "EventNames": ["RunInstances"]}]}, IPV),
    ("field-names-11", lambda b: {"ResourceFields": [
        {"ResourceType": "cvm", "ActionType": "*", "EventNames": ["E%d" % i for i in range(11)]}]}, IPV),
    ("field-star-mixed", lambda b: {"ResourceFields": [
        {"ResourceType": "cvm", "ActionType": "*", "EventNames": ["RunInstances"]},
        {"ResourceType": "cos", "ActionType": "*", "EventNames": ["*", "GetObject"]}]}, IPV),
    ("field-resource-129", lambda b: {"ResourceFields": [
        {"ResourceType": "r" * 129, "ActionType": "*", "EventNames": ["*"]}]}, IPV),
]


@pytest.mark.parametrize("case,filters,code", EVENTS_CASES, ids=[c[0] for c in EVENTS_CASES])
def test_create_events_audit_track_validation(track_tenant, bucket, case, filters, code):
    params = D.events_track_params([("cvm", "*", ["*"])], bucket=bucket)
    params["Filters"] = filters(bucket)
    expect_code(code, call, track_tenant.admin, "CreateEventsAuditTrack", params)
    assert D.all_tracks(track_tenant.admin) == []


def test_create_events_audit_track_storage_rules(track_tenant, bucket):
    base = D.events_track_params([("cvm", "*", ["*"])], bucket=bucket)
    for over, code in [({"StorageRegion": "ap-mars"}, "InvalidParameterValue.CosRegionError"),
                       ({"StorageName": "UPPER"}, "InvalidParameterValue.CosNameError"),
                       ({"StoragePrefix": "x"}, "InvalidParameterValue.LogFilePrefixError"),
                       ({"StorageType": "cls"}, IPV),
                       ({"StorageName": bucket + "-nope"}, "ResourceNotFound.CosNotExist")]:
        p = dict(base, Storage=_storage_with(bucket, **over))
        expect_error(code, call, track_tenant.admin, "CreateEventsAuditTrack", p)
    expect_error(IPV, call, track_tenant.admin, "CreateEventsAuditTrack", dict(base, Name="x!"))
    expect_error("UnauthorizedOperation", call, track_tenant.admin, "CreateEventsAuditTrack",
                 dict(base, TrackForAllMembers=1))
    assert D.all_tracks(track_tenant.admin) == []


def test_missing_required_parameters(track_tenant, bucket):
    full = D.track_params(bucket=bucket)
    for field in ("Name", "Storage"):
        p = {k: v for k, v in full.items() if k != field}
        expect_code(("MissingParameter", "InvalidParameter"), call, track_tenant.admin, "CreateAuditTrack", p,
                    common=True)
    expect_code(("MissingParameter", "InvalidParameter"), call, track_tenant.admin, "DescribeAuditTrack", {},
                common=True)
    assert D.all_tracks(track_tenant.admin) == []


def test_duplicate_name_in_one_account(track_tenant, bucket):
    name = D.track_name()
    _create(track_tenant, bucket, name=name)
    e = expect_error(IPV, D.create_track, track_tenant.admin, bucket=bucket, name=name)
    assert "exist" in e.message.lower(), "the message should say the name already exists: %s" % e.message
    e = expect_error(IPV, D.create_events_track, track_tenant.admin, [("cvm", "*", ["*"])], bucket=bucket, name=name)
    assert len(D.all_tracks(track_tenant.admin)) == 1


def test_boundary_values_are_accepted(track_tenant, s3):
    long_bucket = S3.create_bucket(s3, ("b" + uuid.uuid4().hex * 2)[:50])
    cases = [
        dict(name="abc", bucket=long_bucket),
        dict(name="N_-" + "x" * 45, bucket=long_bucket, prefix="p" * 40),
        dict(bucket=long_bucket, prefix="Ab1", resource_type="r" * 128, event_names=["e" * 128]),
        dict(bucket=long_bucket, resource_type="cvm", event_names=["E%d" % i for i in range(10)], action_type="Read"),
        dict(bucket=long_bucket, status=0, compress=1),
    ]
    for kw in cases:
        tid = D.create_track(track_tenant.admin, **kw)
        d = D.describe_track(track_tenant.admin, tid)
        if "name" in kw:
            assert d["Name"] == kw["name"]
        if "event_names" in kw:
            assert d["EventNames"] == kw["event_names"]
        call(track_tenant.admin, "DeleteAuditTrack", {"TrackId": tid})
    fields = [("p%d" % i, "*", ["*"]) for i in range(20)]
    tid = D.create_events_track(track_tenant.admin, fields, bucket=long_bucket)
    assert len(D.describe_track(track_tenant.admin, tid)["Filters"]["ResourceFields"]) == 20


def test_storage_app_id_names_the_cos_bucket(track_tenant, s3):
    name = S3.new_bucket_name()
    S3.create_bucket(s3, name + "-1250000000")
    p = D.track_params(bucket=name)
    p["Storage"]["StorageAppId"] = "1250000000"
    tid = call(track_tenant.admin, "CreateAuditTrack", p)["TrackId"]
    st = D.describe_track(track_tenant.admin, tid)["Storage"]
    assert st["StorageName"] == name and st["StorageAppId"] == "1250000000"
    # only "<name>" exists, not "<name>-<appid>"
    plain = S3.create_bucket(s3, S3.new_bucket_name())
    p = D.track_params(bucket=plain)
    p["Storage"]["StorageAppId"] = "1250000001"
    expect_error("ResourceNotFound.CosNotExist", call, track_tenant.admin, "CreateAuditTrack", p)


def test_storage_account_id(track_tenant, bucket):
    p = D.track_params(bucket=bucket)
    p["Storage"]["StorageAccountId"] = str(track_tenant.account_id)
    tid = call(track_tenant.admin, "CreateAuditTrack", p)["TrackId"]
    assert D.describe_track(track_tenant.admin, tid)["Storage"]["StorageName"] == bucket
    p = D.track_params(bucket=bucket)
    p["Storage"]["StorageAccountId"] = ""
    call(track_tenant.admin, "CreateAuditTrack", p)
    p = D.track_params(bucket=bucket)
    p["Storage"]["StorageAccountId"] = str(DEFAULT_ACCOUNT_ID)  # another account
    expect_code((IPV, "UnauthorizedOperation", "InvalidParameter"), call, track_tenant.admin, "CreateAuditTrack", p)


def test_store_refusing_requests_is_check_failed(spawn_server, make_proxy, moto, s3, tmp_path):
    """An object store that answers 503 (refusing) -> FailedOperation.CheckCosBucketIsExistFailed."""
    b = S3.create_bucket(s3, S3.new_bucket_name())  # it exists; the store just refuses to say so
    proxy = make_proxy(moto.port)
    proxy.set_mode("503")
    regions = D.write_regions(tmp_path / "regions.json", [D.s3_region("ap-guangzhou", proxy.url)])
    srv = spawn_server(extra_args=["--regions", regions, "--delivery-interval", "1"], env=D.s3_env()).start()
    expect_error("FailedOperation.CheckCosBucketIsExistFailed", D.create_track, srv.root(), bucket=b)


def test_local_region_creates_the_bucket_folder(track_tenant, track_server):
    b = S3.new_bucket_name()
    folder = os.path.join(track_server.data_dir, "buckets", b)
    assert not os.path.exists(folder)
    tid = D.create_track(track_tenant.admin, region="local", bucket=b)
    assert os.path.isdir(folder), "creating a set in `local` creates <data-dir>/buckets/<bucket>/"
    assert D.describe_track(track_tenant.admin, tid)["Storage"]["StorageRegion"] == "local"


# ---- organizations


def test_member_accounts_and_track_for_all_members(track_server, new_track_tenant, bucket):
    mgmt = new_track_tenant()
    member = D.create_member_account(track_server, mgmt.account_id)
    listed = {a["AccountId"]: a for a in D.list_accounts(track_server)}
    assert listed[member["AccountId"]].get("MemberOf") == mgmt.account_id
    assert not listed[mgmt.account_id].get("MemberOf")
    tid = D.create_track(mgmt.admin, bucket=bucket, TrackForAllMembers=1)
    assert D.describe_track(mgmt.admin, tid)["TrackForAllMembers"] == 1
    tid2 = D.create_events_track(mgmt.admin, [("cvm", "*", ["*"])], bucket=bucket, TrackForAllMembers=1)
    assert D.describe_track(mgmt.admin, tid2)["TrackForAllMembers"] == 1
    call(mgmt.admin, "ModifyAuditTrack", {"TrackId": tid, "TrackForAllMembers": 0})
    assert D.describe_track(mgmt.admin, tid)["TrackForAllMembers"] == 0
    # a member account has no members of its own
    member_admin = track_server.create_key(member["AccountId"], "admin")
    expect_error("UnauthorizedOperation", D.create_track, member_admin, bucket=bucket, TrackForAllMembers=1)


def test_track_for_all_members_needs_members_on_modify(track_tenant, bucket):
    tid = _create(track_tenant, bucket)
    expect_error("UnauthorizedOperation", call, track_tenant.admin, "ModifyAuditTrack",
                 {"TrackId": tid, "TrackForAllMembers": 1})
    expect_error("UnauthorizedOperation", call, track_tenant.admin, "ModifyEventsAuditTrack",
                 {"TrackId": tid, "TrackForAllMembers": 1})
    assert D.describe_track(track_tenant.admin, tid)["TrackForAllMembers"] == 0


def test_member_of_unknown_account_is_refused(track_server):
    p = track_server.cli("accounts", "create", "--name", uid("orphan"), "--member-of", "999999999999", check=False)
    assert p.returncode != 0, "accounts create --member-of <unknown> must fail: %s" % p.stdout_text


# ---- region helpers


def test_list_cos_enable_region(track_tenant):
    zh = call(track_tenant.admin, "ListCosEnableRegion", {"WebsiteType": "zh"})["EnableRegions"]
    en = call(track_tenant.admin, "ListCosEnableRegion", {"WebsiteType": "en"})["EnableRegions"]
    dflt = call(track_tenant.admin, "ListCosEnableRegion")["EnableRegions"]
    names = {"ap-guangzhou", "ap-shanghai", "ap-nanjing", "ap-beijing", "local"}
    for lst in (zh, en, dflt):
        assert {r["CosRegion"] for r in lst} == names, lst
        assert all(r["CosRegionName"] for r in lst), lst
    assert {r["CosRegion"]: r["CosRegionName"] for r in zh}["ap-guangzhou"] == "华南地区（广州）"
    assert {r["CosRegion"]: r["CosRegionName"] for r in en}["ap-guangzhou"] == "South China (Guangzhou)"
    assert {r["CosRegion"]: r["CosRegionName"] for r in en}["ap-shanghai"] == "East China (Shanghai)"


def test_list_cmq_enable_region(track_tenant):
    zh = call(track_tenant.admin, "ListCmqEnableRegion", {"WebsiteType": "zh"})["EnableRegions"]
    en = call(track_tenant.admin, "ListCmqEnableRegion", {"WebsiteType": "en"})["EnableRegions"]
    assert {r["CmqRegion"] for r in zh} == {r["CmqRegion"] for r in en} == {"ap-guangzhou", "ap-nanjing"}, (zh, en)
    assert {r["CmqRegion"]: r["CmqRegionName"] for r in zh}["ap-nanjing"] == "华东地区（南京）"
    assert {r["CmqRegion"]: r["CmqRegionName"] for r in en}["ap-nanjing"] == "East China (Nanjing)"


def test_list_key_alias_by_region(track_tenant):
    for region in ("ap-guangzhou", "local"):
        r = call(track_tenant.admin, "ListKeyAliasByRegion", {"KmsRegion": region})
        assert r["TotalCount"] == 0 and (r.get("KeyMetadatas") or []) == []
    r = call(track_tenant.admin, "ListKeyAliasByRegion", {"KmsRegion": "ap-guangzhou", "Limit": 200, "Offset": 0})
    assert r["TotalCount"] == 0
    call(track_tenant.admin, "ListKeyAliasByRegion", {"KmsRegion": "ap-guangzhou", "Limit": 1, "Offset": 5})
    expect_error("InvalidParameterValue.KmsRegionError", call, track_tenant.admin, "ListKeyAliasByRegion",
                 {"KmsRegion": "ap-mars"})
    for bad in ({"Limit": 0}, {"Limit": 201}, {"Offset": -1}):
        p = {"KmsRegion": "ap-guangzhou"}
        p.update(bad)
        expect_code((IPV, "InvalidParameter"), call, track_tenant.admin, "ListKeyAliasByRegion", p)
    expect_code(("MissingParameter", "InvalidParameter", "InvalidParameterValue.KmsRegionError"), call,
                track_tenant.admin, "ListKeyAliasByRegion", {}, common=True)


# ---- self-audit of the new actions


def test_track_actions_are_self_audited(track_tenant, bucket):
    admin = track_tenant.admin
    tid = _create(track_tenant, bucket)
    call(admin, "DescribeAuditTracks", {"PageNumber": 1, "PageSize": 10})
    call(admin, "InquireAuditCredit")
    want = {"CreateAuditTrack": "Write", "DescribeAuditTracks": "Read", "InquireAuditCredit": "Read"}

    def found():
        evs = lookup_all(admin, [("EventSource", "cloudaudit.api")])
        got = {}
        for e in evs:
            if e["EventName"] in want:
                got[e["EventName"]] = record_of(e)
        return got if set(got) == set(want) else None

    got = poll(found, timeout=10, interval=0.5)
    assert got, "self-audit events of the track actions did not appear"
    for name, at in want.items():
        assert got[name]["actionType"] == at and got[name]["resourceType"] == "cloudaudit", got[name]
    params = got["CreateAuditTrack"]["requestParameters"]
    if isinstance(params, str):  # "the call's parameters as JSON": an object or its JSON text
        params = json.loads(params)
    assert params["Storage"]["StorageName"] == bucket
    assert tid


# ---- tccli


def _tccli_json(p):
    assert p.returncode == 0, "tccli exited %s\nstdout: %s\nstderr: %s" % (
        p.returncode, p.stdout.decode(errors="replace")[-2000:], p.stderr.decode(errors="replace")[-2000:])
    return json.loads(p.stdout)


def test_tccli_track_actions(track_tenant, bucket, tmp_path):
    srv, key = track_tenant.server, track_tenant.admin
    name = D.track_name("cli")
    st = json.dumps(D.storage("ap-guangzhou", bucket, "clipfx", 2))
    out = _tccli_json(run_tccli(srv, key, tmp_path, [
        "CreateAuditTrack", "--Name", name, "--Status", "1", "--Storage", st, "--ActionType", "Write",
        "--ResourceType", "cvm", "--EventNames", json.dumps(["RunInstances"])]))
    tid = out["TrackId"]
    d = _tccli_json(run_tccli(srv, key, tmp_path, ["DescribeAuditTrack", "--TrackId", str(tid)]))
    assert d["Name"] == name and d["Storage"]["StoragePrefix"] == "clipfx" and d["EventNames"] == ["RunInstances"]
    fields = json.dumps({"ResourceFields": [{"ResourceType": "cos", "ActionType": "*", "EventNames": ["*"]}]})
    _tccli_json(run_tccli(srv, key, tmp_path, ["ModifyEventsAuditTrack", "--TrackId", str(tid), "--Filters", fields]))
    lst = _tccli_json(run_tccli(srv, key, tmp_path, ["DescribeAuditTracks", "--PageNumber", "1", "--PageSize", "10"]))
    assert [t["TrackId"] for t in lst["Tracks"]] == [tid] and lst["TotalCount"] == 1
    assert lst["Tracks"][0]["ResourceType"] == "cos"
    credit = _tccli_json(run_tccli(srv, key, tmp_path, ["InquireAuditCredit"]))
    assert credit["AuditAmount"] == 4
    regions = _tccli_json(run_tccli(srv, key, tmp_path, ["ListCosEnableRegion", "--WebsiteType", "en"]))
    assert "local" in {r["CosRegion"] for r in regions["EnableRegions"]}
    _tccli_json(run_tccli(srv, key, tmp_path, ["DeleteAuditTrack", "--TrackId", str(tid)]))
    p = run_tccli(srv, key, tmp_path, ["DescribeAuditTrack", "--TrackId", str(tid)])
    assert p.returncode != 0 and b"ResourceNotFound" in p.stdout + p.stderr


def test_tccli_reports_track_errors(track_tenant, bucket, tmp_path):
    st = json.dumps(D.storage("ap-guangzhou", bucket, "x", 1))
    p = run_tccli(track_tenant.server, track_tenant.admin, tmp_path, [
        "CreateAuditTrack", "--Name", D.track_name(), "--Status", "1", "--Storage", st, "--ActionType", "*",
        "--ResourceType", "*", "--EventNames", '["*"]'])
    assert p.returncode != 0 and b"InvalidParameterValue.LogFilePrefixError" in p.stdout + p.stderr


# ---- the regions file


def _regions_server(spawn_server, tmp_path, regions, env=None, via_env=False, raw=None):
    path = tmp_path / ("regions-%s.json" % uid("r"))
    if raw is not None:
        path.write_text(raw)
    else:
        D.write_regions(path, regions)
    if via_env:
        e = dict(env or {})
        e["CLOUDAUDIT_REGIONS_FILE"] = str(path)
        return spawn_server(env=e)
    return spawn_server(extra_args=["--regions", str(path)], env=env)


def _refused(srv):
    with pytest.raises(ServerStartError):
        srv.start()
    return srv.log_text()


def test_regions_file_by_env_and_local_entry(spawn_server, tmp_path, moto, make_hook):
    hook = make_hook()
    regions = [
        D.s3_region("eu-test-1", moto.url, zh="测试", en="Test Region"),
        {"name": "local", "zh": "本机", "en": "This machine",
         "notifications": [{"name": "local-hook", "url": hook.url("/l"), "secretEnv": "LOCAL_HOOK"}]},
    ]
    srv = _regions_server(spawn_server, tmp_path, regions, env=D.s3_env(LOCAL_HOOK="s3cr3t-local"), via_env=True)
    srv.start()
    en = {r["CosRegion"]: r["CosRegionName"] for r in
          call(srv.root(), "ListCosEnableRegion", {"WebsiteType": "en"})["EnableRegions"]}
    assert en == {"eu-test-1": "Test Region", "local": "This machine"}
    cmq = {r["CmqRegion"] for r in call(srv.root(), "ListCmqEnableRegion", {"WebsiteType": "en"})["EnableRegions"]}
    assert cmq == {"local"}


def test_regions_file_malformed_json_refused(spawn_server, tmp_path):
    _refused(_regions_server(spawn_server, tmp_path, None, raw='{"regions": [ {"name": "ap-x", '))


def test_regions_file_wrong_shape_refused(spawn_server, tmp_path):
    _refused(_regions_server(spawn_server, tmp_path, None, raw='{"regions": "ap-guangzhou"}'))


def test_regions_missing_credentials_env_refused(spawn_server, tmp_path, moto):
    log = _refused(_regions_server(spawn_server, tmp_path, [
        D.s3_region("ap-envless", moto.url, creds_env=("NO_SUCH_ID_VAR_X", "NO_SUCH_KEY_VAR_X"))]))
    assert "ap-envless" in log, "the refusal must name the region:\n%s" % log[-2000:]
    assert "NO_SUCH_ID_VAR_X" in log or "accessKeyIdEnv" in log, "the refusal must name the field:\n%s" % log[-2000:]


def test_regions_credentials_file_must_be_owner_only(spawn_server, tmp_path, moto):
    secret = "SuperSecretValue" + uid("s")
    f = D.write_secret_file(tmp_path / "creds.json", json.dumps({"AccessKeyId": "AKIAX", "SecretAccessKey": secret}),
                            mode=0o644)
    log = _refused(_regions_server(spawn_server, tmp_path, [D.s3_region("ap-openfile", moto.url, creds_file=f)]))
    assert "ap-openfile" in log, log[-2000:]
    assert secret not in log, "the refusal must never print the secret"


def test_regions_notification_secret_file_must_be_owner_only(spawn_server, tmp_path, moto):
    secret = "HookSecret" + uid("s")
    f = D.write_secret_file(tmp_path / "hook.secret", secret, mode=0o640)
    log = _refused(_regions_server(spawn_server, tmp_path, [D.s3_region(
        "ap-hookfile", moto.url, notifications=[{"name": "q1", "url": "http://127.0.0.1:9/x", "secretFile": f}])],
        env=D.s3_env()))
    assert "ap-hookfile" in log, log[-2000:]
    assert secret not in log


def test_regions_notification_secret_env_missing_refused(spawn_server, tmp_path, moto):
    log = _refused(_regions_server(spawn_server, tmp_path, [D.s3_region(
        "ap-hookenv", moto.url,
        notifications=[{"name": "q1", "url": "http://127.0.0.1:9/x", "secretEnv": "NO_SUCH_HOOK_SECRET_VAR"}])],
        env=D.s3_env()))
    assert "ap-hookenv" in log and ("NO_SUCH_HOOK_SECRET_VAR" in log or "secretEnv" in log), log[-2000:]


def test_regions_owner_only_files_are_accepted(spawn_server, tmp_path, moto, s3):
    creds = D.write_secret_file(tmp_path / "ok.json", json.dumps(
        {"AccessKeyId": S3.S3_ACCESS_KEY, "SecretAccessKey": S3.S3_SECRET_KEY}))
    hook_secret = D.write_secret_file(tmp_path / "ok.secret", "hook-secret-ok")
    srv = _regions_server(spawn_server, tmp_path, [D.s3_region(
        "ap-files", moto.url, creds_file=creds,
        notifications=[{"name": "q1", "url": "http://127.0.0.1:9/x", "secretFile": hook_secret}])])
    srv.start()
    b = S3.create_bucket(s3, S3.new_bucket_name())
    tid = D.create_track(srv.root(), region="ap-files", bucket=b)
    assert D.describe_track(srv.root(), tid)["Storage"]["StorageRegion"] == "ap-files"
