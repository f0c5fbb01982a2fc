"""Helpers for the tracking-set and delivery tests (issue 3): the regions file of the server under
test, SDK wrappers for the 19 official actions plus CreateAudit and DeleteAudit, tracking-set
parameters, member accounts and `tracks status`, readers of the delivered objects through an
independent S3 client (boto3) or the `local` region's folders, and the checks on files and key layout.
The object store, the fault proxy and the webhook receiver are in s3server.py, faultproxy.py and
webhooks.py.

Nothing here knows how the server is written: every expectation comes from ../shared/API.md,
../shared/DESIGN.md ("Delivery files") and docs/contract.md ("Tracking sets and delivery").
"""

import gzip
import json
import os
import re
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from s3server import S3_ACCESS_KEY, S3_SECRET_KEY
from support import (
    TencentCloudSDKException,
    assert_clean_message,
    models,
    parse_json_output,
    uid,
)

STORAGE_REGION = "ap-guangzhou"


# --------------------------------------------------------------------------------------------------
# regions file


def write_regions(path, regions):
    Path(path).write_text(json.dumps({"regions": regions}, ensure_ascii=False, indent=1))
    return str(path)


def write_secret_file(path, content, mode=0o600):
    path = Path(path)
    path.write_text(content)
    os.chmod(path, mode)
    return str(path)


def s3_region(name, endpoint, zh=None, en=None, notifications=None, creds_env=("S3_ID", "S3_KEY"), creds_file=None,
              addressing="path", signing_region="us-east-1"):
    r = {
        "name": name,
        "zh": zh or ("地区-" + name),
        "en": en or ("Region " + name),
        "endpoint": endpoint,
        "addressing": addressing,
    }
    if signing_region is not None:
        r["signingRegion"] = signing_region
    if creds_file:
        r["credentials"] = {"file": creds_file}
    else:
        r["credentials"] = {"accessKeyIdEnv": creds_env[0], "secretAccessKeyEnv": creds_env[1]}
    if notifications:
        r["notifications"] = notifications
    return r


# The bearer token the track server's /metrics answers to on its public port (CLOUDAUDIT_METRICS_TOKEN).
METRICS_TOKEN = "metrics-" + uuid.uuid4().hex


def s3_env(**extra):
    env = {"S3_ID": S3_ACCESS_KEY, "S3_KEY": S3_SECRET_KEY}
    env.update(extra)
    return env


# --------------------------------------------------------------------------------------------------
# SDK calls


LEGACY_COMMON_ONLY = ("CreateAudit", "DeleteAudit")


def call(key, action, params=None, common=False):
    """One action through the official SDK: the generated client method and request model for the
    19 official actions, CommonClient.call_json for CreateAudit/DeleteAudit (absent from the current
    SDK) or when `common` is set (to send exactly the JSON given). Returns the Response as a dict
    (RequestId included); raises TencentCloudSDKException on an error response."""
    params = dict(params or {})
    if common or action in LEGACY_COMMON_ONLY:
        r = key.common().call_json(action, params)
        return r["Response"]
    req = getattr(models, action + "Request")()
    req.from_json_string(json.dumps(params))
    resp = getattr(key.client(), action)(req)
    return json.loads(resp.to_json_string())


def expect_code(codes, fn, *args, **kwargs):
    """Like support.expect_error, but any of `codes` (a str or a tuple) is accepted; returns the error."""
    if isinstance(codes, str):
        codes = (codes,)
    try:
        result = fn(*args, **kwargs)
    except TencentCloudSDKException as e:
        assert e.code in codes, "expected error %s, got %s: %s" % (" or ".join(codes), e.code, e.message)
        assert e.message, "error %s has an empty Message" % e.code
        assert e.requestId, "error %s has no RequestId" % e.code
        assert_clean_message(e.message)
        return e
    raise AssertionError("expected error %s, but the call succeeded: %r" % (" or ".join(codes), result))


def storage(region, bucket, prefix="cloudaudit", compress=None, app_id=None, account_id=None, type_="cos"):
    s = {"StorageType": type_, "StorageRegion": region, "StorageName": bucket, "StoragePrefix": prefix}
    if compress is not None:
        s["Compress"] = compress
    if app_id is not None:
        s["StorageAppId"] = app_id
    if account_id is not None:
        s["StorageAccountId"] = account_id
    return s


def track_params(name=None, region=STORAGE_REGION, bucket=None, prefix="cloudaudit", action_type="*",
                 resource_type="*", event_names=("*",), status=1, compress=None, **extra):
    p = {
        "Name": name or track_name(),
        "Status": status,
        "Storage": storage(region, bucket, prefix, compress),
        "ActionType": action_type,
        "ResourceType": resource_type,
        "EventNames": list(event_names),
    }
    p.update(extra)
    return p


def events_track_params(fields, name=None, region=STORAGE_REGION, bucket=None, prefix="cloudaudit", status=1,
                        compress=None, **extra):
    p = {
        "Name": name or track_name(),
        "Status": status,
        "Storage": storage(region, bucket, prefix, compress),
        "Filters": {"ResourceFields": [
            {"ResourceType": rt, "ActionType": at, "EventNames": list(names)} for rt, at, names in fields]},
    }
    p.update(extra)
    return p


def track_name(prefix="set"):
    return "%s_%s" % (prefix, uuid.uuid4().hex[:12])


def create_track(key, **kw):
    r = call(key, "CreateAuditTrack", track_params(**kw))
    tid = r.get("TrackId")
    assert isinstance(tid, int) and tid > 0, "CreateAuditTrack must return an integer TrackId: %r" % r
    return tid


def create_events_track(key, fields, **kw):
    r = call(key, "CreateEventsAuditTrack", events_track_params(fields, **kw))
    tid = r.get("TrackId")
    assert isinstance(tid, int) and tid > 0, "CreateEventsAuditTrack must return an integer TrackId: %r" % r
    return tid


def describe_track(key, tid):
    return call(key, "DescribeAuditTrack", {"TrackId": tid})


def all_tracks(key, page_size=100):
    out, page = [], 1
    while True:
        r = call(key, "DescribeAuditTracks", {"PageNumber": page, "PageSize": page_size})
        tracks = r.get("Tracks") or []
        out.extend(tracks)
        if len(out) >= r.get("TotalCount", 0) or not tracks:
            return out
        page += 1


def audit_params(name=None, bucket=None, region=STORAGE_REGION, rw=3, new_bucket=0, cmq=0, **extra):
    p = {
        "AuditName": name or track_name("audit"),
        "CosBucketName": bucket,
        "CosRegion": region,
        "IsCreateNewBucket": new_bucket,
        "IsEnableCmqNotify": cmq,
        "ReadWriteAttribute": rw,
    }
    p.update(extra)
    return {k: v for k, v in p.items() if v is not None}


# --------------------------------------------------------------------------------------------------
# accounts with members, tracks status


def create_member_account(server, management_id, name=None):
    p = server.cli("accounts", "create", "--name", name or uid("member"), "--member-of", str(management_id))
    out = parse_json_output(p)
    assert isinstance(out.get("AccountId"), int), out
    return out


def list_accounts(server):
    return parse_json_output(server.cli("accounts", "list"))


def tracks_status(server, account=None):
    args = ["tracks", "status", "--output", "json"]
    if account is not None:
        args += ["--account", str(account)]
    out = parse_json_output(server.cli(*args))
    if isinstance(out, dict):
        lists = [v for v in out.values() if isinstance(v, list)]
        assert len(lists) == 1, "tracks status --output json: expected a list of rows: %r" % out
        out = lists[0]
    assert isinstance(out, list), out
    return out


def status_rows(server, track_id, account=None):
    return [r for r in tracks_status(server, account) if r.get("TrackId") == track_id]


# --------------------------------------------------------------------------------------------------
# delivered files


@dataclass
class DeliveredFile:
    key: str
    raw: bytes
    gz: bool
    lines: list
    records: list
    account_id: int = 0
    stamp: str = ""
    track_id: int = 0
    first_seq: int = 0
    hour: str = ""


def decode_file(key, raw):
    gz = key.endswith(".json.gz")
    assert gz or key.endswith(".json"), "object key must end in .json.gz or .json: %s" % key
    if gz:
        assert raw[:2] == b"\x1f\x8b", "%s: .json.gz but not gzip (starts %r)" % (key, raw[:8])
        try:
            text = gzip.decompress(raw)
        except Exception as e:  # noqa: BLE001
            raise AssertionError("%s: not a valid gzip file: %s" % (key, e))
    else:
        assert raw[:2] != b"\x1f\x8b", "%s: .json file is gzip-compressed" % key
        text = raw
    text = text.decode("utf-8")
    assert text, "%s: empty file" % key
    assert text.endswith("\n"), "%s: the last record must be \\n-terminated" % key
    lines = text[:-1].split("\n")
    records = []
    for i, line in enumerate(lines):
        assert line, "%s: empty line %d" % (key, i + 1)
        try:
            rec = json.loads(line)
        except ValueError:
            raise AssertionError("%s line %d is not JSON: %r" % (key, i + 1, line[:200]))
        assert isinstance(rec, dict), "%s line %d is not a JSON object" % (key, i + 1)
        records.append(rec)
    return DeliveredFile(key, raw, gz, lines, records)


def read_s3_files(s3, bucket, prefix=""):
    """Every log file under prefix (digests are not log files), decoded and checked as a JSON-lines
    (gzip or plain) file."""
    out = []
    paginator = s3.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
        for o in page.get("Contents") or []:
            if "/CloudAudit-Digest/" in "/" + o["Key"]:
                continue
            raw = s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read()
            out.append(decode_file(o["Key"], raw))
    return out


def list_s3_keys(s3, bucket, prefix=""):
    keys = []
    paginator = s3.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
        keys.extend(o["Key"] for o in page.get("Contents") or [])
    return keys


def read_local_files(data_dir, bucket, prefix=""):
    root = Path(data_dir) / "buckets" / bucket
    out = []
    if not root.is_dir():
        return out
    for p in sorted(root.rglob("*")):
        if p.is_file():
            key = p.relative_to(root).as_posix()
            if key.startswith(prefix):
                if p.name.startswith(".") or key.endswith((".tmp", ".part")):
                    continue  # a writer's temporary file, not an object
                if "/CloudAudit-Digest/" in "/" + key:
                    continue  # a digest, not a log file
                out.append(decode_file(key, p.read_bytes()))
    return out


KEY_RE_TEMPLATE = (r"^{prefix}/(?P<hour>\d{{10}})/(?P<account>\d+)_CloudAudit_{region}_(?P<stamp>\d{{8}}T\d{{6}}Z)_"
                   r"(?P<track>\d+)_(?P<seq>\d+)\.json(?P<gz>\.gz)?$")


def check_layout(files, prefix, region, track_id, compress=True, account_ids=None):
    """Key layout as documented; returns {account_id: [files in FirstSeq order]} after checking that,
    per account, FirstSeq strictly increases with the key's time (a set's files never restart or
    overlap their first event)."""
    rx = re.compile(KEY_RE_TEMPLATE.format(prefix=re.escape(prefix), region=re.escape(region)))
    by_account = {}
    for f in files:
        if "CloudAudit-Digest" in f.key:
            continue
        m = rx.match(f.key)
        assert m, "object key does not follow <Prefix>/<YYYYMMDDHH>/<AccountId>_CloudAudit_<Region>_" \
                  "<YYYYMMDDTHHmmssZ>_<TrackId>_<FirstSeq>.json[.gz] (prefix %r, region %r, track %s): %s" % (
                      prefix, region, track_id, f.key)
        f.hour, f.stamp = m.group("hour"), m.group("stamp")
        f.account_id, f.track_id, f.first_seq = int(m.group("account")), int(m.group("track")), int(m.group("seq"))
        assert f.hour == f.stamp[:8] + f.stamp[9:11], "%s: hour folder %s does not match the time %s" % (
            f.key, f.hour, f.stamp)
        assert time.strptime(f.stamp, "%Y%m%dT%H%M%SZ"), f.key
        assert f.track_id == track_id, "%s: TrackId %s, expected %s" % (f.key, f.track_id, track_id)
        assert f.gz == bool(compress), "%s: Compress %s expects %s" % (f.key, 1 if compress else 2,
                                                                        ".json.gz" if compress else ".json")
        if account_ids is not None:
            assert f.account_id in account_ids, "%s: account %s not one of %s" % (f.key, f.account_id, account_ids)
        by_account.setdefault(f.account_id, []).append(f)
    for acct, fs in by_account.items():
        fs.sort(key=lambda f: (f.stamp, f.first_seq))
        seqs = [f.first_seq for f in fs]
        assert all(a < b for a, b in zip(seqs, seqs[1:])), (
            "account %s: FirstSeq must strictly increase with the files' times: %s" % (
                acct, [(f.stamp, f.first_seq) for f in fs]))
        fs.sort(key=lambda f: f.first_seq)
    return by_account


def delivered_ids(files):
    return [r.get("eventId") for f in files for r in f.records]


def duplicates(files):
    seen, dup = {}, {}
    for f in files:
        for r in f.records:
            i = r.get("eventId")
            if i in seen:
                dup.setdefault(i, [seen[i]]).append(f.key)
            else:
                seen[i] = f.key
    return dup


def record_matches(rec, filters):
    """The contract's match rule: any filter (ActionType, ResourceType, EventNames) matches."""
    for f in filters:
        if f["ActionType"] not in ("*", rec.get("actionType")):
            continue
        if f["ResourceType"] not in ("*", rec.get("resourceType")):
            continue
        names = f["EventNames"]
        if names != ["*"] and rec.get("eventName") not in names:
            continue
        return True
    return False


def check_exactly_once(files, expected_ids, filters=None, source=None, forbidden_ids=()):
    """Every expected event present exactly once; no event twice at all; every delivered record matches
    the set's filters; of the events carrying `source` (the test's own eventSource) only the expected
    ones are there; none of `forbidden_ids`."""
    dup = duplicates(files)
    assert not dup, "events delivered more than once: %r" % dict(list(dup.items())[:5])
    ids = set(delivered_ids(files))
    missing = set(expected_ids) - ids
    assert not missing, "%d expected events missing (of %d), e.g. %s" % (len(missing), len(set(expected_ids)),
                                                                          sorted(missing)[:3])
    bad = ids & set(forbidden_ids)
    assert not bad, "events that must not be delivered were: %s" % sorted(bad)[:5]
    if source is not None:
        extra = {r.get("eventId") for f in files for r in f.records if r.get("eventSource") == source} - set(expected_ids)
        assert not extra, "non-matching events of this test were delivered: %s" % sorted(extra)[:5]
    if filters is not None:
        wrong = [(f.key, r.get("eventId"), r.get("actionType"), r.get("resourceType"), r.get("eventName"))
                 for f in files for r in f.records if not record_matches(r, filters)]
        assert not wrong, "delivered records that match no filter of the set: %r" % wrong[:5]


def wait_for_ids(read, expected_ids, timeout=90, settle=3.0, what="delivery", log=None):
    """Poll `read()` (-> files) until every expected id is present, then wait `settle` seconds and read
    once more (so late duplicates or extras show). Returns the final files."""
    expected = set(expected_ids)
    deadline = time.time() + timeout
    files = []
    while True:
        try:
            files = read()
        except Exception as e:  # noqa: BLE001 - e.g. the bucket is not there yet
            files = []
            last_err = e
        else:
            last_err = None
        have = set(delivered_ids(files))
        if expected <= have:
            break
        if time.time() >= deadline:
            raise AssertionError("%s: %d of %d events delivered after %ss (%d files)%s%s" % (
                what, len(expected & have), len(expected), timeout, len(files),
                "; last read error: %s" % last_err if last_err else "",
                "\nserver log tail:\n%s" % log() if log else ""))
        time.sleep(0.5)
    if settle:
        time.sleep(settle)
        files = read()
    return files


def assert_nothing_delivered(read, ids, wait=4.0):
    time.sleep(wait)
    try:
        files = read()
    except Exception:  # noqa: BLE001
        return []
    got = set(delivered_ids(files)) & set(ids)
    assert not got, "events delivered that should not be: %s" % sorted(got)[:5]
    return files


def put_batches(key, events, batch=1000):
    from support import put_ok

    ids = []
    for i in range(0, len(events), batch):
        ids.extend(put_ok(key, events[i:i + batch]))
    return ids


def wait_status(server, track_id, pred, account=None, timeout=60, what="tracks status"):
    """Poll `cloudaudit tracks status` until pred(rows of the set) is true; returns those rows."""
    deadline = time.time() + timeout
    rows = []
    while True:
        rows = status_rows(server, track_id, account)
        if rows and pred(rows):
            return rows
        if time.time() >= deadline:
            raise AssertionError("%s: condition not met after %ss; rows: %s" % (what, timeout, json.dumps(rows)[:2000]))
        time.sleep(0.5)


def track_id_by_name(key, name):
    found = [t["TrackId"] for t in all_tracks(key) if t["Name"] == name]
    assert len(found) == 1, "no single set named %s: %r" % (name, found)
    return found[0]


def batch_order_ok(files, batches):
    """Events of sequential PutEvents calls arrive in call order: in the files (by FirstSeq, records in
    file order) batch i's events all come before batch i+1's."""
    index = {}
    for i, b in enumerate(batches):
        for eid in b:
            index[eid] = i
    seq = [index[r.get("eventId")] for f in sorted(files, key=lambda f: (f.account_id, f.first_seq)) for r in f.records
           if r.get("eventId") in index]
    return all(a <= b for a, b in zip(seq, seq[1:]))
