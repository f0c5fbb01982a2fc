"""Managed keys (KMS) and envelope encryption, black-box: `cloudaudit kms create-key/list/disable/enable`,
ListKeyAliasByRegion paging through the official SDK, the KMS fields of UpdateAudit/CreateAudit and of
the tracking-set actions (docs/contract.md, "KMS keys"), and `cloudaudit decrypt` of files made by an
independent implementation of the envelope format (docs/integrity.md, "Envelope encryption").

The server under test is `track_env` (regions ap-guangzhou, ap-shanghai, ap-nanjing on moto, ap-beijing,
and the built-in `local`)."""

import gzip
import json


import deliverysupport as D
import kmssupport as K
from deliverysupport import call, expect_code
from support import expect_error, run_cli, uid

IPV = "InvalidParameterValue"


def _aliases(key, region, limit=None, offset=None):
    p = {"KmsRegion": region}
    if limit is not None:
        p["Limit"] = limit
    if offset is not None:
        p["Offset"] = offset
    return call(key, "ListKeyAliasByRegion", p)


def _one_line_error(p, *needles):
    assert p.returncode == 1, "expected exit status 1, got %s (stdout %r, stderr %r)" % (p.returncode, p.stdout_text, p.stderr_text)
    lines = [l for l in p.stderr_text.splitlines() if l.strip()]
    assert len(lines) == 1, "expected a one-line error, got %r" % p.stderr_text
    assert lines[0].startswith("Error: "), lines[0]
    for n in needles:
        assert n in lines[0], "%r not in %r" % (n, lines[0])
    assert "Traceback" not in p.stderr_text and ".swift" not in p.stderr_text
    return lines[0]


# ---- kms create-key / ListKeyAliasByRegion


def test_create_key_then_list_key_alias_by_region_pages(track_env, track_tenant, track_tenant2):
    admin = track_tenant.admin
    made = [K.create_key(track_env, track_tenant.account_id, alias="audit/key-%d" % i) for i in range(5)]
    nj = K.create_key(track_env, track_tenant.account_id, region="ap-nanjing", alias="audit/key-0")
    theirs = K.create_key(track_env, track_tenant2.account_id, alias="audit/key-0")

    r = _aliases(admin, "ap-guangzhou")
    assert r["TotalCount"] == 5
    got = {m["KeyId"]: m["Alias"] for m in r["KeyMetadatas"]}
    assert got == {k["KeyId"]: k["Alias"] for k in made}, r

    # pages: Limit/Offset walk the same order without repeats or gaps
    pages = []
    for offset in range(0, 6, 2):
        p = _aliases(admin, "ap-guangzhou", limit=2, offset=offset)
        assert p["TotalCount"] == 5
        assert len(p["KeyMetadatas"]) == min(2, 5 - offset), p
        pages += [m["KeyId"] for m in p["KeyMetadatas"]]
    assert pages == [m["KeyId"] for m in r["KeyMetadatas"]]
    assert _aliases(admin, "ap-guangzhou", limit=10, offset=7)["KeyMetadatas"] in (None, [])
    assert [m["KeyId"] for m in _aliases(admin, "ap-guangzhou", limit=1)["KeyMetadatas"]] == pages[:1]

    assert [m["KeyId"] for m in _aliases(admin, "ap-nanjing")["KeyMetadatas"]] == [nj["KeyId"]]
    assert _aliases(admin, "ap-shanghai")["TotalCount"] == 0
    # an account sees only its own keys; an auditor may list
    assert [m["KeyId"] for m in _aliases(track_tenant2.admin, "ap-guangzhou")["KeyMetadatas"]] == [theirs["KeyId"]]
    assert _aliases(track_tenant.key("auditor"), "ap-guangzhou")["TotalCount"] == 5
    expect_error("InvalidParameterValue.KmsRegionError", call, admin, "ListKeyAliasByRegion", {"KmsRegion": "ap-mars"})


def test_create_key_cli_errors(track_env, track_tenant):
    acct = str(track_tenant.account_id)
    base = ["kms", "create-key", "--account", acct, "--regions", track_env.regions_path]
    for bad in ("KMS-reserved", "has space", "x" * 61, "dot.ted", ""):
        p = K.kms(track_env, *base, "--region", "ap-guangzhou", "--alias", bad, check=False)
        _one_line_error(p, "alias")
    _one_line_error(K.kms(track_env, *base, "--region", "ap-mars", "--alias", uid("k"), check=False), "ap-mars", "ap-guangzhou")
    # without the regions file only `local` is configured
    p = track_env.server.cli("kms", "create-key", "--account", acct, "--region", "ap-guangzhou", "--alias", uid("k"),
                             check=False, env=K.cli_env(track_env.server))
    _one_line_error(p, "ap-guangzhou", "--regions")
    alias = uid("dup")
    K.create_key(track_env, track_tenant.account_id, alias=alias)
    _one_line_error(K.kms(track_env, *base, "--region", "ap-guangzhou", "--alias", alias, check=False), alias)
    K.create_key(track_env, track_tenant.account_id, region="ap-nanjing", alias=alias)  # same alias, other region: fine
    p = K.kms(track_env, "kms", "create-key", "--account", "999999999999", "--region", "local", "--alias", uid("k"), check=False)
    _one_line_error(p, "999999999999")
    # `local` needs no regions file
    out = json.loads(track_env.server.cli("kms", "create-key", "--account", acct, "--region", "local", "--alias", uid("loc"),
                                          env=K.cli_env(track_env.server)).stdout_text)
    assert out["Region"] == "local"


def test_kms_list_disable_enable(track_env, track_tenant):
    admin = track_tenant.admin
    a = K.create_key(track_env, track_tenant.account_id, alias=uid("a"))
    b = K.create_key(track_env, track_tenant.account_id, alias=uid("b"))
    rows = K.list_keys(track_env, account_id=track_tenant.account_id)
    assert rows == sorted(rows, key=lambda r: (r["CreatedAt"], r["KeyId"])), "oldest first"
    assert {r["KeyId"] for r in rows} == {a["KeyId"], b["KeyId"]}
    for r in rows:
        assert set(r) == {"KeyId", "Alias", "Region", "AccountId", "Status", "CreatedAt"}, "no key material: %r" % r
        assert r["Status"] == "enabled" and r["AccountId"] == track_tenant.account_id
    assert K.list_keys(track_env, account_id=track_tenant.account_id, region="ap-nanjing") == []
    table = K.kms(track_env, "kms", "list", "--account", str(track_tenant.account_id)).stdout_text
    assert a["KeyId"] in table and a["Alias"] in table

    out = json.loads(K.kms(track_env, "kms", "disable", a["KeyId"]).stdout_text)
    assert out == {"KeyId": a["KeyId"], "Status": "disabled"}
    status = {r["KeyId"]: r["Status"] for r in K.list_keys(track_env, account_id=track_tenant.account_id)}
    assert status == {a["KeyId"]: "disabled", b["KeyId"]: "enabled"}, "a disabled key stays listed by the CLI"
    listed = _aliases(admin, "ap-guangzhou")
    assert [m["KeyId"] for m in listed["KeyMetadatas"]] == [b["KeyId"]], "ListKeyAliasByRegion lists enabled keys only"
    assert listed["TotalCount"] == 1

    K.kms(track_env, "kms", "enable", a["KeyId"])
    assert _aliases(admin, "ap-guangzhou")["TotalCount"] == 2
    _one_line_error(K.kms(track_env, "kms", "disable", "00000000-0000-4000-8000-000000000000", check=False), "no KMS key")


# ---- UpdateAudit / CreateAudit


def test_update_audit_kms_fields(track_env, track_tenant, track_tenant2, bucket):
    admin = track_tenant.admin
    key = K.create_key(track_env, track_tenant.account_id, alias=uid("audit"))
    nj = K.create_key(track_env, track_tenant.account_id, region="ap-nanjing", alias=uid("nj"))
    foreign = K.create_key(track_env, track_tenant2.account_id, alias=uid("theirs"))
    off = K.create_key(track_env, track_tenant.account_id, alias=uid("off"))
    K.kms(track_env, "kms", "disable", off["KeyId"])

    p = D.audit_params(bucket=bucket)
    call(admin, "CreateAudit", p)
    name = p["AuditName"]
    before = call(admin, "DescribeAudit", {"AuditName": name})

    def upd(**kw):
        return call(admin, "UpdateAudit", dict({"AuditName": name}, **kw))

    expect_error("MissingParameter", upd, IsEnableKmsEncry=1, KmsRegion="ap-guangzhou")
    expect_error("InvalidParameterValue.KmsRegionError", upd, IsEnableKmsEncry=1, KeyId=key["KeyId"], KmsRegion="ap-nanjing")
    e = expect_error(IPV, upd, IsEnableKmsEncry=1, KeyId="00000000-0000-4000-8000-000000000000", KmsRegion="ap-guangzhou")
    assert "ListKeyAliasByRegion" in e.message
    expect_error(IPV, upd, IsEnableKmsEncry=1, KeyId=foreign["KeyId"], KmsRegion="ap-guangzhou")
    e = expect_error(IPV, upd, IsEnableKmsEncry=1, KeyId=off["KeyId"], KmsRegion="ap-guangzhou")
    assert "disabled" in e.message
    expect_error("InvalidParameterValue.KmsRegionError", upd, IsEnableKmsEncry=1, KeyId=nj["KeyId"], KmsRegion="ap-guangzhou")
    d = call(admin, "DescribeAudit", {"AuditName": name})
    assert d == dict(before, RequestId=d["RequestId"]), "a refused UpdateAudit changed the audit"

    assert upd(IsEnableKmsEncry=1, KeyId=key["KeyId"], KmsRegion="ap-guangzhou")["IsSuccess"] == 1
    d = call(track_tenant.key("auditor"), "DescribeAudit", {"AuditName": name})
    assert (d["IsEnableKmsEncry"], d["KeyId"], d["KmsRegion"], d["KmsAlias"]) == (1, key["KeyId"], "ap-guangzhou", key["Alias"])
    # moving the bucket away from the key's region is refused while encryption is on
    expect_error("InvalidParameterValue.KmsRegionError", upd, CosRegion="ap-shanghai")
    assert upd(IsEnableKmsEncry=0)["IsSuccess"] == 1
    assert call(admin, "DescribeAudit", {"AuditName": name})["IsEnableKmsEncry"] == 0


def test_create_audit_with_a_key(track_env, track_tenant, bucket):
    key = K.create_key(track_env, track_tenant.account_id, alias=uid("c"))
    p = D.audit_params(bucket=bucket, IsEnableKmsEncry=1, KeyId=key["KeyId"], KmsRegion="ap-guangzhou")
    call(track_tenant.admin, "CreateAudit", p)
    d = call(track_tenant.admin, "DescribeAudit", {"AuditName": p["AuditName"]})
    assert (d["IsEnableKmsEncry"], d["KeyId"], d["KmsAlias"]) == (1, key["KeyId"], key["Alias"])
    bad = D.audit_params(bucket=bucket, IsEnableKmsEncry=1, KeyId="kms-unknown", KmsRegion="ap-guangzhou")
    expect_error(IPV, call, track_tenant.admin, "CreateAudit", bad)
    names = {a["AuditName"] for a in call(track_tenant.admin, "ListAudits").get("AuditSummarys") or []}
    assert bad["AuditName"] not in names


# ---- tracking sets


def test_tracking_sets_with_kms(track_env, track_tenant, bucket):
    admin = track_tenant.admin
    key = K.create_key(track_env, track_tenant.account_id, alias=uid("set"))
    kms = {"IsEnableKmsEncry": 1, "KeyId": key["KeyId"], "KmsRegion": "ap-guangzhou"}
    # the SDK's request models drop fields they do not know: send exactly this JSON
    tid = call(admin, "CreateAuditTrack", D.track_params(bucket=bucket, **kms), common=True)["TrackId"]
    d = call(admin, "DescribeAuditTrack", {"TrackId": tid}, common=True)
    assert (d["IsEnableKmsEncry"], d["KeyId"], d["KmsRegion"]) == (1, key["KeyId"], "ap-guangzhou")
    # the official client still reads the set
    assert D.describe_track(admin, tid)["Storage"]["StorageName"] == bucket
    listed = [t for t in call(admin, "DescribeAuditTracks", {"PageNumber": 1, "PageSize": 100}, common=True)["Tracks"]
              if t["TrackId"] == tid]
    assert listed and listed[0]["KeyId"] == key["KeyId"]
    # it reads back through DescribeAudit too, alias included
    name = d["Name"]
    a = call(admin, "DescribeAudit", {"AuditName": name})
    assert (a["IsEnableKmsEncry"], a["KeyId"], a["KmsAlias"]) == (1, key["KeyId"], key["Alias"])

    plain = D.create_events_track(admin, [("cvm", "Write", ["*"])], bucket=bucket)
    pd = call(admin, "DescribeAuditTrack", {"TrackId": plain}, common=True)
    assert "IsEnableKmsEncry" not in pd and "KeyId" not in pd, "a set without encryption keeps the official shape"

    expect_code("MissingParameter", call, admin, "ModifyEventsAuditTrack",
                {"TrackId": plain, "IsEnableKmsEncry": 1, "KmsRegion": "ap-guangzhou"}, common=True)
    expect_code("InvalidParameterValue.KmsRegionError", call, admin, "ModifyAuditTrack",
                {"TrackId": plain, "IsEnableKmsEncry": 1, "KeyId": key["KeyId"], "KmsRegion": "ap-nanjing"}, common=True)
    expect_code("InvalidParameterValue.KmsRegionError", call, admin, "ModifyAuditTrack",
                {"TrackId": tid, "Storage": D.storage("ap-shanghai", bucket)}, common=True)
    expect_code(IPV, call, admin, "CreateEventsAuditTrack",
                D.events_track_params([("cvm", "Write", ["*"])], bucket=bucket, IsEnableKmsEncry=1, KeyId="nope",
                                      KmsRegion="ap-guangzhou"), common=True)
    K.kms(track_env, "kms", "disable", key["KeyId"])
    expect_code(IPV, call, admin, "ModifyEventsAuditTrack", dict({"TrackId": plain}, **kms), common=True)
    K.kms(track_env, "kms", "enable", key["KeyId"])
    call(admin, "ModifyEventsAuditTrack", dict({"TrackId": plain}, **kms), common=True)
    assert call(admin, "DescribeAuditTrack", {"TrackId": plain}, common=True)["KeyId"] == key["KeyId"]
    call(admin, "ModifyAuditTrack", {"TrackId": tid, "IsEnableKmsEncry": 0}, common=True)
    assert "KeyId" not in call(admin, "DescribeAuditTrack", {"TrackId": tid}, common=True)


# ---- decrypt


def _lines(n):
    return b"".join(json.dumps({"eventId": uid("ev"), "eventName": "RunInstances", "marker": "PLAINTEXT-%d" % i}).encode() + b"\n"
                    for i in range(n))


def test_decrypt_files_of_the_documented_format(track_env, track_tenant, tmp_path):
    srv = track_env.server
    key = K.create_key(track_env, track_tenant.account_id, alias=uid("dec"))
    material = K.key_material(srv, key["KeyId"])
    lines = _lines(50)
    gz = gzip.compress(lines)
    enc = tmp_path / "file.json.gz.enc"
    enc.write_bytes(K.seal(gz, key["KeyId"], material))
    assert b"PLAINTEXT" not in enc.read_bytes() and b"RunInstances" not in enc.read_bytes()

    out = tmp_path / "out.json.gz"
    p = srv.cli("decrypt", str(enc), "-o", str(out))
    assert p.stdout_text == "" and out.read_bytes() == gz, "decrypt writes the gzip as delivered"
    assert (out.stat().st_mode & 0o077) == 0, "the plaintext file is owner-only"
    _one_line_error(srv.cli("decrypt", str(enc), "-o", str(out), check=False), "exists")
    srv.cli("decrypt", str(enc), "-o", str(out), "--gunzip", "--force")
    assert out.read_bytes() == lines
    assert srv.cli("decrypt", str(enc), "--gunzip").stdout == lines, "stdout by default"
    plain = tmp_path / "plain.json.enc"
    plain.write_bytes(K.seal(lines, key["KeyId"], material))
    assert srv.cli("decrypt", str(plain), "--gunzip").stdout == lines, "plain lines pass --gunzip unchanged"

    # tampering anywhere is a clean failure, with nothing written
    data = enc.read_bytes()
    for i in (0, 5, 9, len(data) // 2, len(data) - 1):
        t = bytearray(data)
        t[i] ^= 0x01
        bad = tmp_path / ("t%d.enc" % i)
        bad.write_bytes(bytes(t))
        p = srv.cli("decrypt", str(bad), check=False)
        _one_line_error(p)
        assert p.stdout == b"", "nothing of a failed decryption is written"
    _one_line_error(srv.cli("decrypt", str(tmp_path / "missing.enc"), check=False), "missing.enc")
    notenc = tmp_path / "plain.json.gz"
    notenc.write_bytes(gz)
    _one_line_error(srv.cli("decrypt", str(notenc), check=False), "not an encrypted file")
    unknown = tmp_path / "unknown.enc"
    unknown.write_bytes(K.seal(gz, "00000000-0000-4000-8000-000000000000", material))
    _one_line_error(srv.cli("decrypt", str(unknown), check=False), "does not exist")
    wrong = tmp_path / "wrong.enc"
    wrong.write_bytes(K.seal(gz, key["KeyId"], bytes(32)))
    _one_line_error(srv.cli("decrypt", str(wrong), check=False), key["KeyId"])

    # a disabled key refuses decryption until enabled again
    K.kms(track_env, "kms", "disable", key["KeyId"])
    line = _one_line_error(srv.cli("decrypt", str(enc), check=False), "disabled")
    K.kms(track_env, "kms", "enable", key["KeyId"])
    assert srv.cli("decrypt", str(enc)).stdout == gz

    # another deployment (other data dir, other master key) cannot read it
    other = tmp_path / "other-data"
    run_cli(["kms", "list", "--data-dir", str(other)])
    _one_line_error(run_cli(["decrypt", str(enc), "--data-dir", str(other)], check=False), key["KeyId"])
    # no key material is ever printed
    for text in (line, json.dumps(K.list_keys(track_env))):
        assert material.hex() not in text
