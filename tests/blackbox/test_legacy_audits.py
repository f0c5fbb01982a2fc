"""Legacy audits by name (issue 3): CreateAudit and DeleteAudit (absent from the current SDK, sent with
CommonClient), DescribeAudit, UpdateAudit, ListAudits, StartLogging, StopLogging (official client);
each audit is a tracking set underneath and both families list both; every rule and error code of
docs/contract.md "Legacy audits"."""

import json
import os

import pytest

import deliverysupport as D
import kmssupport
import s3server as S3
from deliverysupport import call, expect_code
from support import expect_error, run_tccli

IPV = "InvalidParameterValue"


def _create(key, bucket, **kw):
    p = D.audit_params(bucket=bucket, **kw)
    r = call(key, "CreateAudit", p)
    assert r.get("IsSuccess") == 1, "CreateAudit must answer IsSuccess 1: %r" % r
    return p["AuditName"]


def _describe(key, name):
    return call(key, "DescribeAudit", {"AuditName": name})


def _summaries(key):
    return {a["AuditName"]: a for a in call(key, "ListAudits").get("AuditSummarys") or []}


def _track_by_name(key, name):
    found = [t for t in D.all_tracks(key) if t["Name"] == name]
    assert len(found) == 1, "DescribeAuditTracks should list %s once: %r" % (name, found)
    return found[0]


# ---- create / describe / list


def test_create_audit_and_describe(track_tenant, bucket):
    name = _create(track_tenant.admin, bucket, rw=3)
    d = _describe(track_tenant.admin, name)
    assert d["AuditName"] == name
    assert d["CosBucketName"] == bucket and d["CosRegion"] == "ap-guangzhou"
    assert d["LogFilePrefix"] == "cloudaudit", "LogFilePrefix defaults to cloudaudit"
    assert d["ReadWriteAttribute"] == 3
    assert d["IsEnableCmqNotify"] == 0 and d["IsEnableKmsEncry"] == 0
    assert d["AuditStatus"] in (0, 1)
    for f in ("CmqQueueName", "CmqRegion", "KeyId", "KmsAlias", "KmsRegion"):
        assert f in d, "DescribeAudit lacks %s: %r" % (f, d)


def test_list_audits(track_tenant, bucket):
    assert _summaries(track_tenant.admin) == {}
    a = _create(track_tenant.admin, bucket, LogFilePrefix="first")
    b = _create(track_tenant.admin, bucket, rw=1)
    s = _summaries(track_tenant.admin)
    assert set(s) == {a, b}
    assert s[a]["CosBucketName"] == bucket and s[a]["LogFilePrefix"] == "first"
    assert s[b]["LogFilePrefix"] == "cloudaudit"
    assert s[a]["AuditStatus"] in (0, 1)


@pytest.mark.parametrize("rw,action_type", [(1, "Read"), (2, "Write"), (3, "*")])
def test_audit_is_a_tracking_set(track_tenant, bucket, rw, action_type):
    name = _create(track_tenant.admin, bucket, rw=rw, LogFilePrefix="legacy1")
    t = _track_by_name(track_tenant.admin, name)
    assert t["ActionType"] == action_type
    assert t["ResourceType"] == "*" and t["EventNames"] == ["*"]
    st = t["Storage"]
    assert (st["StorageType"], st["StorageRegion"], st["StorageName"], st["StoragePrefix"]) == (
        "cos", "ap-guangzhou", bucket, "legacy1")
    d = D.describe_track(track_tenant.admin, t["TrackId"])
    assert d["Name"] == name and d["ActionType"] == action_type


@pytest.mark.parametrize("action_type,rw", [("Read", 1), ("Write", 2), ("*", 3)])
def test_tracking_set_reads_back_as_audit(track_tenant, bucket, action_type, rw):
    name = D.track_name()
    D.create_track(track_tenant.admin, bucket=bucket, name=name, action_type=action_type, prefix="viaTrack")
    d = _describe(track_tenant.admin, name)
    assert d["ReadWriteAttribute"] == rw
    assert (d["CosBucketName"], d["CosRegion"], d["LogFilePrefix"]) == (bucket, "ap-guangzhou", "viaTrack")
    assert d["AuditStatus"] == 1
    assert name in _summaries(track_tenant.admin)


def test_multi_product_set_reads_back_as_read_write(track_tenant, bucket):
    name = D.track_name()
    D.create_events_track(track_tenant.admin, [("cvm", "Write", ["RunInstances"]), ("cos", "Write", ["*"])],
                          bucket=bucket, name=name)
    assert _describe(track_tenant.admin, name)["ReadWriteAttribute"] == 3


def test_audit_names_share_the_track_namespace(track_tenant, bucket):
    name = D.track_name()
    D.create_track(track_tenant.admin, bucket=bucket, name=name)
    e = expect_error(IPV, call, track_tenant.admin, "CreateAudit", D.audit_params(name=name, bucket=bucket))
    assert "exist" in e.message.lower(), e.message
    legacy = _create(track_tenant.admin, bucket)
    expect_error(IPV, call, track_tenant.admin, "CreateAudit", D.audit_params(name=legacy, bucket=bucket))
    expect_error(IPV, D.create_track, track_tenant.admin, bucket=bucket, name=legacy)


# ---- update / start / stop / delete


def test_update_audit(track_tenant, bucket, s3):
    admin = track_tenant.admin
    name = _create(admin, bucket, rw=3)
    r = call(admin, "UpdateAudit", {"AuditName": name, "ReadWriteAttribute": 1})
    assert r.get("IsSuccess") == 1
    assert _describe(admin, name)["ReadWriteAttribute"] == 1
    assert _track_by_name(admin, name)["ActionType"] == "Read"
    other = S3.create_bucket(s3, S3.new_bucket_name())
    call(admin, "UpdateAudit", {"AuditName": name, "CosBucketName": other, "LogFilePrefix": "moved2"})
    d = _describe(admin, name)
    assert (d["CosBucketName"], d["LogFilePrefix"], d["ReadWriteAttribute"]) == (other, "moved2", 1)
    st = _track_by_name(admin, name)["Storage"]
    assert (st["StorageName"], st["StoragePrefix"]) == (other, "moved2")
    # a new bucket on update
    fresh = S3.new_bucket_name()
    call(admin, "UpdateAudit", {"AuditName": name, "CosRegion": "ap-guangzhou", "CosBucketName": fresh,
                                "IsCreateNewBucket": 1})
    assert S3.bucket_exists(s3, fresh) and _describe(admin, name)["CosBucketName"] == fresh
    # the CMQ fields together
    call(admin, "UpdateAudit", {"AuditName": name, "IsEnableCmqNotify": 1, "CmqRegion": "ap-nanjing",
                                "CmqQueueName": "nj-queue", "IsCreateNewQueue": 0})
    d = _describe(admin, name)
    assert (d["IsEnableCmqNotify"], d["CmqRegion"], d["CmqQueueName"]) == (1, "ap-nanjing", "nj-queue")
    call(admin, "UpdateAudit", {"AuditName": name, "IsEnableCmqNotify": 0})
    assert _describe(admin, name)["IsEnableCmqNotify"] == 0


def test_update_audit_new_bucket_uses_the_stored_region(track_tenant, bucket, s3):
    """UpdateAudit: "rules apply to the merged result", so IsCreateNewBucket=1 with only a new
    CosBucketName uses the audit's CosRegion."""
    admin = track_tenant.admin
    name = _create(admin, bucket)
    fresh = S3.new_bucket_name()
    call(admin, "UpdateAudit", {"AuditName": name, "CosBucketName": fresh, "IsCreateNewBucket": 1})
    assert S3.bucket_exists(s3, fresh) and _describe(admin, name)["CosBucketName"] == fresh


def test_update_audit_refuses_invalid_fields(track_tenant, bucket):
    admin = track_tenant.admin
    name = _create(admin, bucket)
    before = _describe(admin, name)
    expect_error("MissingParameter.cmq", call, admin, "UpdateAudit", {"AuditName": name, "IsEnableCmqNotify": 1})
    expect_error("InvalidParameterValue.ReadWriteAttributeError", call, admin, "UpdateAudit",
                 {"AuditName": name, "ReadWriteAttribute": 5})
    expect_error("InvalidParameterValue.LogFilePrefixError", call, admin, "UpdateAudit",
                 {"AuditName": name, "LogFilePrefix": "a-b"})
    expect_error("InvalidParameterValue.CosNameError", call, admin, "UpdateAudit",
                 {"AuditName": name, "CosBucketName": "Bad_Bucket"})
    expect_error("InvalidParameterValue.CosRegionError", call, admin, "UpdateAudit",
                 {"AuditName": name, "CosRegion": "ap-mars"})
    expect_error("ResourceNotFound.CosNotExist", call, admin, "UpdateAudit",
                 {"AuditName": name, "CosBucketName": S3.new_bucket_name()})
    expect_error("ResourceInUse.CosBucketExists", call, admin, "UpdateAudit",
                 {"AuditName": name, "CosRegion": "ap-guangzhou", "CosBucketName": bucket, "IsCreateNewBucket": 1})
    expect_error("MissingParameter", call, admin, "UpdateAudit", {"AuditName": name, "IsEnableKmsEncry": 1})
    d = _describe(admin, name)
    assert d == dict(before, RequestId=d["RequestId"]), "a refused UpdateAudit changed the audit"


def test_update_audit_kms_region_checked_against_merged_cos_region(track_env, track_tenant, bucket, s3):
    admin = track_tenant.admin
    name = _create(admin, bucket)
    key_id = kmssupport.create_key(track_env, track_tenant.account_id)["KeyId"]  # a real key (see test_kms.py)
    call(admin, "UpdateAudit", {"AuditName": name, "IsEnableKmsEncry": 1, "KeyId": key_id,
                                "KmsRegion": "ap-guangzhou"})
    d = _describe(admin, name)
    assert (d["IsEnableKmsEncry"], d["KeyId"], d["KmsRegion"]) == (1, key_id, "ap-guangzhou")
    # moving the bucket to ap-shanghai breaks KmsRegion == CosRegion
    sh = S3.create_bucket(s3, S3.new_bucket_name())  # moto is one store: the bucket exists in every region
    expect_error("InvalidParameterValue.KmsRegionError", call, admin, "UpdateAudit",
                 {"AuditName": name, "CosRegion": "ap-shanghai", "CosBucketName": sh})
    expect_error("InvalidParameterValue.KmsRegionError", call, admin, "UpdateAudit",
                 {"AuditName": name, "KmsRegion": "ap-nanjing"})
    d = _describe(admin, name)
    assert (d["CosRegion"], d["CosBucketName"], d["KmsRegion"]) == ("ap-guangzhou", bucket, "ap-guangzhou")


def test_update_audit_cmq_rules_on_merged_result(track_tenant, bucket):
    admin = track_tenant.admin
    name = _create(admin, bucket)
    call(admin, "UpdateAudit", {"AuditName": name, "IsEnableCmqNotify": 1, "CmqRegion": "ap-nanjing",
                                "CmqQueueName": "nj-queue", "IsCreateNewQueue": 0})
    expect_error("InvalidParameterValue.QueueNameError", call, admin, "UpdateAudit",
                 {"AuditName": name, "CmqQueueName": "no-such-queue", "IsCreateNewQueue": 0})
    # the stored queue (nj-queue) is not a channel of ap-guangzhou
    expect_error("InvalidParameterValue.QueueNameError", call, admin, "UpdateAudit",
                 {"AuditName": name, "CmqRegion": "ap-guangzhou", "IsCreateNewQueue": 0})
    d = _describe(admin, name)
    assert (d["IsEnableCmqNotify"], d["CmqQueueName"], d["CmqRegion"]) == (1, "nj-queue", "ap-nanjing")


def test_update_audit_cmq_region_without_channels(track_tenant, bucket):
    admin = track_tenant.admin
    name = _create(admin, bucket)
    expect_error("InvalidParameterValue.CmqRegionError", call, admin, "UpdateAudit",
                 {"AuditName": name, "IsEnableCmqNotify": 1, "CmqRegion": "ap-shanghai", "CmqQueueName": "nj-queue",
                  "IsCreateNewQueue": 0})


def test_stop_and_start_logging(track_tenant, bucket):
    admin = track_tenant.admin
    name = _create(admin, bucket)
    tid = _track_by_name(admin, name)["TrackId"]
    r = call(admin, "StopLogging", {"AuditName": name})
    assert r.get("IsSuccess") == 1
    assert _describe(admin, name)["AuditStatus"] == 0
    assert D.describe_track(admin, tid)["Status"] == 0
    assert _summaries(admin)[name]["AuditStatus"] == 0
    r = call(admin, "StartLogging", {"AuditName": name})
    assert r.get("IsSuccess") == 1
    assert _describe(admin, name)["AuditStatus"] == 1
    assert D.describe_track(admin, tid)["Status"] == 1
    # idempotent
    assert call(admin, "StartLogging", {"AuditName": name})["IsSuccess"] == 1
    # a set made with CreateAuditTrack is stopped by name too
    tname = D.track_name()
    ttid = D.create_track(admin, bucket=bucket, name=tname)
    call(admin, "StopLogging", {"AuditName": tname})
    assert D.describe_track(admin, ttid)["Status"] == 0


def test_delete_audit(track_tenant, bucket):
    admin = track_tenant.admin
    name = _create(admin, bucket)
    credit = call(admin, "InquireAuditCredit")["AuditAmount"]
    r = call(admin, "DeleteAudit", {"AuditName": name})
    assert r.get("IsSuccess") == 1
    expect_error("ResourceNotFound.AuditNotExist", _describe, admin, name)
    assert name not in _summaries(admin)
    assert [t for t in D.all_tracks(admin) if t["Name"] == name] == []
    assert call(admin, "InquireAuditCredit")["AuditAmount"] == credit + 1
    expect_error("ResourceNotFound.AuditNotExist", call, admin, "DeleteAudit", {"AuditName": name})
    # DeleteAudit removes a set made with CreateAuditTrack as well
    tname = D.track_name()
    tid = D.create_track(admin, bucket=bucket, name=tname)
    call(admin, "DeleteAudit", {"AuditName": tname})
    expect_error("ResourceNotFound", D.describe_track, admin, tid)


@pytest.mark.parametrize("action,extra", [
    ("DescribeAudit", {}), ("DeleteAudit", {}), ("StartLogging", {}), ("StopLogging", {}),
    ("UpdateAudit", {"ReadWriteAttribute": 1}),
])
def test_unknown_audit_name(track_tenant, action, extra):
    p = {"AuditName": D.track_name("ghost")}
    p.update(extra)
    expect_error("ResourceNotFound.AuditNotExist", call, track_tenant.admin, action, p)


def test_another_accounts_audit_is_invisible(track_tenant, track_tenant2, bucket):
    name = _create(track_tenant.admin, bucket)
    for action in ("DescribeAudit", "StopLogging", "StartLogging", "DeleteAudit"):
        expect_error("ResourceNotFound.AuditNotExist", call, track_tenant2.admin, action, {"AuditName": name})
    expect_error("ResourceNotFound.AuditNotExist", call, track_tenant2.admin, "UpdateAudit",
                 {"AuditName": name, "ReadWriteAttribute": 1})
    assert _summaries(track_tenant2.admin) == {}
    assert _describe(track_tenant.admin, name)["ReadWriteAttribute"] == 3


# ---- CreateAudit validation


CASES = [
    ("name-short", dict(name="ab"), IPV),
    ("name-long", dict(name="a" * 49), IPV),
    ("name-space", dict(name="bad name"), IPV),
    ("rw-0", dict(rw=0), "InvalidParameterValue.ReadWriteAttributeError"),
    ("rw-4", dict(rw=4), "InvalidParameterValue.ReadWriteAttributeError"),
    ("region-unknown", dict(region="ap-mars"), "InvalidParameterValue.CosRegionError"),
    ("bucket-name", dict(bucket="Bad_Bucket"), "InvalidParameterValue.CosNameError"),
    ("prefix", dict(LogFilePrefix="a/b"), "InvalidParameterValue.LogFilePrefixError"),
    ("prefix-short", dict(LogFilePrefix="ab"), "InvalidParameterValue.LogFilePrefixError"),
    ("bucket-missing", dict(bucket="MISSING"), "ResourceNotFound.CosNotExist"),
    ("store-unreachable", dict(region="ap-beijing"), "FailedOperation.CheckCosBucketIsExistFailed"),
    ("new-bucket-exists", dict(new_bucket=1), "ResourceInUse.CosBucketExists"),
    ("new-bucket-without-name", dict(new_bucket=1, bucket="DROP"), "MissingParameter"),
    ("new-bucket-without-region", dict(new_bucket=1, bucket="NEW", region="DROP"), "MissingParameter"),
    ("cmq-no-queue", dict(cmq=1, CmqRegion="ap-nanjing", IsCreateNewQueue=0), "MissingParameter.cmq"),
    ("cmq-no-region", dict(cmq=1, CmqQueueName="nj-queue", IsCreateNewQueue=0), "MissingParameter.cmq"),
    ("cmq-no-create-flag", dict(cmq=1, CmqQueueName="nj-queue", CmqRegion="ap-nanjing"), "MissingParameter.cmq"),
    ("cmq-region-without-channels", dict(cmq=1, CmqQueueName="nj-queue", CmqRegion="ap-shanghai", IsCreateNewQueue=0),
     "InvalidParameterValue.CmqRegionError"),
    ("cmq-region-unknown", dict(cmq=1, CmqQueueName="nj-queue", CmqRegion="ap-mars", IsCreateNewQueue=0),
     "InvalidParameterValue.CmqRegionError"),
    ("cmq-queue-unknown", dict(cmq=1, CmqQueueName="no-such-queue", CmqRegion="ap-nanjing", IsCreateNewQueue=0),
     "InvalidParameterValue.QueueNameError"),
    ("cmq-queue-of-other-region", dict(cmq=1, CmqQueueName="gz-queue", CmqRegion="ap-nanjing", IsCreateNewQueue=0),
     "InvalidParameterValue.QueueNameError"),
    ("cmq-queue-digit-first", dict(cmq=1, CmqQueueName="1queue", CmqRegion="ap-nanjing", IsCreateNewQueue=0),
     "InvalidParameterValue.QueueNameError"),
    ("cmq-queue-underscore", dict(cmq=1, CmqQueueName="nj_queue", CmqRegion="ap-nanjing", IsCreateNewQueue=0),
     "InvalidParameterValue.QueueNameError"),
    ("cmq-queue-65", dict(cmq=1, CmqQueueName="q" * 65, CmqRegion="ap-nanjing", IsCreateNewQueue=0),
     "InvalidParameterValue.QueueNameError"),
    ("cmq-create-new-queue", dict(cmq=1, CmqQueueName="brand-new-queue", CmqRegion="ap-nanjing", IsCreateNewQueue=1),
     "InvalidParameterValue.QueueNameError"),
    ("kms-no-key", dict(IsEnableKmsEncry=1, KmsRegion="ap-guangzhou"), "MissingParameter"),
    ("kms-no-region", dict(IsEnableKmsEncry=1, KeyId="kms-1"), "MissingParameter"),
    ("kms-other-region", dict(IsEnableKmsEncry=1, KeyId="kms-1", KmsRegion="ap-shanghai"),
     "InvalidParameterValue.KmsRegionError"),
]


@pytest.mark.parametrize("case,kw,code", CASES, ids=[c[0] for c in CASES])
def test_create_audit_validation(track_tenant, bucket, s3, case, kw, code):
    kw = dict(kw)
    b = kw.pop("bucket", bucket)
    if b == "MISSING" or b == "NEW":
        b = S3.new_bucket_name()
    region = kw.pop("region", "ap-guangzhou")
    p = D.audit_params(bucket=b, region=region, **kw)
    if b == "DROP":
        p.pop("CosBucketName")
    if region == "DROP":
        p.pop("CosRegion")
    expect_code(code, call, track_tenant.admin, "CreateAudit", p)
    assert _summaries(track_tenant.admin) == {}, "a refused CreateAudit left an audit behind"
    if kw.get("new_bucket") and p.get("CosBucketName") and p["CosBucketName"] != bucket:
        assert not S3.bucket_exists(s3, p["CosBucketName"]), "a refused CreateAudit created its bucket"


def test_create_audit_with_cmq_and_kms(track_env, track_tenant, bucket):
    admin = track_tenant.admin
    key_id = kmssupport.create_key(track_env, track_tenant.account_id)["KeyId"]
    name = _create(admin, bucket, cmq=1, CmqQueueName="nj-queue", CmqRegion="ap-nanjing", IsCreateNewQueue=0,
                   IsEnableKmsEncry=1, KeyId=key_id, KmsRegion="ap-guangzhou")
    d = _describe(admin, name)
    assert (d["IsEnableCmqNotify"], d["CmqQueueName"], d["CmqRegion"]) == (1, "nj-queue", "ap-nanjing")
    assert (d["IsEnableKmsEncry"], d["KeyId"], d["KmsRegion"]) == (1, key_id, "ap-guangzhou")


def test_create_audit_new_bucket(track_tenant, s3):
    b = S3.new_bucket_name()
    assert not S3.bucket_exists(s3, b)
    name = _create(track_tenant.admin, b, new_bucket=1)
    assert S3.bucket_exists(s3, b), "IsCreateNewBucket=1 creates the bucket"
    assert _describe(track_tenant.admin, name)["CosBucketName"] == b
    expect_error("ResourceInUse.CosBucketExists", call, track_tenant.admin, "CreateAudit",
                 D.audit_params(bucket=b, new_bucket=1))


def test_create_audit_new_bucket_in_local(track_tenant, track_server):
    b = S3.new_bucket_name()
    _create(track_tenant.admin, b, region="local", new_bucket=1)
    assert os.path.isdir(os.path.join(track_server.data_dir, "buckets", b))
    expect_error("ResourceInUse.CosBucketExists", call, track_tenant.admin, "CreateAudit",
                 D.audit_params(bucket=b, region="local", new_bucket=1))


def test_missing_audit_name(track_tenant, bucket):
    p = D.audit_params(bucket=bucket)
    p.pop("AuditName")
    expect_code(("MissingParameter", "InvalidParameter"), call, track_tenant.admin, "CreateAudit", p)
    for action in ("DescribeAudit", "StartLogging", "StopLogging", "UpdateAudit", "DeleteAudit"):
        expect_code(("MissingParameter", "InvalidParameter"), call, track_tenant.admin, action, {}, common=True)


# ---- roles, tccli


def test_auditor_reads_audits_but_cannot_change_them(track_tenant, bucket):
    name = _create(track_tenant.admin, bucket)
    auditor = track_tenant.key("auditor")
    assert _describe(auditor, name)["AuditName"] == name
    assert name in _summaries(auditor)
    denied = "AuthFailure.UnauthorizedOperation"
    expect_error(denied, call, auditor, "CreateAudit", D.audit_params(bucket=bucket))
    expect_error(denied, call, auditor, "UpdateAudit", {"AuditName": name, "ReadWriteAttribute": 1})
    expect_error(denied, call, auditor, "StopLogging", {"AuditName": name})
    expect_error(denied, call, auditor, "StartLogging", {"AuditName": name})
    expect_error(denied, call, auditor, "DeleteAudit", {"AuditName": name})
    ingest = track_tenant.key("ingest")
    expect_error(denied, call, ingest, "ListAudits")
    expect_error(denied, call, ingest, "DescribeAudit", {"AuditName": name})
    assert _describe(track_tenant.admin, name)["ReadWriteAttribute"] == 3


def _tccli_json(p):
    assert p.returncode == 0, "tccli exited %s\nstdout: %s\nstderr: %s" % (
        p.returncode, p.stdout.decode(errors="replace")[-2000:], p.stderr.decode(errors="replace")[-2000:])
    return json.loads(p.stdout)


def test_tccli_legacy_actions(track_tenant, bucket, tmp_path):
    srv, key = track_tenant.server, track_tenant.admin
    name = _create(key, bucket, rw=2)
    lst = _tccli_json(run_tccli(srv, key, tmp_path, ["ListAudits"]))
    assert [a["AuditName"] for a in lst["AuditSummarys"]] == [name]
    _tccli_json(run_tccli(srv, key, tmp_path, ["StopLogging", "--AuditName", name]))
    d = _tccli_json(run_tccli(srv, key, tmp_path, ["DescribeAudit", "--AuditName", name]))
    assert d["AuditStatus"] == 0 and d["ReadWriteAttribute"] == 2
    out = _tccli_json(run_tccli(srv, key, tmp_path, ["UpdateAudit", "--AuditName", name, "--ReadWriteAttribute", "1"]))
    assert out["IsSuccess"] == 1
    cmq = _tccli_json(run_tccli(srv, key, tmp_path, ["ListCmqEnableRegion", "--WebsiteType", "en"]))
    assert {r["CmqRegion"] for r in cmq["EnableRegions"]} == {"ap-guangzhou", "ap-nanjing"}
    p = run_tccli(srv, key, tmp_path, ["DescribeAudit", "--AuditName", "ghost-audit"])
    assert p.returncode != 0 and b"ResourceNotFound.AuditNotExist" in p.stdout + p.stderr
