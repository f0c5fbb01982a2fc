"""Delivery of tracking sets to S3-compatible buckets (issue 3), read back with an independent S3 client
(boto3 on the moto server) or from the `local` region's folders: every matching event exactly once
across all files, no non-matching event, gzip and plain files valid, the documented key layout, one
signed notification per file and channel, stopped/deleted sets, events older than the set,
TrackForAllMembers, legacy audits with a new bucket and a CMQ queue, file size bounds, status and
metrics.

The session server (`track_env`) runs with --delivery-interval 1."""

import json
import time

import requests

import deliverysupport as D
import s3server as S3
import webhooks as W
from deliverysupport import call
from support import lookup_all, make_event, record_of, uid

GZ = "ap-guangzhou"


def _read(s3, bucket, prefix):
    return lambda: D.read_s3_files(s3, bucket, prefix + "/")


def _wait(track_env, s3, bucket, prefix, ids, timeout=90, settle=3.0):
    return D.wait_for_ids(_read(s3, bucket, prefix), ids, timeout=timeout, settle=settle,
                          log=lambda: track_env.server.log_tail(30))


def _ids(evs):
    return [e["eventId"] for e in evs]


def _filters(action="*", resource="*", names=("*",)):
    return [{"ActionType": action, "ResourceType": resource, "EventNames": list(names)}]


# ---- filters


def test_write_only_set(track_env, track_tenant, bucket, s3):
    admin = track_tenant.admin
    tid = D.create_track(admin, bucket=bucket, prefix="wonly", action_type="Write")
    src = uid("dl")
    batches, writes, reads = [], [], []
    for b in range(3):
        w = [make_event(src, "W%d_%d" % (b, i), actionType="Write") for i in range(15)]
        r = [make_event(src, "R%d_%d" % (b, i), actionType="Read") for i in range(15)]
        mixed = [x for pair in zip(w, r) for x in pair]
        admin.put_ok(mixed)
        batches.append(_ids(w))
        writes += w
        reads += r
    files = _wait(track_env, s3, bucket, "wonly", _ids(writes))
    D.check_layout(files, "wonly", GZ, tid, compress=True, account_ids={track_tenant.account_id})
    D.check_exactly_once(files, _ids(writes), filters=_filters("Write"), source=src, forbidden_ids=_ids(reads))
    assert D.batch_order_ok(files, batches), "events must be delivered in the account's sequence order"
    # the region's channel gets one signed message per file
    W.wait_acks(track_env.hooks, "/gz", files, track_env.hook_secret, bucket, tid, {track_tenant.account_id})


def test_resource_type_and_event_names_plain_files(track_env, track_tenant, bucket, s3):
    admin = track_tenant.admin
    tid = D.create_track(admin, bucket=bucket, prefix="cvmonly", resource_type="cvm",
                         event_names=["RunInstances", "TerminateInstances"], compress=2)
    src = uid("dl")
    match = [make_event(src, "RunInstances", resourceType="cvm", actionType="Write"),
             make_event(src, "TerminateInstances", resourceType="cvm", actionType="Write"),
             make_event(src, "RunInstances", resourceType="cvm", actionType="Read")]
    other = [make_event(src, "DescribeInstances", resourceType="cvm"),
             make_event(src, "RunInstances", resourceType="cos"),
             make_event(src, "TerminateInstances", resourceType="cbs", actionType="Write"),
             make_event(src, "runinstances", resourceType="cvm")]
    admin.put_ok(other[:2] + match + other[2:])
    files = _wait(track_env, s3, bucket, "cvmonly", _ids(match))
    D.check_layout(files, "cvmonly", GZ, tid, compress=False)
    D.check_exactly_once(files, _ids(match), filters=_filters("*", "cvm", ["RunInstances", "TerminateInstances"]),
                         source=src, forbidden_ids=_ids(other))
    assert all(not f.gz for f in files)


def test_multi_product_set(track_env, track_tenant, bucket, s3):
    admin = track_tenant.admin
    fields = [("cvm", "Write", ["RunInstances"]), ("cos", "Read", ["*"])]
    tid = D.create_events_track(admin, fields, bucket=bucket, prefix="multi")
    src = uid("dl")
    match = [make_event(src, "RunInstances", resourceType="cvm", actionType="Write"),
             make_event(src, "GetObject", resourceType="cos", actionType="Read"),
             make_event(src, "HeadBucket", resourceType="cos", actionType="Read")]
    other = [make_event(src, "RunInstances", resourceType="cvm", actionType="Read"),
             make_event(src, "StopInstances", resourceType="cvm", actionType="Write"),
             make_event(src, "PutObject", resourceType="cos", actionType="Write"),
             make_event(src, "DescribeDisks", resourceType="cbs", actionType="Read")]
    admin.put_ok([other[0], match[0], other[1], match[1], other[2], match[2], other[3]])
    files = _wait(track_env, s3, bucket, "multi", _ids(match))
    D.check_layout(files, "multi", GZ, tid, compress=True)
    filters = [{"ResourceType": rt, "ActionType": at, "EventNames": n} for rt, at, n in fields]
    D.check_exactly_once(files, _ids(match), filters=filters, source=src, forbidden_ids=_ids(other))


def test_gzip_and_plain_files_hold_the_same_lines(track_env, track_tenant, bucket, s3):
    admin = track_tenant.admin
    rt = uid("res")
    tid_gz = D.create_track(admin, bucket=bucket, prefix="gzfiles", resource_type=rt, event_names=["*"], compress=1)
    tid_pl = D.create_track(admin, bucket=bucket, prefix="plainfiles", resource_type=rt, event_names=["*"], compress=2)
    src = uid("dl")
    evs = [make_event(src, "E%d" % i, resourceType=rt, resourceName="名字-%d" % i,
                      requestParameters={"nested": {"a": [1, 2.5, None, True], "s": "\u00e9\u4e2d\"q\\"}})
           for i in range(40)]
    admin.put_ok(evs)
    gz = _wait(track_env, s3, bucket, "gzfiles", _ids(evs))
    pl = _wait(track_env, s3, bucket, "plainfiles", _ids(evs), settle=0)
    D.check_layout(gz, "gzfiles", GZ, tid_gz, compress=True)
    D.check_layout(pl, "plainfiles", GZ, tid_pl, compress=False)
    flt = _filters("*", rt)
    D.check_exactly_once(gz, _ids(evs), filters=flt, source=src)
    D.check_exactly_once(pl, _ids(evs), filters=flt, source=src)
    lines_gz = {json.loads(line)["eventId"]: line for f in gz for line in f.lines}
    lines_pl = {json.loads(line)["eventId"]: line for f in pl for line in f.lines}
    assert lines_gz == lines_pl, "gzip and plain files must hold the same lines, byte for byte"


def test_records_are_delivered_as_stored(track_env, track_tenant, bucket, s3):
    admin = track_tenant.admin
    rt = uid("res")
    D.create_track(admin, bucket=bucket, prefix="asstored", resource_type=rt)
    src = uid("dl")
    evs = [make_event(src, "AsStored%d" % i, resourceType=rt, tags=[{"key": "k", "value": "v%d" % i}],
                      userIdentity={"type": "CAMUser", "principalId": "9", "secretId": "AKIDx", "userName": "ü"})
           for i in range(5)]
    admin.put_ok(evs)
    files = _wait(track_env, s3, bucket, "asstored", _ids(evs), settle=0)
    delivered = {r["eventId"]: r for f in files for r in f.records}
    stored = {e["EventId"]: record_of(e) for e in lookup_all(admin, [("EventSource", src)])}
    for e in evs:
        assert delivered[e["eventId"]] == stored[e["eventId"]], "delivered record differs from the stored one"
        for k, v in e.items():
            assert delivered[e["eventId"]].get(k) == v, "field %s changed in delivery: %r vs %r" % (
                k, delivered[e["eventId"]].get(k), v)


# ---- set life cycle


def test_events_before_creation_are_never_delivered(track_env, track_tenant, bucket, s3):
    admin = track_tenant.admin
    rt = uid("res")
    src = uid("dl")
    before = [make_event(src, "Before%d" % i, resourceType=rt) for i in range(10)]
    admin.put_ok(before)
    tid = D.create_track(admin, bucket=bucket, prefix="afteronly", resource_type=rt)
    after = [make_event(src, "After%d" % i, resourceType=rt) for i in range(10)]
    admin.put_ok(after)
    files = _wait(track_env, s3, bucket, "afteronly", _ids(after), settle=4)
    D.check_layout(files, "afteronly", GZ, tid)
    D.check_exactly_once(files, _ids(after), filters=_filters("*", rt), source=src, forbidden_ids=_ids(before))


def test_stopped_set_resumes_where_it_stopped(track_env, track_tenant, bucket, s3):
    admin = track_tenant.admin
    rt = uid("res")
    src = uid("dl")
    name = D.track_name()
    pre = [make_event(src, "Pre%d" % i, resourceType=rt) for i in range(5)]
    admin.put_ok(pre)
    tid = D.create_track(admin, bucket=bucket, name=name, prefix="pausing", resource_type=rt, status=0)
    a = [make_event(src, "A%d" % i, resourceType=rt) for i in range(10)]
    admin.put_ok(a)
    D.assert_nothing_delivered(_read(s3, bucket, "pausing"), _ids(a), wait=4)
    call(admin, "ModifyAuditTrack", {"TrackId": tid, "Status": 1})
    _wait(track_env, s3, bucket, "pausing", _ids(a), settle=0)
    # pause again, by name this time
    call(admin, "StopLogging", {"AuditName": name})
    b = [make_event(src, "B%d" % i, resourceType=rt) for i in range(10)]
    admin.put_ok(b)
    D.assert_nothing_delivered(_read(s3, bucket, "pausing"), _ids(b), wait=4)
    call(admin, "StartLogging", {"AuditName": name})
    c = [make_event(src, "C%d" % i, resourceType=rt) for i in range(10)]
    admin.put_ok(c)
    files = _wait(track_env, s3, bucket, "pausing", _ids(a + b + c), settle=4)
    D.check_layout(files, "pausing", GZ, tid)
    D.check_exactly_once(files, _ids(a + b + c), filters=_filters("*", rt), source=src, forbidden_ids=_ids(pre))
    assert D.batch_order_ok(files, [_ids(a), _ids(b), _ids(c)])


def test_deleted_set_stops_delivering(track_env, track_tenant, bucket, s3):
    admin = track_tenant.admin
    rt = uid("res")
    src = uid("dl")
    tid = D.create_track(admin, bucket=bucket, prefix="deleting", resource_type=rt)
    a = [make_event(src, "A%d" % i, resourceType=rt) for i in range(10)]
    admin.put_ok(a)
    files_a = _wait(track_env, s3, bucket, "deleting", _ids(a), settle=0)
    call(admin, "DeleteAuditTrack", {"TrackId": tid})
    b = [make_event(src, "B%d" % i, resourceType=rt) for i in range(10)]
    admin.put_ok(b)
    files = D.assert_nothing_delivered(_read(s3, bucket, "deleting"), _ids(b), wait=5)
    assert {f.key for f in files} == {f.key for f in files_a}, "delivered files stay in the bucket, no new ones"
    D.check_exactly_once(files, _ids(a), filters=_filters("*", rt), source=src, forbidden_ids=_ids(b))


def test_modified_filter_and_storage_apply_to_later_events(track_env, track_tenant, bucket, s3):
    admin = track_tenant.admin
    rt = uid("res")
    src = uid("dl")
    tid = D.create_track(admin, bucket=bucket, prefix="firstpfx", resource_type=rt, action_type="Write")
    a = [make_event(src, "A%d" % i, resourceType=rt, actionType="Write") for i in range(5)]
    admin.put_ok(a)
    _wait(track_env, s3, bucket, "firstpfx", _ids(a), settle=0)
    call(admin, "ModifyAuditTrack", {"TrackId": tid, "ActionType": "Read",
                                     "Storage": D.storage(GZ, bucket, "secondpfx", 2)})
    b_read = [make_event(src, "B%d" % i, resourceType=rt, actionType="Read") for i in range(5)]
    b_write = [make_event(src, "W%d" % i, resourceType=rt, actionType="Write") for i in range(5)]
    admin.put_ok(b_read + b_write)
    second = _wait(track_env, s3, bucket, "secondpfx", _ids(b_read), settle=3)
    D.check_layout(second, "secondpfx", GZ, tid, compress=False)
    D.check_exactly_once(second, _ids(b_read), filters=_filters("Read", rt), source=src,
                         forbidden_ids=_ids(a + b_write))
    first = D.read_s3_files(s3, bucket, "firstpfx/")
    D.check_exactly_once(first, _ids(a), source=src, forbidden_ids=_ids(b_read + b_write))


def test_another_accounts_events_are_not_delivered(track_env, track_tenant, track_tenant2, bucket, s3):
    rt = uid("res")
    src = uid("dl")
    tid = D.create_track(track_tenant.admin, bucket=bucket, prefix="isolated", resource_type=rt)
    mine = [make_event(src, "Mine%d" % i, resourceType=rt) for i in range(5)]
    theirs = [make_event(src, "Theirs%d" % i, resourceType=rt) for i in range(5)]
    track_tenant2.admin.put_ok(theirs)
    track_tenant.admin.put_ok(mine)
    track_tenant2.admin.put_ok([make_event(src, "Theirs-late", resourceType=rt)])
    files = _wait(track_env, s3, bucket, "isolated", _ids(mine), settle=3)
    D.check_layout(files, "isolated", GZ, tid, account_ids={track_tenant.account_id})
    D.check_exactly_once(files, _ids(mine), source=src, forbidden_ids=_ids(theirs))


# ---- organizations


def test_track_for_all_members(track_env, track_server, new_track_tenant, bucket, s3):
    mgmt = new_track_tenant()
    member = D.create_member_account(track_server, mgmt.account_id)
    member_admin = track_server.create_key(member["AccountId"], "admin")
    outsider = new_track_tenant()
    rt = uid("res")
    src = uid("dl")
    all_tid = D.create_track(mgmt.admin, bucket=bucket, prefix="orgwide", resource_type=rt, TrackForAllMembers=1)
    own_tid = D.create_track(mgmt.admin, bucket=bucket, prefix="ownonly", resource_type=rt)
    m_evs, n_evs, o_evs = [], [], []
    for i in range(3):
        m = [make_event(src, "Mgmt%d_%d" % (i, j), resourceType=rt) for j in range(4)]
        n = [make_event(src, "Member%d_%d" % (i, j), resourceType=rt) for j in range(4)]
        o = [make_event(src, "Out%d_%d" % (i, j), resourceType=rt) for j in range(4)]
        mgmt.admin.put_ok(m)
        member_admin.put_ok(n)
        outsider.admin.put_ok(o)
        m_evs += m
        n_evs += n
        o_evs += o
    files = _wait(track_env, s3, bucket, "orgwide", _ids(m_evs + n_evs), settle=4)
    by_acct = D.check_layout(files, "orgwide", GZ, all_tid, account_ids={mgmt.account_id, member["AccountId"]})
    D.check_exactly_once(files, _ids(m_evs + n_evs), filters=_filters("*", rt), source=src, forbidden_ids=_ids(o_evs))
    # each member's events in files of that member's AccountId
    owner = {i: mgmt.account_id for i in _ids(m_evs)}
    owner.update({i: member["AccountId"] for i in _ids(n_evs)})
    for acct, fs in by_acct.items():
        for f in fs:
            for r in f.records:
                if r["eventId"] in owner:
                    assert owner[r["eventId"]] == acct, "%s holds an event of account %s" % (f.key, owner[r["eventId"]])
    assert set(by_acct) == {mgmt.account_id, member["AccountId"]}
    own = _wait(track_env, s3, bucket, "ownonly", _ids(m_evs), settle=0)
    D.check_layout(own, "ownonly", GZ, own_tid, account_ids={mgmt.account_id})
    D.check_exactly_once(own, _ids(m_evs), source=src, forbidden_ids=_ids(n_evs + o_evs))
    # notifications name the account of each file
    acks = {}
    deadline = time.time() + 60
    while time.time() < deadline:
        acks = {r.json()["objectKeys"][0]: r.json() for r in track_env.hooks.acked("/gz", bucket)}
        if {f.key for f in files} <= set(acks):
            break
        time.sleep(0.5)
    for f in files:
        assert f.key in acks, "no acknowledged notification for %s" % f.key
        assert acks[f.key]["accountId"] == f.account_id and acks[f.key]["trackId"] == all_tid, acks[f.key]


def test_member_added_after_the_set_is_delivered_too(track_env, track_server, new_track_tenant, bucket, s3):
    """TrackForAllMembers covers every member account: one that joins after the set was created
    delivers its events appended after that."""
    mgmt = new_track_tenant()
    first = D.create_member_account(track_server, mgmt.account_id)
    rt = uid("res")
    src = uid("dl")
    tid = D.create_track(mgmt.admin, bucket=bucket, prefix="latejoin", resource_type=rt, TrackForAllMembers=1)
    late = D.create_member_account(track_server, mgmt.account_id)
    late_admin = track_server.create_key(late["AccountId"], "admin")
    evs = [make_event(src, "Late%d" % i, resourceType=rt) for i in range(5)]
    late_admin.put_ok(evs)
    files = _wait(track_env, s3, bucket, "latejoin", _ids(evs))
    D.check_layout(files, "latejoin", GZ, tid, account_ids={late["AccountId"]})
    D.check_exactly_once(files, _ids(evs), filters=_filters("*", rt), source=src)
    assert first


# ---- legacy audits


def test_legacy_audit_with_new_bucket_delivers(track_env, track_tenant, s3):
    admin = track_tenant.admin
    b = S3.new_bucket_name()
    name = D.track_name("audit")
    r = call(admin, "CreateAudit", D.audit_params(name=name, bucket=b, new_bucket=1, rw=2, LogFilePrefix="legacyA"))
    assert r["IsSuccess"] == 1
    assert S3.bucket_exists(s3, b)
    call(admin, "StartLogging", {"AuditName": name})
    tid = D.track_id_by_name(admin, name)
    src = uid("dl")
    w = [make_event(src, "W%d" % i, actionType="Write") for i in range(10)]
    rd = [make_event(src, "R%d" % i, actionType="Read") for i in range(10)]
    admin.put_ok(rd[:5] + w + rd[5:])
    files = _wait(track_env, s3, b, "legacyA", _ids(w))
    D.check_layout(files, "legacyA", GZ, tid, compress=True)
    D.check_exactly_once(files, _ids(w), filters=_filters("Write"), source=src, forbidden_ids=_ids(rd))


def test_legacy_audit_default_prefix_in_local_region(track_env, track_tenant, track_server):
    admin = track_tenant.admin
    b = S3.new_bucket_name()
    name = D.track_name("audit")
    call(admin, "CreateAudit", D.audit_params(name=name, bucket=b, region="local", new_bucket=1, rw=3))
    call(admin, "StartLogging", {"AuditName": name})
    tid = D.track_id_by_name(admin, name)
    src = uid("dl")
    evs = [make_event(src, "L%d" % i) for i in range(10)]
    admin.put_ok(evs)
    read = lambda: D.read_local_files(track_server.data_dir, b, "cloudaudit/")  # noqa: E731
    files = D.wait_for_ids(read, _ids(evs), timeout=90, log=lambda: track_server.log_tail(30))
    D.check_layout(files, "cloudaudit", "local", tid, compress=True)
    D.check_exactly_once(files, _ids(evs), source=src)


def test_legacy_cmq_notify_posts_to_the_named_queue(track_env, track_tenant, bucket, s3):
    admin = track_tenant.admin
    name = D.track_name("audit")
    # storage in ap-shanghai (no channels); the queue is ap-nanjing's nj-queue (secret from a 0600 file)
    call(admin, "CreateAudit", D.audit_params(name=name, bucket=bucket, region="ap-shanghai", rw=3,
                                              LogFilePrefix="cmqtest", cmq=1, CmqQueueName="nj-queue",
                                              CmqRegion="ap-nanjing", IsCreateNewQueue=0))
    call(admin, "StartLogging", {"AuditName": name})
    tid = D.track_id_by_name(admin, name)
    src = uid("dl")
    ids = []
    for i in range(3):
        evs = [make_event(src, "Q%d_%d" % (i, j)) for j in range(5)]
        admin.put_ok(evs)
        ids += _ids(evs)
        time.sleep(1.5)
    files = _wait(track_env, s3, bucket, "cmqtest", ids)
    D.check_layout(files, "cmqtest", "ap-shanghai", tid)
    D.check_exactly_once(files, ids, source=src)
    acked = W.wait_acks(track_env.hooks, "/nj", files, track_env.nj_secret, bucket, tid, {track_tenant.account_id})
    assert len(acked) == len(files)
    assert track_env.hooks.all("/nj-other", bucket) == [], "only the named queue of ap-nanjing is notified"
    assert track_env.hooks.all("/gz", bucket) == []
    # notification off: later files are not posted
    call(admin, "UpdateAudit", {"AuditName": name, "IsEnableCmqNotify": 0})
    later = [make_event(src, "Later%d" % j) for j in range(5)]
    admin.put_ok(later)
    files2 = _wait(track_env, s3, bucket, "cmqtest", ids + _ids(later), settle=3)
    new_keys = {f.key for f in files2} - {f.key for f in files}
    assert new_keys
    posted = {r.json()["objectKeys"][0] for r in track_env.hooks.all("/nj", bucket)}
    assert not (new_keys & posted), "IsEnableCmqNotify=0: no message for later files"


# ---- local region, AppId buckets


def test_local_region_files(track_env, track_tenant, track_server):
    admin = track_tenant.admin
    b = S3.new_bucket_name()
    tid = D.create_track(admin, region="local", bucket=b, prefix="localpfx", compress=2)
    src = uid("dl")
    evs = [make_event(src, "Local%d" % i) for i in range(12)]
    admin.put_ok(evs)
    read = lambda: D.read_local_files(track_server.data_dir, b, "localpfx/")  # noqa: E731
    files = D.wait_for_ids(read, _ids(evs), timeout=90, log=lambda: track_server.log_tail(30))
    D.check_layout(files, "localpfx", "local", tid, compress=False, account_ids={track_tenant.account_id})
    D.check_exactly_once(files, _ids(evs), source=src)


def test_app_id_bucket_receives_the_files(track_env, track_tenant, s3):
    admin = track_tenant.admin
    name = S3.new_bucket_name()
    full = S3.create_bucket(s3, name + "-1250000000")
    p = D.track_params(bucket=name, prefix="appid", resource_type=uid("res"))
    p["Storage"]["StorageAppId"] = "1250000000"
    tid = call(admin, "CreateAuditTrack", p)["TrackId"]
    src = uid("dl")
    evs = [make_event(src, "App%d" % i, resourceType=p["ResourceType"]) for i in range(5)]
    admin.put_ok(evs)
    files = _wait(track_env, s3, full, "appid", _ids(evs))
    D.check_layout(files, "appid", GZ, tid)
    D.check_exactly_once(files, _ids(evs), source=src)


def test_every_channel_of_the_storage_region_is_notified(track_env, track_tenant, bucket, s3):
    """ap-nanjing has two channels (nj-queue with a secret file, nj-other with a secret env): each gets
    one signed message per file, with its own secret."""
    admin = track_tenant.admin
    rt = uid("res")
    tid = D.create_track(admin, region="ap-nanjing", bucket=bucket, prefix="twochan", resource_type=rt)
    src = uid("dl")
    ids = []
    for i in range(2):
        evs = [make_event(src, "N%d_%d" % (i, j), resourceType=rt) for j in range(5)]
        admin.put_ok(evs)
        ids += _ids(evs)
        time.sleep(1.5)
    files = _wait(track_env, s3, bucket, "twochan", ids)
    D.check_layout(files, "twochan", "ap-nanjing", tid)
    D.check_exactly_once(files, ids, source=src)
    W.wait_acks(track_env.hooks, "/nj", files, track_env.nj_secret, bucket, tid, {track_tenant.account_id})
    W.wait_acks(track_env.hooks, "/nj-other", files, track_env.hook_secret, bucket, tid, {track_tenant.account_id})
    assert track_env.hooks.all("/gz", bucket) == []


def test_region_credentials_and_signing_region_are_used(spawn_server, tmp_path, moto, s3, make_proxy):
    """Requests to the store are SigV4-signed with the region's credentials (file or env) and its
    signingRegion (default: the region's name), as seen on the wire by a proxy."""
    px_file, px_env = make_proxy(moto.port), make_proxy(moto.port)
    creds = D.write_secret_file(tmp_path / "creds.json", json.dumps(
        {"AccessKeyId": "AKIAFILECREDS0001", "SecretAccessKey": "fileSecretKey0001"}))
    regions = D.write_regions(tmp_path / "regions.json", [
        D.s3_region("ap-files", px_file.url, creds_file=creds, signing_region="eu-west-3"),
        D.s3_region("ap-envs", px_env.url, signing_region=None),
    ])
    srv = spawn_server(extra_args=["--regions", regions, "--delivery-interval", "1"], env=D.s3_env()).start()
    root = srv.root()
    b = S3.create_bucket(s3, S3.new_bucket_name())
    rt = uid("res")
    D.create_track(root, region="ap-files", bucket=b, prefix="viafile", resource_type=rt)
    D.create_track(root, region="ap-envs", bucket=b, prefix="viaenv", resource_type=rt)
    src = uid("dl")
    evs = [make_event(src, "Sig%d" % i, resourceType=rt) for i in range(5)]
    root.put_ok(evs)
    D.wait_for_ids(_read(s3, b, "viafile"), _ids(evs), timeout=60, settle=0, log=srv.log_tail)
    D.wait_for_ids(_read(s3, b, "viaenv"), _ids(evs), timeout=60, settle=0, log=srv.log_tail)
    assert px_file.credentials_seen and px_env.credentials_seen, "no SigV4-signed request seen"
    assert {(k, r, svc) for k, _, r, svc in px_file.credentials_seen} == {("AKIAFILECREDS0001", "eu-west-3", "s3")}
    assert {(k, r, svc) for k, _, r, svc in px_env.credentials_seen} == {(S3.S3_ACCESS_KEY, "ap-envs", "s3")}


# ---- status and metrics


def test_tracks_status_after_delivery(track_env, track_tenant, bucket, s3):
    admin = track_tenant.admin
    rt = uid("res")
    name = D.track_name()
    tid = D.create_track(admin, bucket=bucket, name=name, prefix="statuspfx", resource_type=rt)
    src = uid("dl")
    evs = [make_event(src, "S%d" % i, resourceType=rt) for i in range(25)]
    admin.put_ok(evs)
    files = _wait(track_env, s3, bucket, "statuspfx", _ids(evs), settle=0)
    rows = D.wait_status(track_env.server, tid,
                         lambda rs: rs[0].get("LagEvents") == 0 and rs[0].get("PendingNotifications") == 0
                         and rs[0].get("Files") == len(D.read_s3_files(s3, bucket, "statuspfx/")),
                         timeout=60)
    assert len(rows) == 1
    row = rows[0]
    for f in ("TrackId", "AccountId", "Name", "Status", "Region", "Bucket", "Prefix", "DeliveredSequence",
              "DeliveredAt", "LagEvents", "LagSeconds", "Files", "Events", "PendingNotifications"):
        assert f in row, "tracks status lacks %s: %r" % (f, row)
    assert row["AccountId"] == track_tenant.account_id and row["Name"] == name
    assert (row["Region"], row["Bucket"], row["Prefix"]) == (GZ, bucket, "statuspfx")
    assert row["Status"] in (1, "1", True, "on", "enabled", "active", "Enabled", "Active", "running")
    assert isinstance(row["DeliveredSequence"], int) and row["DeliveredSequence"] > 0
    assert not row.get("LastError")
    files = D.read_s3_files(s3, bucket, "statuspfx/")
    assert row["Events"] == sum(len(f.records) for f in files)
    assert row["DeliveredSequence"] >= max(f.first_seq for f in D.check_layout(files, "statuspfx", GZ, tid)[
        track_tenant.account_id])
    # --account filters
    assert D.status_rows(track_env.server, tid, account=track_tenant.account_id)
    other = D.tracks_status(track_env.server, account=1)
    assert [r for r in other if r.get("TrackId") == tid] == []


def test_tracks_status_json_lists_every_documented_field(track_env, track_tenant, bucket):
    """The contract lists the status fields per set and account; a JSON consumer finds each key, also
    when there is no error yet (null or empty)."""
    tid = D.create_track(track_tenant.admin, bucket=bucket, prefix="fieldspfx")
    rows = D.wait_status(track_env.server, tid, lambda rs: True, timeout=30)
    for f in ("TrackId", "AccountId", "Name", "Status", "Region", "Bucket", "Prefix", "DeliveredSequence",
              "DeliveredAt", "LagEvents", "LagSeconds", "LastError", "LastErrorAt", "Files", "Events",
              "PendingNotifications"):
        assert f in rows[0], "tracks status --output json lacks %s: %r" % (f, rows[0])


def test_tracks_status_table_output(track_env, track_tenant, bucket):
    tid = D.create_track(track_tenant.admin, bucket=bucket, prefix="tablepfx")
    p = track_env.server.cli("tracks", "status", "--account", str(track_tenant.account_id))
    assert str(tid) in p.stdout_text and bucket in p.stdout_text


def test_metrics_export_delivery_gauges(track_env, track_tenant, bucket, s3):
    admin = track_tenant.admin
    rt = uid("res")
    tid = D.create_track(admin, bucket=bucket, prefix="metricpfx", resource_type=rt)
    src = uid("dl")
    evs = [make_event(src, "M%d" % i, resourceType=rt) for i in range(3)]
    admin.put_ok(evs)
    _wait(track_env, s3, bucket, "metricpfx", _ids(evs), settle=0)
    # the gauges are refreshed every few seconds, not at each file: poll until the set's series shows
    deadline = time.time() + 30
    while True:
        r = requests.get(track_env.server.url + "/metrics", headers={"Authorization": "Bearer " + D.METRICS_TOKEN}, timeout=10)
        assert r.status_code == 200
        lines = [ln for ln in r.text.splitlines() if ln.startswith("cloudaudit_delivery_")]
        if any(('"%d"' % tid) in ln for ln in lines):
            break
        assert time.time() < deadline, ("GET /metrics exports no cloudaudit_delivery_* gauges" if not lines else
                                         "no cloudaudit_delivery_* series for set %d after 30 s" % tid)
        time.sleep(0.5)


# ---- file size bound and flush interval


def test_max_events_bounds_files_and_full_files_go_at_once(spawn_server, moto, s3, tmp_path):
    regions = D.write_regions(tmp_path / "regions.json", [D.s3_region(GZ, moto.url)])
    srv = spawn_server(extra_args=["--regions", regions, "--delivery-interval", "20", "--delivery-max-events", "50"],
                       env=D.s3_env()).start()
    root = srv.root()
    b = S3.create_bucket(s3, S3.new_bucket_name())
    rt = uid("res")
    tid = D.create_track(root, bucket=b, prefix="bounded", resource_type=rt)
    src = uid("dl")
    evs = [make_event(src, "B%03d" % i, resourceType=rt) for i in range(120)]
    t0 = time.time()
    root.put_ok(evs)
    # two full files (100 events) are written at once, long before the 20 s interval
    read = _read(s3, b, "bounded")
    full = D.wait_for_ids(read, _ids(evs[:100]), timeout=15, settle=0, log=lambda: srv.log_tail(30))
    t_read = time.time()
    early = set(D.delivered_ids(full))
    assert not (early & set(_ids(evs[100:]))) or t_read - t0 >= 20, (
        "the 20 leftover events were written %.1f s after the put, before the 20 s interval" % (t_read - t0))
    files = D.wait_for_ids(read, _ids(evs), timeout=90, settle=2, log=lambda: srv.log_tail(30))
    D.check_layout(files, "bounded", GZ, tid)
    D.check_exactly_once(files, _ids(evs), source=src)
    assert all(len(f.records) <= 50 for f in files), [len(f.records) for f in files]
    assert len(files) >= 3
