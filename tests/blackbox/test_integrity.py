"""Integrity features (docs/integrity.md), checked from the outside: the signed checkpoints and the
RFC 6962 proofs of GetCheckpoint / GetInclusionProof / GetConsistencyProof, recomputed and verified in
Python from the records LookUpEvents returns; the deployment's Ed25519 signing key (file, public
form, restart, rotation, an operator-given key); and the signed, chained digest files a tracking set
writes to the `local` region, whose log files and skipped subtrees must rebuild each digest's
checkpoint.

Everything cryptographic is done here independently of the server: SHA-256 from hashlib, Ed25519 from
the `cryptography` package, the RFC 9162 verification algorithms written out in merkle_ref.py.
"""

import base64
import gzip
import hashlib
import json
import os
import re
import stat
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

import deliverysupport as D
import s3server as S3
import support
from merkle_ref import (
    EMPTY_ROOT,
    CompactRange,
    decompose,
    leaf_hash,
    mth,
    sha256,
    verify_consistency,
    verify_inclusion,
)
from support import (
    ServerStartError,
    expect_error,
    lookup_all,
    make_event,
    run_cli,
    start_server,
    uid,
)

# --------------------------------------------------------------------------------------------------
# keys, notes, checkpoints


def parse_verifier_key(text):
    """`<name>+<hash hex>+<base64(0x01 || key)>` -> (name, raw 32-byte key); checks the key hash."""
    text = text.strip()
    name, hash_hex, b64 = text.split("+", 2)
    blob = base64.b64decode(b64)
    assert len(blob) == 33 and blob[0] == 1, "not an Ed25519 verifier key: %r" % text
    raw = blob[1:]
    want = sha256(name.encode() + b"\n" + b"\x01" + raw)[:4].hex()
    assert hash_hex == want, "key hash %s of %r is not SHA-256(name\\n0x01key)[:4] = %s" % (hash_hex, text, want)
    return name, raw


def verifier_key(name, raw):
    return "%s+%s+%s" % (name, sha256(name.encode() + b"\n\x01" + raw)[:4].hex(),
                         base64.b64encode(b"\x01" + raw).decode())


def private_key_text(name, seed):
    pub = Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return "PRIVATE+KEY+%s+%s+%s" % (name, sha256(name.encode() + b"\n\x01" + pub)[:4].hex(),
                                     base64.b64encode(b"\x01" + seed).decode())


def new_keypair(name):
    """(private key object, verifier key text, private key text) of a fresh Ed25519 key."""
    priv = Ed25519PrivateKey.generate()
    seed = priv.private_bytes_raw()
    raw = priv.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return priv, verifier_key(name, raw), private_key_text(name, seed)


def ed25519_ok(raw_key, sig, msg):
    try:
        Ed25519PublicKey.from_public_bytes(raw_key).verify(sig, msg)
        return True
    except InvalidSignature:
        return False


def open_note(note, keys):
    """Checks a C2SP signed note against verifier keys; returns (body, signer key text). Raises
    AssertionError when no trusted key signed it."""
    assert note.endswith("\n"), "a signed note ends with a newline: %r" % note
    body, sep, sigs = note.rpartition("\n\n")
    assert sep, "no blank line between body and signatures: %r" % note
    body += "\n"
    trusted = {}
    for k in keys:
        name, raw = parse_verifier_key(k)
        trusted[(name, sha256(name.encode() + b"\n\x01" + raw)[:4])] = (raw, k)
    seen = []
    for line in sigs.splitlines():
        if not line:
            continue
        assert line.startswith("\u2014 "), "a signature line starts with an em dash and a space: %r" % line
        name, b64 = line[2:].split(" ")
        blob = base64.b64decode(b64)
        assert len(blob) == 68, "signature blob is 4 + 64 bytes: %r" % line
        seen.append(name)
        hit = trusted.get((name, blob[:4]))
        if hit and ed25519_ok(hit[0], blob[4:], body.encode()):
            return body, hit[1]
    raise AssertionError("no trusted key's valid signature on the note (signers %s)" % seen)


def note_verifies(note, keys):
    try:
        open_note(note, keys)
        return True
    except AssertionError:
        return False


def parse_checkpoint(note, keys):
    body, signer = open_note(note, keys)
    lines = body.split("\n")[:-1]
    assert len(lines) == 4, "a checkpoint body is four lines: %r" % body
    m = re.fullmatch(r"timestamp (\d+)", lines[3])
    assert m, "fourth line is `timestamp N`: %r" % lines[3]
    assert re.fullmatch(r"\d+", lines[1]), lines[1]
    root = base64.b64decode(lines[2], validate=True)
    assert len(root) == 32
    return {"origin": lines[0], "size": int(lines[1]), "root": root, "timestamp": int(m.group(1)), "signer": signer}


def signing_public(srv, env=None):
    """`cloudaudit keys signing-public`: (verifier key, fingerprint line)."""
    p = srv.cli("keys", "signing-public", env=env)
    lines = [ln.strip() for ln in p.stdout_text.splitlines() if ln.strip()]
    assert len(lines) == 2, "keys signing-public prints the key then its fingerprint: %r" % p.stdout_text
    return lines[0], lines[1]


# --------------------------------------------------------------------------------------------------
# API helpers


def api(key, action, params=None):
    return key.common().call_json(action, params or {})["Response"]


def checkpoint_of(key, size=None):
    return api(key, "GetCheckpoint", {} if size is None else {"TreeSize": size})


def check_checkpoint_response(r, pub, account_id, size=None):
    """The response fields agree with the signed note; returns the parsed note."""
    for f in ("TreeSize", "RootHash", "Timestamp", "Checkpoint"):
        assert f in r, "GetCheckpoint lacks %s: %r" % (f, r)
    cp = parse_checkpoint(r["Checkpoint"], [pub])
    keyname = parse_verifier_key(pub)[0]
    assert cp["origin"] == "%s/accounts/%d" % (keyname, account_id), cp["origin"]
    assert cp["size"] == r["TreeSize"], (cp, r)
    assert cp["root"].hex() == r["RootHash"], (cp["root"].hex(), r["RootHash"])
    assert cp["timestamp"] == r["Timestamp"], (cp, r)
    if size is not None:
        assert r["TreeSize"] == size, "TreeSize %s, expected %s" % (r["TreeSize"], size)
    return cp


def all_records(key):
    """Every event of the key's account in the test's window: {EventId: record string}."""
    return {e["EventId"]: e["CloudAuditEvent"] for e in lookup_all(key, [])}


def leaves_by_index(key, records, size):
    """Leaf index of every record that is in the tree of `size` (GetInclusionProof with TreeSize),
    checking LeafHash = SHA-256(0x00 || record) and the proof against the size's root on the way.
    Returns {index: leaf hash}."""
    root = bytes.fromhex(checkpoint_of(key, size)["RootHash"])
    out = {}
    for eid, rec in records.items():
        try:
            r = api(key, "GetInclusionProof", {"EventId": eid, "TreeSize": size})
        except support.TencentCloudSDKException as e:
            assert e.code == "InvalidParameterValue.TreeSize", "%s: %s %s" % (eid, e.code, e.message)
            continue  # appended after `size`
        assert r["EventId"] == eid and r["TreeSize"] == size, r
        idx = r["LeafIndex"]
        assert idx not in out, "two events with leaf index %d" % idx
        assert r["LeafHash"] == leaf_hash(rec).hex(), (
            "LeafHash of %s is not SHA-256(0x00 || CloudAuditEvent)" % eid)
        assert verify_inclusion(idx, size, leaf_hash(rec), [bytes.fromhex(h) for h in r["AuditPath"]], root), (
            "inclusion proof of %s (leaf %d) does not verify against the root of size %d" % (eid, idx, size))
        out[idx] = leaf_hash(rec)
    return out


def ids(evs):
    return [e["eventId"] for e in evs]


@pytest.fixture
def keys3(tenant):
    """(account id, ingest key, auditor key) of a fresh account."""
    return tenant.account_id, tenant.key("ingest"), tenant.key("auditor")


@pytest.fixture(scope="module")
def pubkey(server):
    return signing_public(server)[0]


# --------------------------------------------------------------------------------------------------
# GetCheckpoint


def test_checkpoint_is_a_signed_note_of_the_accounts_events(server, keys3, pubkey):
    acct, ingest, auditor = keys3
    src = uid("ig")
    evs = [make_event(src, "Cp%d" % i) for i in range(5)] + [make_event(src, "Cp%d" % i, resourceName="名前-%d" % i)
                                                           for i in range(5, 9)]
    ingest.put_ok(evs[:4])
    ingest.put_ok(evs[4:])
    # PutEvents is not self-audited and this is the account's first other call: the log holds exactly
    # the 9 events.
    r = checkpoint_of(auditor)
    cp = check_checkpoint_response(r, pubkey, acct, size=9)
    assert abs(cp["timestamp"] - time.time()) < 120, cp
    # the root is the RFC 6962 root of the records in sequence order
    recs = all_records(auditor)
    mine = {i: recs[i] for i in ids(evs)}
    assert len(mine) == 9
    leaves = leaves_by_index(auditor, mine, 9)
    assert sorted(leaves) == list(range(9)), "the 9 events must be leaves 0..8: %s" % sorted(leaves)
    assert mth([leaves[i] for i in range(9)]) == cp["root"], "RootHash is not the RFC 6962 root of the records"
    # events of one PutEvents call are appended in input order
    by_id = {leaf_hash(mine[e]): e for e in mine}
    assert [by_id[leaves[i]] for i in range(9)] == ids(evs)
    # a note changed by one byte does not verify
    bad = r["Checkpoint"].replace("\n9\n", "\n10\n", 1)
    assert not note_verifies(bad, [pubkey])


def test_tree_size_counts_every_event_including_self_audit(server, keys3, pubkey):
    acct, ingest, auditor = keys3
    src = uid("ig")
    ingest.put_ok([make_event(src, "A%d" % i) for i in range(4)])
    # auditor calls are recorded in the account (asynchronously) and become leaves too: wait until
    # at least the four calls below are (each poll is a call too, and only adds leaves)
    for _ in range(3):
        checkpoint_of(auditor)
    lookup_all(auditor, [("EventSource", src)])
    deadline = time.time() + 30
    while True:
        r = checkpoint_of(auditor)
        if r["TreeSize"] >= 4 + 4:
            break
        assert time.time() < deadline, "the auditor's calls are not in the log after 30 s: size %d" % r["TreeSize"]
        time.sleep(0.2)
    cp = check_checkpoint_response(r, pubkey, acct)
    size = r["TreeSize"]
    assert size >= 4 + 4, "the account's own API calls are events of its log: size %d" % size
    recs = all_records(auditor)
    self_audit = [i for i, rec in recs.items() if json.loads(rec).get("eventSource") == "cloudaudit.api"]
    assert self_audit, "no self-audit events found"
    leaves = leaves_by_index(auditor, recs, size)
    assert sorted(leaves) == list(range(size)), (
        "TreeSize %d must count exactly the account's events: leaves found %s" % (size, sorted(leaves)))
    assert mth([leaves[i] for i in range(size)]) == cp["root"]


def test_checkpoint_of_an_earlier_size(server, keys3, pubkey):
    acct, ingest, auditor = keys3
    src = uid("ig")
    evs = [make_event(src, "E%d" % i) for i in range(7)]
    ingest.put_ok(evs)
    first = checkpoint_of(auditor)
    check_checkpoint_response(first, pubkey, acct, size=7)
    recs = all_records(auditor)
    leaves = [leaf_hash(recs[i]) for i in ids(evs)]  # one call: input order is sequence order
    for n in (1, 2, 3, 4, 5, 6, 7):
        r = checkpoint_of(auditor, n)
        cp = check_checkpoint_response(r, pubkey, acct, size=n)
        assert cp["root"] == mth(leaves[:n]), "root of size %d" % n
    # the same size again: the kept checkpoint
    assert checkpoint_of(auditor, 3)["Checkpoint"] == checkpoint_of(auditor, 3)["Checkpoint"]
    assert checkpoint_of(auditor, 7)["RootHash"] == first["RootHash"]
    # the empty tree
    r = checkpoint_of(auditor, 0)
    cp = check_checkpoint_response(r, pubkey, acct, size=0)
    assert cp["root"] == EMPTY_ROOT
    # sizes the log has not reached, or negative
    big = checkpoint_of(auditor)["TreeSize"] + 1000
    expect_error("InvalidParameterValue.TreeSize", checkpoint_of, auditor, big)
    expect_error("InvalidParameterValue.TreeSize", checkpoint_of, auditor, -1)


# --------------------------------------------------------------------------------------------------
# GetInclusionProof


def test_inclusion_proofs_verify(server, keys3, pubkey):
    acct, ingest, auditor = keys3
    src = uid("ig")
    evs = [make_event(src, "In%d" % i) for i in range(13)]
    ingest.put_ok(evs)
    recs = all_records(auditor)
    for n, e in enumerate(evs):
        rec = recs[e["eventId"]]
        r = api(auditor, "GetInclusionProof", {"EventId": e["eventId"]})
        for f in ("EventId", "LeafIndex", "LeafHash", "AuditPath", "TreeSize", "RootHash", "Checkpoint"):
            assert f in r, "GetInclusionProof lacks %s: %r" % (f, r)
        cp = check_checkpoint_response(r, pubkey, acct)
        assert r["LeafIndex"] == n
        assert r["LeafHash"] == leaf_hash(rec).hex()
        path = [bytes.fromhex(h) for h in r["AuditPath"]]
        assert verify_inclusion(n, cp["size"], leaf_hash(rec), path, cp["root"]), (
            "proof of leaf %d in size %d does not verify" % (n, cp["size"]))
        # a wrong leaf or index does not verify with the same path
        assert not verify_inclusion(n, cp["size"], leaf_hash(rec + " "), path, cp["root"])
        if cp["size"] > 1:
            assert not verify_inclusion(n ^ 1 if (n ^ 1) < cp["size"] else n - 1, cp["size"], leaf_hash(rec), path,
                                        cp["root"])
    # proofs in earlier trees (TreeSize), including the smallest one holding the leaf
    for n, size in ((0, 1), (4, 5), (5, 8), (6, 7), (12, 13), (3, 13), (8, 9)):
        rec = recs[evs[n]["eventId"]]
        r = api(auditor, "GetInclusionProof", {"EventId": evs[n]["eventId"], "TreeSize": size})
        cp = check_checkpoint_response(r, pubkey, acct, size=size)
        assert verify_inclusion(n, size, leaf_hash(rec), [bytes.fromhex(h) for h in r["AuditPath"]], cp["root"]), (
            "leaf %d in size %d" % (n, size))


def test_inclusion_proof_errors(server, tenant, tenant2):
    ingest, auditor = tenant.key("ingest"), tenant.key("auditor")
    src = uid("ig")
    evs = [make_event(src, "Err%d" % i) for i in range(4)]
    ingest.put_ok(evs)
    other = [make_event(src, "Other")]
    tenant2.admin.put_ok(other)
    gip = lambda p: api(auditor, "GetInclusionProof", p)  # noqa: E731
    expect_error("MissingParameter", gip, {})
    expect_error("MissingParameter", gip, {"EventId": ""})
    expect_error("ResourceNotFound.EventNotExist", gip, {"EventId": uid("nope")})
    # another account's event: not found (no leak of its existence)
    e = expect_error("ResourceNotFound.EventNotExist", gip, {"EventId": other[0]["eventId"]})
    assert str(tenant2.account_id) not in e.message
    unknown = uid("nope")
    e2 = expect_error("ResourceNotFound.EventNotExist", gip, {"EventId": unknown})
    assert e.message.replace(other[0]["eventId"], "X") == e2.message.replace(unknown, "X"), (
        "another account's event must look exactly like an unknown one: %r vs %r" % (e.message, e2.message))
    size = checkpoint_of(auditor)["TreeSize"]
    # beyond the log, below the leaf (leaf 2 needs a tree of at least 3), negative
    expect_error("InvalidParameterValue.TreeSize", gip, {"EventId": evs[0]["eventId"], "TreeSize": size + 50})
    expect_error("InvalidParameterValue.TreeSize", gip, {"EventId": evs[2]["eventId"], "TreeSize": 2})
    expect_error("InvalidParameterValue.TreeSize", gip, {"EventId": evs[2]["eventId"], "TreeSize": 0})
    expect_error("InvalidParameterValue.TreeSize", gip, {"EventId": evs[0]["eventId"], "TreeSize": -1})
    expect_error("InvalidParameter", gip, {"EventId": evs[0]["eventId"], "TreeSize": "many"})
    # the boundary itself is fine
    assert api(auditor, "GetInclusionProof", {"EventId": evs[2]["eventId"], "TreeSize": 3})["LeafIndex"] == 2


# --------------------------------------------------------------------------------------------------
# GetConsistencyProof


def test_consistency_proofs_verify(server, keys3, pubkey):
    acct, ingest, auditor = keys3
    src = uid("ig")
    evs = [make_event(src, "Co%d" % i) for i in range(13)]
    ingest.put_ok(evs)
    recs = all_records(auditor)
    leaves = [leaf_hash(recs[i]) for i in ids(evs)]
    pairs = [(1, 2), (1, 13), (2, 3), (3, 7), (4, 8), (4, 13), (5, 13), (6, 8), (7, 8), (8, 13), (12, 13), (7, 7), (13, 13)]
    for a, b in pairs:
        r = api(auditor, "GetConsistencyProof", {"FirstTreeSize": a, "SecondTreeSize": b})
        for f in ("FirstTreeSize", "SecondTreeSize", "FirstRootHash", "SecondRootHash", "Proof"):
            assert f in r, "GetConsistencyProof lacks %s: %r" % (f, r)
        assert (r["FirstTreeSize"], r["SecondTreeSize"]) == (a, b)
        r1, r2 = mth(leaves[:a]), mth(leaves[:b])
        assert r["FirstRootHash"] == r1.hex() and r["SecondRootHash"] == r2.hex(), "roots of sizes %d, %d" % (a, b)
        # the roots agree with the signed checkpoints of those sizes
        assert checkpoint_of(auditor, a)["RootHash"] == r1.hex()
        proof = [bytes.fromhex(h) for h in r["Proof"]]
        assert verify_consistency(a, b, r1, r2, proof), "consistency proof %d -> %d does not verify" % (a, b)
        if a != b:
            assert not verify_consistency(a, b, sha256(b"other"), r2, proof)
            assert not verify_consistency(a, b, r1, sha256(b"other"), proof)
    # up to the current log, which also holds the auditor's own calls
    cur = checkpoint_of(auditor)
    cp = check_checkpoint_response(cur, pubkey, acct)
    r = api(auditor, "GetConsistencyProof", {"FirstTreeSize": 13, "SecondTreeSize": cp["size"]})
    assert r["SecondRootHash"] == cur["RootHash"]
    assert verify_consistency(13, cp["size"], mth(leaves), cp["root"], [bytes.fromhex(h) for h in r["Proof"]])
    r0 = api(auditor, "GetConsistencyProof", {"FirstTreeSize": 0, "SecondTreeSize": 5})
    assert r0["FirstRootHash"] == EMPTY_ROOT.hex() and r0["Proof"] == []


def test_consistency_proof_errors(server, keys3):
    acct, ingest, auditor = keys3
    ingest.put_ok([make_event(uid("ig"), "X%d" % i) for i in range(5)])
    size = checkpoint_of(auditor)["TreeSize"]
    gcp = lambda p: api(auditor, "GetConsistencyProof", p)  # noqa: E731
    expect_error("InvalidParameterValue.TreeSize", gcp, {"FirstTreeSize": 4, "SecondTreeSize": 3})
    expect_error("InvalidParameterValue.TreeSize", gcp, {"FirstTreeSize": 2, "SecondTreeSize": size + 100})
    expect_error("InvalidParameterValue.TreeSize", gcp, {"FirstTreeSize": size + 100, "SecondTreeSize": size + 200})
    expect_error("InvalidParameterValue.TreeSize", gcp, {"FirstTreeSize": -1, "SecondTreeSize": 3})
    expect_error("InvalidParameterValue.TreeSize", gcp, {"FirstTreeSize": 1, "SecondTreeSize": -3})
    expect_error("MissingParameter", gcp, {"SecondTreeSize": 3})
    expect_error("MissingParameter", gcp, {"FirstTreeSize": 3})
    expect_error("MissingParameter", gcp, {})
    expect_error("InvalidParameter", gcp, {"FirstTreeSize": "x", "SecondTreeSize": 3})


# --------------------------------------------------------------------------------------------------
# roles, tccli


def test_roles(server, tenant):
    src = uid("ig")
    ingest = tenant.key("ingest")
    evs = [make_event(src, "R%d" % i) for i in range(3)]
    ingest.put_ok(evs)
    for who in (tenant.key("auditor"), tenant.admin):
        assert api(who, "GetCheckpoint")["TreeSize"] >= 3
        assert api(who, "GetInclusionProof", {"EventId": evs[1]["eventId"]})["LeafIndex"] == 1
        assert "Proof" in api(who, "GetConsistencyProof", {"FirstTreeSize": 1, "SecondTreeSize": 3})
    for who in (ingest, tenant.key("service")):
        expect_error("AuthFailure.UnauthorizedOperation", api, who, "GetCheckpoint")
        expect_error("AuthFailure.UnauthorizedOperation", api, who, "GetInclusionProof", {"EventId": evs[1]["eventId"]})
        expect_error("AuthFailure.UnauthorizedOperation", api, who, "GetConsistencyProof",
                     {"FirstTreeSize": 1, "SecondTreeSize": 3})


def test_tccli_integrity_actions(server, tenant, tmp_path, pubkey):
    auditor = tenant.key("auditor")
    tenant.key("ingest").put_ok([make_event(uid("ig"), "T")])
    p = support.run_tccli(server, auditor, tmp_path, ["GetCheckpoint"])
    err = (p.stdout + p.stderr).decode("utf-8", "replace")
    if p.returncode != 0 and re.search(r"invalid choice|not found|Unknown action|is not a valid", err, re.I):
        pytest.skip("tccli's API model has no GetCheckpoint (a CloudAudit-only action): %s" % err.strip()[-200:])
    assert p.returncode == 0, err
    out = json.loads(p.stdout)
    check_checkpoint_response(out, pubkey, tenant.account_id)


# --------------------------------------------------------------------------------------------------
# verify-event (positive path; the tampered cases are in test_tamper.py)


def verify_event(srv, key, event_id, pub, *extra):
    env = support.clean_env(TENCENTCLOUD_SECRET_ID=key.secret_id, TENCENTCLOUD_SECRET_KEY=key.secret_key)
    return run_cli(["verify-event", event_id, "--public-key", pub, "--endpoint", srv.url] + list(extra), check=False,
                   env=env)


def test_verify_event_cli(server, keys3, pubkey, tmp_path):
    acct, ingest, auditor = keys3
    evs = [make_event(uid("ig"), "V%d" % i) for i in range(3)]
    ingest.put_ok(evs)
    saved = tmp_path / "cp.note"
    p = verify_event(server, auditor, evs[1]["eventId"], pubkey, "--save-checkpoint", str(saved))
    assert p.returncode == 0, p.stdout_text + p.stderr_text
    assert "VERIFIED" in p.stdout_text and "NOT VERIFIED" not in p.stdout_text
    cp = parse_checkpoint(saved.read_text(), [pubkey])
    assert cp["origin"].endswith("/accounts/%d" % acct)
    ingest.put_ok([make_event(uid("ig"), "Later")])
    p = verify_event(server, auditor, evs[2]["eventId"], pubkey, "--checkpoint", str(saved), "--output", "json")
    assert p.returncode == 0, p.stdout_text + p.stderr_text
    out = json.loads(p.stdout_text)
    assert out["Verified"] is True and out["LeafIndex"] == 2 and out["AccountId"] == acct
    assert {c["Name"]: c["Passed"] for c in out["Checks"]} == {"checkpoint": True, "record": True, "inclusion": True,
                                                               "consistency": True}
    # another deployment's key: the checkpoint does not verify
    _, other_pub, _ = new_keypair("cloudaudit")
    p = verify_event(server, auditor, evs[1]["eventId"], other_pub)
    assert p.returncode == 1, p.stdout_text + p.stderr_text
    assert "NOT VERIFIED" in p.stdout_text
    # unknown event: a request error (exit 2), not a verdict
    p = verify_event(server, auditor, uid("nope"), pubkey)
    assert p.returncode == 2 and "EventNotExist" in p.stderr_text + p.stdout_text


# --------------------------------------------------------------------------------------------------
# the signing key


def _start(spawn_server, **kw):
    srv = spawn_server(**kw)
    srv.start()
    return srv


def _account(srv):
    acct = srv.create_account(uid("acct"))["AccountId"]
    return acct, srv.create_key(acct, "ingest"), srv.create_key(acct, "auditor")


def test_signing_key_file_and_public_form(spawn_server):
    srv = _start(spawn_server)
    key_path = Path(srv.data_dir) / "signing.key"
    assert key_path.is_file(), "the first start creates <data-dir>/signing.key"
    mode = stat.S_IMODE(key_path.stat().st_mode)
    assert mode == 0o600, "signing.key must be 0600, is %o" % mode
    text = key_path.read_text().strip()
    m = re.fullmatch(r"PRIVATE\+KEY\+([^+\s]+)\+([0-9a-f]{8})\+(\S+)", text)
    assert m, "signing.key is PRIVATE+KEY+<name>+<hash>+<base64>: %r" % text[:30]
    seed = base64.b64decode(m.group(3))[1:]
    raw = Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    pub, fp = signing_public(srv)
    name, praw = parse_verifier_key(pub)
    assert name == m.group(1) and praw == raw, "keys signing-public is not the public half of signing.key"
    assert m.group(2) == sha256(name.encode() + b"\n\x01" + raw)[:4].hex()
    assert fp == "SHA256:" + hashlib.sha256(raw).hexdigest(), fp
    ring = json.loads((Path(srv.data_dir) / "signing-keys.json").read_text())
    assert [(e["VerifierKey"], e.get("ValidUntil")) for e in ring] == [(pub, None)]
    all_ = support.parse_json_output(srv.cli("keys", "signing-public", "--all"))
    assert [e["VerifierKey"] for e in all_] == [pub] and all_[0]["Fingerprint"] == fp
    assert isinstance(all_[0]["ValidFrom"], int) and abs(all_[0]["ValidFrom"] - time.time()) < 300


def test_keyring_lists_valid_until_null_for_the_current_key(spawn_server):
    """docs/integrity.md: signing-keys.json lists every key "with `ValidFrom` and `ValidUntil` (null for
    the current key)" -- the member is there, null, for a consumer that reads it."""
    srv = spawn_server()
    os.makedirs(srv.data_dir, exist_ok=True)
    pub = signing_public(srv)[0]
    ring = json.loads((Path(srv.data_dir) / "signing-keys.json").read_text())
    assert len(ring) == 1 and ring[0]["VerifierKey"] == pub
    assert "ValidUntil" in ring[0] and ring[0]["ValidUntil"] is None, (
        "the current key's entry must have \"ValidUntil\": null, got %r" % ring[0])
    all_ = support.parse_json_output(srv.cli("keys", "signing-public", "--all"))
    assert "ValidUntil" in all_[0] and all_[0]["ValidUntil"] is None, all_[0]


def test_restart_keeps_the_key_and_rotation(spawn_server):
    srv = _start(spawn_server)
    acct, ingest, auditor = _account(srv)
    key1 = signing_public(srv)[0]
    ingest.put_ok([make_event(uid("ig"), "K%d" % i) for i in range(3)])
    cp1 = checkpoint_of(auditor)
    check_checkpoint_response(cp1, key1, acct, size=3)
    srv.restart()
    ingest.put_ok([make_event(uid("ig"), "K2")])
    cp2 = checkpoint_of(auditor)
    check_checkpoint_response(cp2, key1, acct)
    assert cp2["TreeSize"] > 3
    srv.stop()
    p = srv.cli("keys", "rotate-signing")
    lines = [ln for ln in p.stdout_text.splitlines() if ln.strip()]
    key2 = lines[0].strip()
    parse_verifier_key(key2)
    assert key2 != key1
    srv.start(port=srv.port)
    ingest.put_ok([make_event(uid("ig"), "K3")])
    cp3 = checkpoint_of(auditor)
    c3 = check_checkpoint_response(cp3, key2, acct)
    assert not note_verifies(cp3["Checkpoint"], [key1]), "a checkpoint after rotation verifies with the old key"
    assert signing_public(srv)[0] == key2
    ring = support.parse_json_output(srv.cli("keys", "signing-public", "--all"))
    by_key = {e["VerifierKey"]: e for e in ring}
    assert set(by_key) == {key1, key2}, ring
    assert isinstance(by_key[key1]["ValidUntil"], int) and by_key[key1]["ValidUntil"] >= by_key[key1]["ValidFrom"]
    assert by_key[key2].get("ValidUntil") is None and by_key[key2]["ValidFrom"] >= by_key[key1]["ValidUntil"]
    # checkpoints saved before the rotation still verify with the old key, and the log is consistent
    c1 = check_checkpoint_response(cp1, key1, acct)
    assert not note_verifies(cp1["Checkpoint"], [key2])
    r = api(auditor, "GetConsistencyProof", {"FirstTreeSize": c1["size"], "SecondTreeSize": c3["size"]})
    assert verify_consistency(c1["size"], c3["size"], c1["root"], c3["root"], [bytes.fromhex(h) for h in r["Proof"]])
    # the private key file was replaced, still 0600
    assert stat.S_IMODE((Path(srv.data_dir) / "signing.key").stat().st_mode) == 0o600


def test_operator_signing_key_file(spawn_server, tmp_path):
    name = "ops-" + uid("k")[2:12]
    _, pub, priv_text = new_keypair(name)
    kf = tmp_path / "ops.key"
    kf.write_text(priv_text + "\n")
    os.chmod(kf, 0o600)
    srv = _start(spawn_server, env={"CLOUDAUDIT_SIGNING_KEY_FILE": str(kf)})
    acct, ingest, auditor = _account(srv)
    ingest.put_ok([make_event(uid("ig"), "O%d" % i) for i in range(2)])
    r = checkpoint_of(auditor)
    cp = check_checkpoint_response(r, pub, acct, size=2)
    assert cp["origin"] == "%s/accounts/%d" % (name, acct)
    env = support.clean_env(CLOUDAUDIT_SIGNING_KEY_FILE=str(kf))
    assert signing_public(srv, env=env)[0] == pub
    # rotation is the operator's job then
    p = srv.cli("keys", "rotate-signing", env=env, check=False)
    assert p.returncode != 0 and "CLOUDAUDIT_SIGNING_KEY_FILE" in p.stderr_text + p.stdout_text


def test_readable_signing_key_is_refused(spawn_server, tmp_path):
    _, pub, priv_text = new_keypair("cloudaudit")
    kf = tmp_path / "grp.key"
    kf.write_text(priv_text + "\n")
    os.chmod(kf, 0o640)
    srv = spawn_server(env={"CLOUDAUDIT_SIGNING_KEY_FILE": str(kf)})
    with pytest.raises(ServerStartError) as ei:
        srv.start()
    msg = str(ei.value)
    assert str(kf) in msg and re.search(r"chmod 600|owner-only|other users|permission", msg, re.I), msg[-1500:]
    assert "Traceback" not in msg and "Fatal error" not in msg
    # the deployment's own key too
    own = spawn_server()
    own.start()
    own.stop()
    os.chmod(Path(own.data_dir) / "signing.key", 0o644)
    with pytest.raises(ServerStartError) as ei:
        own.start()
    assert "signing.key" in str(ei.value) and re.search(r"chmod 600|owner-only|other users", str(ei.value), re.I)


# --------------------------------------------------------------------------------------------------
# digests on the local folder region


DIGEST_KEY_RE = re.compile(r"^(?P<prefix>[^/]+)/CloudAudit-Digest/(?P<hour>\d{10})/(?P<account>\d+)_CloudAudit-Digest_"
                           r"(?P<track>\d+)_(?P<stamp>\d{8}T\d{6}Z)\.json$")
SIG_MARKER = b',"Signature":"'


def stamp_time(stamp):
    return int(datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc).timestamp())


def read_bucket(root, prefix):
    """{key: bytes} of every object under <root>/<prefix>/ (a local-region bucket folder)."""
    root = Path(root)
    out = {}
    if not root.is_dir():
        return out
    for p in sorted(root.rglob("*")):
        if p.is_file() and not p.name.startswith("."):
            k = p.relative_to(root).as_posix()
            if k.startswith(prefix + "/") and not k.endswith((".tmp", ".part")):
                out[k] = p.read_bytes()
    return out


def split_objects(objs):
    digests = {k: v for k, v in objs.items() if "/CloudAudit-Digest/" in k}
    logs = {k: v for k, v in objs.items() if k not in digests}
    return digests, logs


def file_lines(key, raw):
    """The uncompressed content of a log file."""
    return gzip.decompress(raw) if key.endswith(".gz") else raw


def open_digest(raw, pub):
    """Checks a digest's signature in Python; returns the parsed object."""
    at = raw.rindex(SIG_MARKER)
    d = json.loads(raw)
    assert list(d)[-1] == "Signature", "Signature must be the last member: %s" % list(d)
    sig = base64.b64decode(d["Signature"])
    _, raw_key = parse_verifier_key(d["SigningKey"])
    assert d["SigningKey"] == pub, "digest signed by %s, expected the deployment key %s" % (d["SigningKey"], pub)
    assert ed25519_ok(raw_key, sig, raw[:at]), "digest signature does not verify over the bytes before ,\"Signature\":\""
    return d


def check_digests(objs, pub, account, track, prefix):
    """Every check of a (set, account)'s digests against its log files. Returns (digests in chain
    order, {log key: digest key})."""
    digests, logs = split_objects(objs)
    parsed = []
    for k, raw in digests.items():
        m = DIGEST_KEY_RE.match(k)
        assert m, "digest key does not follow <prefix>/CloudAudit-Digest/<YYYYMMDDHH>/<AccountId>_CloudAudit-Digest_" \
                  "<TrackId>_<YYYYMMDDTHHmmssZ>.json: %s" % k
        assert m.group("prefix") == prefix and int(m.group("account")) == account and int(m.group("track")) == track, k
        assert m.group("hour") == m.group("stamp")[:8] + m.group("stamp")[9:11], k
        d = open_digest(raw, pub)
        assert d["DigestVersion"] == 1 and d["AccountId"] == account and d["TrackId"] == track, d
        assert d["DigestEndTime"] == stamp_time(m.group("stamp")), "the key's time is the period's end: %s" % k
        assert d["DigestStartTime"] <= d["DigestEndTime"]
        cp = parse_checkpoint(d["Checkpoint"], [pub])
        assert cp["origin"] == "%s/accounts/%d" % (parse_verifier_key(pub)[0], account)
        assert cp["size"] >= d["TreeStart"]["Size"]
        parsed.append((k, d, cp))
    parsed.sort(key=lambda x: (x[1]["DigestEndTime"], x[0]))
    # the chain
    for i, (k, d, cp) in enumerate(parsed):
        if i == 0:
            assert d["PreviousDigestKey"] is None and d["PreviousDigestSignature"] is None, (
                "the set's first digest has no previous one: %s" % k)
            continue
        pk, pd, pcp = parsed[i - 1]
        assert d["PreviousDigestKey"] == pk, "%s links to %s, expected %s" % (k, d["PreviousDigestKey"], pk)
        assert d["PreviousDigestSignature"] == pd["Signature"], "%s: PreviousDigestSignature" % k
        assert d["DigestStartTime"] == pd["DigestEndTime"], "%s starts when %s ends" % (k, pk)
        assert d["TreeStart"]["Size"] == pcp["size"], "%s: TreeStart continues the previous checkpoint" % k
        ts = CompactRange(d["TreeStart"]["Size"], [bytes.fromhex(h) for h in d["TreeStart"]["Hashes"]])
        assert ts.root() == pcp["root"], "%s: TreeStart's root is the previous checkpoint's root" % k
    # the files
    listed = {}
    for k, d, cp in parsed:
        for f in d["LogFiles"]:
            assert f["Key"] not in listed, "%s is listed by %s and %s" % (f["Key"], listed.get(f["Key"]), k)
            listed[f["Key"]] = k
            assert f["Key"] in logs, "%s lists %s, which is not in the bucket" % (k, f["Key"])
            raw = logs[f["Key"]]
            content = file_lines(f["Key"], raw)
            assert f["ObjectSHA256"] == hashlib.sha256(raw).hexdigest(), "ObjectSHA256 of %s" % f["Key"]
            assert f["SHA256"] == hashlib.sha256(content).hexdigest(), "SHA256 of the lines of %s" % f["Key"]
            lines = content.decode().rstrip("\n").split("\n")
            assert f["Events"] == len(lines)
            times = [json.loads(x)["eventTime"] for x in lines]
            assert (f["FirstEventTime"], f["LastEventTime"]) == (min(times), max(times)), f
            assert sum(b - a + 1 for a, b in f["Sequences"]) == len(lines), f
        # the log: TreeStart + file lines + skipped subtrees rebuild the checkpoint
        segs = []
        for f in d["LogFiles"]:
            lines = file_lines(f["Key"], logs[f["Key"]]).decode().rstrip("\n").split("\n")
            i = 0
            for a, b in f["Sequences"]:
                assert a <= b
                segs.append((a, b, [(0, leaf_hash(x)) for x in lines[i:i + b - a + 1]]))
                i += b - a + 1
        for s in d["Skipped"]:
            nodes = decompose(s["From"] - 1, s["To"])
            assert len(nodes) == len(s["Subtrees"]), "Skipped %s: %d subtrees expected" % (s, len(nodes))
            segs.append((s["From"], s["To"], [(lvl, bytes.fromhex(h)) for (lvl, _), h in zip(nodes, s["Subtrees"])]))
        segs.sort()
        rng = CompactRange(d["TreeStart"]["Size"], [bytes.fromhex(h) for h in d["TreeStart"]["Hashes"]])
        nxt = rng.size + 1
        for a, b, parts in segs:
            assert a == nxt, "%s: sequences from %d are covered from %d (gap or overlap)" % (k, nxt, a)
            for lvl, h in parts:
                rng.append_subtree(lvl, h)
            nxt = b + 1
        assert nxt - 1 == cp["size"], "%s: files and skipped ranges reach %d, checkpoint size %d" % (k, nxt - 1, cp["size"])
        assert rng.root() == cp["root"], "%s: TreeStart + files + skipped do not rebuild the checkpoint root" % k
    return parsed, listed, logs


@pytest.fixture(scope="module")
def dg_server(tmp_path_factory):
    base = tmp_path_factory.mktemp("digest-server")
    srv = start_server(base, extra_args=["--delivery-interval", "1", "--digest-interval", "2", "--checkpoint-interval", "1"])
    yield srv
    srv.stop()


def _tenant_keys(srv):
    acct = srv.create_account(uid("acct"))["AccountId"]
    return acct, srv.create_key(acct, "admin"), srv.create_key(acct, "ingest"), srv.create_key(acct, "auditor")


def _wait_covered(srv, root, prefix, want_ids, pub, account, track, timeout=40, extra=lambda parsed: True):
    """Poll until every wanted event is in a log file, every log file is listed by a digest, and
    `extra(parsed)` holds; returns check_digests's result."""
    deadline = time.time() + timeout
    last = None
    while True:
        objs = read_bucket(root, prefix)
        digests, logs = split_objects(objs)
        got = set()
        for k, raw in logs.items():
            for line in file_lines(k, raw).decode().splitlines():
                got.add(json.loads(line)["eventId"])
        if set(want_ids) <= got and digests:
            try:
                res = check_digests(objs, pub, account, track, prefix)
                if set(res[1]) == set(logs) and extra(res[0]):
                    return res
                last = "files not yet all listed: %s" % sorted(set(logs) - set(res[1]))[:3]
            except (AssertionError, ValueError, OSError) as e:
                last = e
        else:
            last = "%d of %d events delivered, %d digests" % (len(set(want_ids) & got), len(want_ids), len(digests))
        if time.time() > deadline:
            raise AssertionError("digests not complete after %ss: %s\nserver log:\n%s" % (timeout, last, srv.log_tail(20)))
        time.sleep(0.5)


def _wait_delivered(srv, root, prefix, want_ids, timeout=40):
    """Poll until every wanted event is in a log file of the bucket folder."""
    deadline = time.time() + timeout
    while True:
        _, logs = split_objects(read_bucket(root, prefix))
        got = {json.loads(line)["eventId"] for k, raw in logs.items() for line in file_lines(k, raw).decode().splitlines()}
        if set(want_ids) <= got:
            return logs
        assert time.time() < deadline, "%d of %d events delivered after %ss\nserver log:\n%s" % (
            len(set(want_ids) & got), len(want_ids), timeout, srv.log_tail(20))
        time.sleep(0.3)


def test_digests_on_the_local_region(dg_server):
    srv = dg_server
    pub = signing_public(srv)[0]
    acct, admin, ingest, auditor = _tenant_keys(srv)
    b = S3.new_bucket_name()
    tid = D.create_track(admin, region="local", bucket=b, prefix="dgall")
    root = Path(srv.data_dir) / "buckets" / b
    src = uid("dg")
    want = []
    for i in range(3):
        evs = [make_event(src, "D%d_%d" % (i, j), resourceName="名-%d" % j) for j in range(6)]
        ingest.put_ok(evs)
        want += ids(evs)
        # each batch in a file of its own: wait until it is delivered before the next one
        _wait_delivered(srv, root, "dgall", want)
    parsed, listed, logs = _wait_covered(srv, root, "dgall", want, pub, acct, tid, extra=lambda ps: len(ps) >= 2)
    assert len(logs) >= 3 and len(parsed) >= 2, (len(logs), len(parsed))
    # periods without events still get a digest (so a missing one shows as a gap)
    last_file_end = max(d["DigestEndTime"] for k, d, _ in parsed if d["LogFiles"])
    parsed, listed, logs = _wait_covered(
        srv, root, "dgall", want, pub, acct, tid,
        extra=lambda ps: any(not d["LogFiles"] and not d["Skipped"] and d["DigestEndTime"] > last_file_end for _, d, _ in ps))
    ends = [d["DigestEndTime"] for _, d, _ in parsed]
    assert all(b - a <= 6 for a, b in zip(ends, ends[1:])), "digests every ~2 s expected: %s" % ends
    # the digest's checkpoint is the account's signed checkpoint of that size
    k, d, cp = parsed[-1]
    r = checkpoint_of(auditor, cp["size"])
    assert r["RootHash"] == cp["root"].hex()


def test_filtered_set_digests_have_skipped_ranges(dg_server):
    srv = dg_server
    pub = signing_public(srv)[0]
    acct, admin, ingest, auditor = _tenant_keys(srv)
    b = S3.new_bucket_name()
    tid = D.create_track(admin, region="local", bucket=b, prefix="dgw", action_type="Write")
    root = Path(srv.data_dir) / "buckets" / b
    src = uid("dg")
    writes, reads = [], []
    for i in range(2):
        w = [make_event(src, "W%d_%d" % (i, j), actionType="Write") for j in range(5)]
        r = [make_event(src, "R%d_%d" % (i, j), actionType="Read") for j in range(5)]
        ingest.put_ok([x for pair in zip(w, r) for x in pair])
        writes += w
        reads += r
        _wait_delivered(srv, root, "dgw", ids(writes))
    total = 20

    def enough(ps):
        return max(cp["size"] for _, _, cp in ps) >= total
    parsed, listed, logs = _wait_covered(srv, root, "dgw", ids(writes), pub, acct, tid, extra=enough)
    delivered = [json.loads(x) for k in logs for x in file_lines(k, logs[k]).decode().splitlines()]
    assert {r["actionType"] for r in delivered} == {"Write"}
    assert not set(ids(reads)) & {r["eventId"] for r in delivered}
    skipped = [s for _, d, _ in parsed for s in d["Skipped"]]
    assert skipped, "a Write-only set's digests list the Read events as Skipped ranges"
    n_skipped = sum(s["To"] - s["From"] + 1 for s in skipped)
    assert n_skipped >= len(reads), "%d skipped sequences for %d Read events" % (n_skipped, len(reads))
    # interleaved W/R: several single-event skipped ranges, each one leaf of a Read event
    recs = all_records(auditor)
    read_leaves = {leaf_hash(recs[i]).hex() for i in ids(reads)}
    singles = [s for s in skipped if s["From"] == s["To"]]
    assert singles and {s["Subtrees"][0] for s in singles} & read_leaves


def test_checkpoints_are_made_every_checkpoint_interval(dg_server):
    """--checkpoint-interval 1: the server signs a checkpoint of a grown log by itself; GetCheckpoint
    then returns that kept one (made before the call)."""
    srv = dg_server
    pub = signing_public(srv)[0]
    acct, admin, ingest, auditor = _tenant_keys(srv)
    ingest.put_ok([make_event(uid("cp"), "P%d" % i) for i in range(4)])
    time.sleep(3.2)
    t_call = time.time()
    r = checkpoint_of(auditor)
    check_checkpoint_response(r, pub, acct, size=4)
    assert r["Timestamp"] <= int(t_call) - 1, (
        "no checkpoint made by the server within the 1 s interval (timestamp %s, call at %s)" % (r["Timestamp"], t_call))


def test_stopping_a_set_writes_a_digest_of_its_last_files(spawn_server):
    srv = _start(spawn_server, extra_args=["--delivery-interval", "1", "--digest-interval", "3600"])
    pub = signing_public(srv)[0]
    acct, admin, ingest, auditor = _tenant_keys(srv)
    names = [D.track_name() for _ in range(3)]
    buckets = [S3.new_bucket_name() for _ in range(3)]
    tids = [D.create_track(admin, name=n, region="local", bucket=b, prefix="stops") for n, b in zip(names, buckets)]
    roots = [Path(srv.data_dir) / "buckets" / b for b in buckets]
    src = uid("dg")
    evs = [make_event(src, "S%d" % i) for i in range(6)]
    ingest.put_ok(evs)
    for r in roots:
        D.wait_for_ids(lambda r=r: D.read_local_files(srv.data_dir, r.name, "stops/"), ids(evs), timeout=40, settle=0,
                       log=srv.log_tail)
    for r in roots:
        assert not split_objects(read_bucket(r, "stops"))[0], "no digest before the 3600 s interval"
    D.call(admin, "StopLogging", {"AuditName": names[0]})
    D.call(admin, "ModifyAuditTrack", {"TrackId": tids[1], "Status": 0})
    for r, tid in zip(roots[:2], tids[:2]):
        # the stop digest: every delivered file listed (polled: it is written by the next delivery pass)
        parsed, listed, logs = _wait_covered(srv, r, "stops", ids(evs), pub, acct, tid, timeout=20)
        assert set(listed) == set(logs), "the stop digest covers every delivered file: %s" % (set(logs) - set(listed))
    assert not split_objects(read_bucket(roots[2], "stops"))[0]
    # shutdown writes the running set's digest
    assert srv.stop() == 0
    parsed, listed, logs = check_digests(read_bucket(roots[2], "stops"), pub, acct, tids[2], "stops")
    assert parsed, "SIGTERM must write the running set's digest"
    assert set(listed) == set(logs)


def test_final_digest_in_the_same_second_as_the_previous_one(spawn_server):
    """A digest written at shutdown in the same second as the set's previous digest must not take that
    digest's key: the key's time has one-second resolution, so the final digest would overwrite the
    previous one (which is lost) and name itself as its PreviousDigestKey. `cloudaudit verify` of the
    untouched bucket then reports a CHAIN problem."""
    srv = _start(spawn_server, extra_args=["--delivery-interval", "1", "--digest-interval", "1"])
    pub = signing_public(srv)[0]
    acct, admin, ingest, auditor = _tenant_keys(srv)
    b = S3.new_bucket_name()
    tid = D.create_track(admin, region="local", bucket=b, prefix="samesec")
    root = Path(srv.data_dir) / "buckets" / b
    first = [make_event(uid("dg"), "F%d" % i) for i in range(3)]
    ingest.put_ok(first)
    _wait_covered(srv, root, "samesec", ids(first), pub, acct, tid)
    # wait for a periodic digest of the current second, early in it; then new events and SIGTERM: the
    # final pass delivers them and writes the final digest, in the same second
    deadline = time.time() + 30
    while True:
        now = time.time()
        ends = {stamp_time(DIGEST_KEY_RE.match(k).group("stamp")) for k in split_objects(read_bucket(root, "samesec"))[0]}
        if int(now) in ends and now - int(now) < 0.5:
            break
        assert time.time() < deadline, "no digest every second: %s" % sorted(ends)
        time.sleep(0.02)
    before = set(split_objects(read_bucket(root, "samesec"))[0])
    ingest.put_ok([make_event(uid("dg"), "Last%d" % i) for i in range(3)])
    assert srv.stop() == 0
    objs = read_bucket(root, "samesec")
    digests = split_objects(objs)[0]
    selfref = [k for k, raw in digests.items() if json.loads(raw)["PreviousDigestKey"] == k]
    assert not selfref, "the final digest took the key of the previous digest (same second) and names itself " \
                        "as PreviousDigestKey; the previous digest was overwritten: %s" % selfref
    assert before <= set(digests), "digests disappeared: %s" % (before - set(digests))
    check_digests(objs, pub, acct, tid, "samesec")
    p = run_cli(["verify", "--folder", str(root), "--track", str(tid), "--public-key", pub, "--digest-interval", "1"],
                check=False)
    assert p.returncode == 0, "verify of the untouched bucket: %s %s" % (p.stdout_text, p.stderr_text)


# --------------------------------------------------------------------------------------------------
# verify before a digest lists the files: pending, not verified


PENDING_LINE_RE = re.compile(r"^PENDING  account (\d+): (\d+) log files? not yet listed by a digest \((.*)\); "
                             r"the next digest (is|was) due by (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ) \((.*)\)$")
VERIFY_SUMMARY_RE = re.compile(r"^(\d+)/(\d+) digest files valid, (\d+)/(\d+) log files valid; (.*)$")
VERIFY_PROBLEM_RE = re.compile(r"^(FORGED|GAP|CHAIN|MISSING|MOVED|MODIFIED|UNREADABLE|UNEXPECTED|LOG)  ")
EXIT_PENDING = 3


def rfc3339(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def key_time(key):
    return stamp_time(re.search(r"_(\d{8}T\d{6}Z)_", key).group(1))


def run_verify(root, tid, pub, interval):
    """`cloudaudit verify` of a bucket folder, text and json: (text process, parsed json)."""
    args = ["verify", "--folder", str(root), "--track", str(tid), "--public-key", pub, "--digest-interval", str(interval)]
    t = run_cli(args, check=False)
    j = run_cli(args + ["--output", "json"], check=False)
    try:
        js = json.loads(j.stdout_text)
    except ValueError:
        raise AssertionError("verify --output json printed no JSON:\n%s\n%s" % (j.stdout_text, j.stderr_text))
    assert j.returncode == t.returncode == js["ExitStatus"], (t.returncode, j.returncode, js.get("ExitStatus"))
    assert "Traceback" not in t.stderr_text and "Fatal error" not in t.stderr_text, t.stderr_text
    return t, js


def _verify_lines(t):
    out = t.stdout_text.splitlines()
    summary = [m for m in (VERIFY_SUMMARY_RE.match(ln) for ln in out) if m]
    assert len(summary) == 1, "one summary line expected:\n%s\n%s" % (t.stdout_text, t.stderr_text)
    return out, summary[0], [m for m in (PENDING_LINE_RE.match(ln) for ln in out) if m], \
        [ln for ln in out if VERIFY_PROBLEM_RE.match(ln)]


def test_verify_reports_files_no_digest_lists_yet(spawn_server):
    """verify never passes what it did not check. Digests come every --digest-interval (hourly here, as
    by default), so a running set's newest files are listed by no digest yet: verify checks everything
    the digests list, reports the rest as pending (how many, and when the next digest is due) and exits
    3, distinct from 0 (all verified) and 1 (a problem). Once a digest lists them (stopping a set writes
    it at once), it exits 0."""
    interval = 3600
    srv = _start(spawn_server, extra_args=["--delivery-interval", "1", "--digest-interval", str(interval)])
    pub = signing_public(srv)[0]
    acct, admin, ingest, auditor = _tenant_keys(srv)
    b = S3.new_bucket_name()
    rt = uid("res")
    tid = D.create_track(admin, region="local", bucket=b, prefix="pend", resource_type=rt)
    root = Path(srv.data_dir) / "buckets" / b
    src = uid("dg")

    # the help says what 3 means
    h = run_cli(["verify", "--help"])
    assert re.search(r"\b3 nothing wrong was found, but some files are pending", " ".join(h.stdout_text.split())), h.stdout_text

    # 1. delivered, no digest yet: every file pending, exit 3
    first = [make_event(src, "P%d" % i, resourceType=rt) for i in range(5)]
    ingest.put_ok(first)
    logs = _wait_delivered(srv, root, "pend", ids(first))
    assert not split_objects(read_bucket(root, "pend"))[0], "no digest before the %d s interval" % interval
    n, oldest, newest = len(logs), min(map(key_time, logs)), max(map(key_time, logs))
    t, js = run_verify(root, tid, pub, interval)
    out, summary, pending, problems = _verify_lines(t)
    assert t.returncode == EXIT_PENDING, "files no digest lists must not pass (exit %d expected):\n%s\n%s" % (
        EXIT_PENDING, t.stdout_text, t.stderr_text)
    assert problems == [], t.stdout_text
    assert len(pending) == 1, t.stdout_text
    m = pending[0]
    assert (int(m.group(1)), int(m.group(2))) == (acct, n), t.stdout_text
    assert "no digest yet" in m.group(3), t.stdout_text
    assert m.group(4) == "is" and m.group(5) == rfc3339(oldest + interval), (
        "the first digest is due one interval after the first file at the latest: %s" % t.stdout_text)
    assert m.group(6).startswith("in "), t.stdout_text
    assert summary.group(1, 2, 3, 4) == ("0", "0", "0", "0"), t.stdout_text
    assert summary.group(5).endswith("%d pending file%s" % (n, "" if n == 1 else "s")), t.stdout_text
    assert out[-1].startswith("NOT YET VERIFIED") and rfc3339(oldest + interval) in out[-1], t.stdout_text
    assert js["Verdict"] == "pending" and js["IsValid"] is True and js["IsComplete"] is False, js
    assert js["Problems"] == [] and js["Summary"]["Pending"] == n, js
    assert js["Pending"] == [{"AccountId": acct, "Files": n, "OldestFileTime": oldest, "NewestFileTime": newest,
                              "NextDigestDue": oldest + interval}], js["Pending"]
    assert sorted(f["Key"] for f in js["LogFiles"] if f["Status"] == "pending") == sorted(logs), js["LogFiles"]

    # 2. the set is stopped: its digest lists every file at once; exit 0
    D.call(admin, "ModifyAuditTrack", {"TrackId": tid, "Status": 0})
    parsed, listed, logs = _wait_covered(srv, root, "pend", ids(first), pub, acct, tid, timeout=30)
    t, js = run_verify(root, tid, pub, interval)
    out, summary, pending, problems = _verify_lines(t)
    assert t.returncode == 0, "every file listed by a digest: exit 0 expected:\n%s\n%s" % (t.stdout_text, t.stderr_text)
    assert pending == [] and problems == [] and "pending" not in summary.group(5), t.stdout_text
    assert summary.group(3) == summary.group(4) == str(len(logs)), t.stdout_text
    assert js["Verdict"] == "verified" and js["IsComplete"] is True and js["Pending"] == [], js
    stop_end = max(d["DigestEndTime"] for _, d, _ in parsed)

    # 3. started again, more events: the digested files verify, the newest are pending (the normal state
    # of a running set); the next digest is due one interval after the last one ended
    D.call(admin, "ModifyAuditTrack", {"TrackId": tid, "Status": 1})
    second = [make_event(src, "Q%d" % i, resourceType=rt) for i in range(4)]
    ingest.put_ok(second)
    all_logs = _wait_delivered(srv, root, "pend", ids(first + second))
    new = sorted(set(all_logs) - set(logs))
    assert new, "the second batch is in new files"
    t, js = run_verify(root, tid, pub, interval)
    out, summary, pending, problems = _verify_lines(t)
    assert t.returncode == EXIT_PENDING, "%s\n%s" % (t.stdout_text, t.stderr_text)
    assert problems == [] and len(pending) == 1, t.stdout_text
    m = pending[0]
    assert int(m.group(2)) == len(new) and m.group(5) == rfc3339(stop_end + interval), t.stdout_text
    assert "the newest digest ends %s" % rfc3339(stop_end) in m.group(3), t.stdout_text
    assert summary.group(1) == summary.group(2) and summary.group(3) == summary.group(4) == str(len(logs)), (
        "every file a digest lists is checked: %s" % t.stdout_text)
    assert "1 log check passed, 0 failed" in summary.group(5), t.stdout_text
    assert js["Verdict"] == "pending" and js["Pending"][0]["LastDigestEndTime"] == stop_end, js["Pending"]
    assert js["Pending"][0]["NextDigestDue"] == stop_end + interval, js["Pending"]
    assert {f["Key"]: f["Status"] for f in js["LogFiles"]} == dict([(k, "valid") for k in logs] + [(k, "pending") for k in new]), \
        js["LogFiles"]

    # 4. stopped again: the new digest lists them; exit 0
    D.call(admin, "ModifyAuditTrack", {"TrackId": tid, "Status": 0})
    _wait_covered(srv, root, "pend", ids(first + second), pub, acct, tid, timeout=30)
    t, js = run_verify(root, tid, pub, interval)
    assert t.returncode == 0 and js["Verdict"] == "verified", "%s\n%s" % (t.stdout_text, t.stderr_text)
    assert js["Summary"]["ValidLogFiles"] == len(all_logs) and js["Summary"]["Pending"] == 0, js["Summary"]
