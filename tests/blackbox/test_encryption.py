"""Encrypted delivery, black-box (docs/integrity.md "Envelope encryption" and "Digest files";
docs/contract.md "KMS keys" and "Integrity"; README "Encryption with managed keys (KMS)").

One server for the module, with a moto S3 region (ap-guangzhou) and the built-in `local` folder region,
`--delivery-interval 1 --digest-interval 2`. On both backends:

1. a tracking set made with IsEnableKmsEncry=1 / KeyId / KmsRegion (gzip and plain files), and a legacy
   audit switched to encryption with UpdateAudit, deliver only `<key>.enc` objects that start with
   `CAENC`, name the set's key, and hold none of the plaintext: no field value, no gzip that
   decompresses, no 8-byte substring of the records;
2. `cloudaudit decrypt FILE` (and `--gunzip`, `-o`) gives exactly what the set would have stored: the
   records of LookUpEvents' CloudAuditEvent, byte for byte, in sequence order (sequence = the leaf
   index of GetInclusionProof + 1); kmssupport's independent reader agrees byte for byte;
3. clean failures: another deployment's data dir, the same key store under another master key, a
   flipped ciphertext byte, a disabled key (decrypt refuses naming the key; delivery waits with a
   LastError naming it, writes no object and no plaintext anywhere, and resumes after `kms enable`
   with every event exactly once);
4. `cloudaudit verify` (run once the digests list every delivered file: one they do not list yet is
   pending, exit 3) with `--data-dir` checks the log from the decrypted files (every log check
   passed); without it the files are valid as stored and the log checks of the digests that list
   files are "not checked" (exit 0, as BucketVerifier/VerifyCommand implement it); a flipped byte
   in an `.enc` object is MODIFIED (exit 1), with or without `--data-dir`.
"""

import gzip
import hashlib
import json
import os
import re
import shutil
import struct
import time
import uuid
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import deliverysupport as D
import kmssupport as K
import s3server as S3
import storage_backend
from deliverysupport import call
from support import (
    Server,
    clean_env,
    lookup_all,
    make_event,
    run_cli,
    start_server,
    uid,
)

GZ = "ap-guangzhou"
DIGEST_INTERVAL = 2
BACKENDS = ("s3", "local")
DELIVERY_TIMEOUT = 60
DIGEST_MARK = "/CloudAudit-Digest/"
SUMMARY_RE = re.compile(r"^(\d+)/(\d+) digest files valid, (\d+)/(\d+) log files valid; "
                        r"(\d+) log checks? passed, (\d+) failed(.*)$")
PROBLEM_RE = re.compile(r"^(FORGED|GAP|CHAIN|MISSING|MOVED|MODIFIED|UNREADABLE|UNEXPECTED|LOG)  (\S+): (.*)$")
ENC_KEY_RE = (r"^{prefix}/(?P<hour>\d{{10}})/(?P<account>\d+)_CloudAudit_{region}_(?P<stamp>\d{{8}}T\d{{6}}Z)_"
              r"(?P<track>\d+)_(?P<seq>\d+)\.json(?P<gz>\.gz)?\.enc$")


# --------------------------------------------------------------------------------------------------
# the server


@dataclass
class EncEnv:
    server: Server
    regions_path: str  # kmssupport reads .server and .regions_path
    s3: object
    pub_file: str
    base: Path


@pytest.fixture(scope="module")
def enc_env(tmp_path_factory, moto, s3):
    base = tmp_path_factory.mktemp("encryption")
    regions = D.write_regions(base / "regions.json", [D.s3_region(GZ, moto.url)])
    srv = start_server(base, extra_args=["--regions", regions, "--delivery-interval", "1", "--digest-interval", str(DIGEST_INTERVAL)],
                       env=D.s3_env())
    try:
        lines = [ln.strip() for ln in srv.cli("keys", "signing-public").stdout_text.splitlines() if ln.strip()]
        assert lines, "keys signing-public printed nothing"
        pub_file = base / "pinned.pub"
        pub_file.write_text(lines[0] + "\n")
        yield EncEnv(srv, regions, s3, str(pub_file), base)
    finally:
        srv.stop()


# --------------------------------------------------------------------------------------------------
# a bucket on either backend


class Store:
    """A bucket of the moto region or a folder of the `local` region (or a snapshot copy of one)."""

    def __init__(self, env, backend, name=None, root=None, create=True):
        self.env = env
        self.backend = backend
        self.region = GZ if backend == "s3" else "local"
        self.name = name or S3.new_bucket_name("enc" if backend == "s3" else "encl")
        if backend == "s3":
            self.root = None
            if create:
                S3.create_bucket(env.s3, self.name)
        else:
            self.root = Path(root) if root else Path(env.server.data_dir) / "buckets" / self.name

    def objects(self):
        """{key: bytes} of everything in the bucket; for a folder, every file in it, dot files too: the
        folder store writes its temporary files outside the bucket folders, so a reader never meets one
        (one here fails the test as a file that is not an envelope)."""
        if self.backend == "s3":
            return {k: self.env.s3.get_object(Bucket=self.name, Key=k)["Body"].read()
                    for k in D.list_s3_keys(self.env.s3, self.name)}
        if not self.root.is_dir():
            return {}
        return {p.relative_to(self.root).as_posix(): p.read_bytes() for p in sorted(self.root.rglob("*")) if p.is_file()}

    def put(self, key, data):
        if self.backend == "s3":
            self.env.s3.put_object(Bucket=self.name, Key=key, Body=data)
        else:
            p = self.root / key
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(data)

    def snapshot(self, tmp_path):
        """A fresh copy (new moto bucket, or a copied folder) that the server no longer writes to."""
        objs = self.objects()
        if self.backend == "s3":
            cp = Store(self.env, "s3", name=S3.new_bucket_name("encp"))
            for k, v in objs.items():
                cp.put(k, v)
            return cp
        root = Path(tmp_path) / ("snap-" + uuid.uuid4().hex[:8]) / self.name
        shutil.copytree(self.root, root)
        return Store(self.env, "local", name=self.name, root=root)

    def verify_args(self):
        if self.backend == "s3":
            return ["--region", GZ, "--bucket", self.name, "--regions", self.env.regions_path]
        return ["--folder", str(self.root)]


def _logs(objs):
    return {k: v for k, v in objs.items() if DIGEST_MARK not in "/" + k}


def _digests(objs):
    return {k: json.loads(v) for k, v in objs.items() if DIGEST_MARK in "/" + k and k.endswith(".json")
            and not os.path.basename(k).startswith(".")}


# --------------------------------------------------------------------------------------------------
# envelopes, read independently


@dataclass
class EncFile:
    key: str
    body: bytes  # as stored
    stored: bytes  # the envelope's plaintext: the file as it would have been delivered (gzip or lines)
    lines: bytes  # JSON lines
    first_seq: int
    key_id: str = ""

    @property
    def records(self):
        return [json.loads(x) for x in self.lines.split(b"\n")[:-1]]


def _header_len(body):
    n = struct.unpack(">H", body[6:8])[0]
    w = struct.unpack(">H", body[8 + n:10 + n])[0]
    return 10 + n + w + 12


def _open_file(key, body, material):
    """Opens a delivered object with kmssupport's reader; `material` is one key's, or {KeyId: material}."""
    assert key.endswith(".enc"), "a set with encryption delivered a file that is not .enc: %s" % key
    assert body[:5] == b"CAENC", "%s does not start with the magic CAENC: %r" % (key, body[:16])
    if isinstance(material, dict):
        n = struct.unpack(">H", body[6:8])[0]
        named = body[8:8 + n].decode()
        assert named in material, "%s names key %s, expected one of %s" % (key, named, sorted(material))
        material = material[named]
    kid, stored = K.open_envelope(body, material)
    if key.endswith(".json.gz.enc"):
        assert stored[:2] == b"\x1f\x8b", "%s: the plaintext of a .json.gz.enc is not gzip" % key
        lines = gzip.decompress(stored)
    else:
        assert key.endswith(".json.enc"), key
        assert stored[:2] != b"\x1f\x8b", "%s: the plaintext of a .json.enc is gzip" % key
        lines = stored
    assert lines.endswith(b"\n"), "%s: records must be \\n-terminated" % key
    seq = int(re.search(r"_(\d+)\.json(\.gz)?\.enc$", key).group(1))
    return EncFile(key, body, stored, lines, seq, kid)


def _windows(data, n=8):
    return {data[i:i + n] for i in range(len(data) - n + 1)}


def assert_envelope_without_plaintext(key, body, key_id, plaintexts, needles):
    """The stored object is a version-1 envelope naming key_id, and nothing of the plaintext shows."""
    assert body[:5] == b"CAENC", "%s: no CAENC magic: %r" % (key, body[:16])
    assert body[5] == 1, "%s: version %r, expected 1" % (key, body[5])
    n = struct.unpack(">H", body[6:8])[0]
    assert body[8:8 + n] == key_id.encode(), "%s names key %r, expected %s" % (key, body[8:8 + n], key_id)
    w = struct.unpack(">H", body[8 + n:10 + n])[0]
    assert w == 60, "%s: wrapped key length %d, expected 60" % (key, w)
    assert len(body) >= 10 + n + w + 12 + 16, "%s: too short for nonce, ciphertext and tag" % key
    for needle in needles:
        assert needle.encode() not in body, "%s holds the plaintext %r" % (key, needle)
    # not gzip, and no gzip inside that would decompress to the records
    with pytest.raises(Exception):
        gzip.decompress(body)
    for m in re.finditer(re.escape(b"\x1f\x8b"), body):
        try:
            out = zlib.decompressobj(31).decompress(body[m.start():], 1 << 22)
        except zlib.error:
            continue
        for needle in needles:
            assert needle.encode() not in out, "%s: a gzip member at %d decompresses to plaintext" % (key, m.start())
    # no 8-byte piece of the records (nor of their gzip) anywhere but in the key id
    scan = body[:8] + body[8 + n:]
    have = _windows(scan)
    for plain in plaintexts:
        for i in range(len(plain) - 7):
            piece = plain[i:i + 8]
            assert piece not in have, "%s contains %r, a piece of the plaintext" % (key, piece)


# --------------------------------------------------------------------------------------------------
# helpers


def _new_account(env):
    acct = env.server.create_account(uid("enc"))["AccountId"]
    return acct, env.server.create_key(acct, "admin")


def _marker():
    return "PLAINTEXT" + uuid.uuid4().hex[:16]


def _events(src, marker, n, tag, resource_type=None, action="Read"):
    out = []
    for i in range(n):
        out.append(make_event(
            src, "EncName%s%s%d" % (tag, marker[-6:], i), actionType=action,
            resourceType=resource_type or "cvm",
            resourceName="%s-res-%s-%d" % (marker, tag, i),
            userIdentity={"type": "CAMUser", "principalId": "100000009001", "secretId": "AKIDenc" + marker[-8:],
                          "userName": "%s-user" % marker},
            requestParameters={"Secret": "%s-param-%s-%d" % (marker, tag, i), "Nested": {"k": ["\u00e9\u4e2d", 1.5, None, True]}},
            sourceIPAddress="10.9.%d.%d" % (len(tag), i)))
    return out


def _needles(events):
    out = set()
    for e in events:
        out.update([e["eventId"], e["eventName"], e["resourceName"], e["requestID"], e["eventSource"],
                    e["userIdentity"]["userName"], e["requestParameters"]["Secret"]])
    return sorted(out)


def _one_line_error(p, *needles):
    assert p.returncode == 1, "expected exit status 1, got %s (stdout %r, stderr %r)" % (
        p.returncode, p.stdout_text[-500:], p.stderr_text[-1000:])
    lines = [ln for ln in p.stderr_text.splitlines() if ln.strip()]
    assert len(lines) == 1, "expected a one-line error, got %r" % p.stderr_text
    assert lines[0].startswith("Error: "), lines[0]
    for n in needles:
        assert n in lines[0], "%r not in the error %r" % (n, lines[0])
    for bad in ("Traceback", ".swift", "Fatal error", "fatalError"):
        assert bad not in p.stderr_text, p.stderr_text
    assert p.stdout == b"", "a failed decrypt printed something: %r" % p.stdout[:200]
    return lines[0]


def _leaf_index(key, event_id):
    r = key.common().call_json("GetInclusionProof", {"EventId": event_id})["Response"]
    return r["LeafIndex"]


def _expected_lines(admin, src, ids=None):
    """The stored records (CloudAuditEvent) of the events of `src`, in sequence order, as JSON lines."""
    evs = lookup_all(admin, [("EventSource", src)])
    if ids is not None:
        got = {e["EventId"] for e in evs}
        assert got == set(ids), "LookUpEvents: %d events, expected %d" % (len(got), len(set(ids)))
    order = {e["EventId"]: _leaf_index(admin, e["EventId"]) for e in evs}
    evs.sort(key=lambda e: order[e["EventId"]])
    assert len(set(order.values())) == len(order), "two events share a leaf"
    return b"".join(e["CloudAuditEvent"].encode("utf-8") + b"\n" for e in evs)


@dataclass
class EncSet:
    env: EncEnv
    store: Store
    account: int
    admin: object
    key: dict
    material: object  # bytes, or {KeyId: bytes} once the set changed key
    track: int
    prefix: str
    compress: bool
    src: str
    resource_type: str
    events: list = field(default_factory=list)

    @property
    def key_id(self):
        return self.key["KeyId"]

    def files(self):
        """Every log object, opened with the independent reader (all must be envelopes), by FirstSeq."""
        return sorted((_open_file(k, v, self.material) for k, v in _logs(self.store.objects()).items()),
                      key=lambda f: f.first_seq)

    def wait(self, ids, timeout=DELIVERY_TIMEOUT):
        want = set(ids)
        deadline = time.time() + timeout
        while True:
            files = self.files()
            have = {r.get("eventId") for f in files for r in f.records}
            if want <= have:
                return files
            assert time.time() < deadline, "%d of %d events delivered after %ss; files %s; server log:\n%s" % (
                len(want & have), len(want), timeout, [f.key for f in files], self.env.server.log_tail(20))
            time.sleep(0.4)

    def put(self, n, tag, marker):
        evs = _events(self.src, marker, n, tag, resource_type=self.resource_type)
        self.admin.put_ok(evs)
        self.events += evs
        return evs


def make_encrypted_set(env, backend, compress):
    acct, admin = _new_account(env)
    store = Store(env, backend)
    key = K.create_key(env, acct, region=store.region, alias=uid("enc/key"))
    rt = uid("res")
    prefix = "enc" + uuid.uuid4().hex[:10]
    params = D.track_params(region=store.region, bucket=store.name, prefix=prefix, resource_type=rt,
                            compress=1 if compress else 2,
                            IsEnableKmsEncry=1, KeyId=key["KeyId"], KmsRegion=store.region)
    tid = call(admin, "CreateAuditTrack", params, common=True)["TrackId"]
    return EncSet(env, store, acct, admin, key, K.key_material(env.server, key["KeyId"]), tid, prefix, compress,
                  uid("encsrc"), rt)


def _check_layout(d, files):
    rx = re.compile(ENC_KEY_RE.format(prefix=re.escape(d.prefix), region=re.escape(d.store.region)))
    for f in files:
        m = rx.match(f.key)
        assert m, "key does not follow <Prefix>/<YYYYMMDDHH>/<AccountId>_CloudAudit_<Region>_<time>_<TrackId>_" \
                  "<FirstSeq>.json[.gz].enc: %s" % f.key
        assert int(m.group("account")) == d.account and int(m.group("track")) == d.track, f.key
        assert bool(m.group("gz")) == d.compress, "%s: Compress %s" % (f.key, 1 if d.compress else 2)


# --------------------------------------------------------------------------------------------------
# 1, 2, 4: a set with encryption (both backends, gzip and plain)


COMBOS = [("s3", True), ("s3", False), ("local", True), ("local", False)]


@pytest.fixture(scope="module", params=COMBOS, ids=["s3-gzip", "s3-plain", "local-gzip", "local-plain"])
def delivered(request, enc_env):
    backend, compress = request.param
    d = make_encrypted_set(enc_env, backend, compress)
    marker = _marker()
    d.marker = marker
    first = d.put(7, "a", marker)
    d.wait([e["eventId"] for e in first])
    # a second file, so that the order across files is checked too
    second = d.put(6, "b", marker)
    d.wait([e["eventId"] for e in first + second])
    return d


def test_encryption_every_object_is_an_envelope_without_plaintext(delivered):
    d = delivered
    files = d.files()
    _check_layout(d, files)
    assert len(files) >= 2, [f.key for f in files]
    objs = d.store.objects()
    logs = _logs(objs)
    assert set(logs) == {f.key for f in files}, "objects that are not delivered files: %s" % sorted(set(logs) - {f.key for f in files})
    needles = _needles(d.events) + [d.marker, d.resource_type]
    plaintexts = [f.lines for f in files] + [f.stored[10:] for f in files if d.compress]
    for f in files:
        assert_envelope_without_plaintext(f.key, f.body, d.key_id, plaintexts, needles)
    # every event exactly once; only the set's own events
    ids = [r["eventId"] for f in files for r in f.records]
    assert sorted(ids) == sorted(e["eventId"] for e in d.events), "each event exactly once"
    # digests are plaintext JSON, but carry no record content
    for k, v in objs.items():
        if DIGEST_MARK in "/" + k:
            for needle in needles:
                assert needle.encode() not in v, "digest %s holds the plaintext %r" % (k, needle)


def test_encryption_decrypt_gives_the_stored_records_in_sequence_order(delivered, tmp_path):
    d = delivered
    srv = d.env.server
    files = d.files()
    all_lines = b""
    for i, f in enumerate(files):
        enc = tmp_path / os.path.basename(f.key)
        enc.write_bytes(f.body)
        p = srv.cli("decrypt", str(enc))
        assert p.stdout == f.stored, "decrypt (stdout) differs from the independent reader: %s" % f.key
        assert p.stderr_text.strip() == "", p.stderr_text
        out = tmp_path / ("out%d" % i)
        p = srv.cli("decrypt", str(enc), "-o", str(out))
        assert p.stdout == b"" and out.read_bytes() == f.stored, "decrypt -o writes the file as delivered"
        assert out.stat().st_mode & 0o077 == 0, "the plaintext file must be owner-only: %o" % out.stat().st_mode
        if d.compress:
            assert f.stored[:2] == b"\x1f\x8b", "a gzip set's plaintext is the gzip as delivered"
        g = srv.cli("decrypt", str(enc), "--gunzip").stdout
        assert g == f.lines, "decrypt --gunzip must give the JSON lines"
        all_lines += g
    expected = _expected_lines(d.admin, d.src, ids=[e["eventId"] for e in d.events])
    assert all_lines == expected, (
        "decrypted files (by FirstSeq) differ from LookUpEvents' records in sequence order:\n%r\n%r" % (
            all_lines[:600], expected[:600]))


def test_encryption_decrypt_fails_cleanly(delivered, tmp_path):
    d = delivered
    srv = d.env.server
    f = d.files()[0]
    enc = tmp_path / os.path.basename(f.key)
    enc.write_bytes(f.body)
    out = tmp_path / "never.json"

    # another deployment: its own data dir, master key and (empty) key store
    other = tmp_path / "other-data"
    run_cli(["kms", "list", "--data-dir", str(other)])
    p = run_cli(["decrypt", str(enc), "-o", str(out), "--data-dir", str(other)], check=False)
    _one_line_error(p, d.key_id)
    assert not out.exists(), "a failed decrypt must write no output file"

    # the same key store under another master key (a copy of the database, a different master.key)
    rekeyed = tmp_path / "rekeyed"
    rekeyed.mkdir(mode=0o700)
    storage_backend.copy_store(srv, rekeyed)
    mk = rekeyed / "master.key"
    mk.write_text(os.urandom(32).hex() + "\n")
    os.chmod(mk, 0o600)
    p = run_cli(["decrypt", str(enc), "-o", str(out), "--data-dir", str(rekeyed)], check=False)
    line = _one_line_error(p, d.key_id)
    assert "master key" in line, line
    assert not out.exists()
    # ... and the live data dir with CLOUDAUDIT_MASTER_KEY set to another key
    p = run_cli(["decrypt", str(enc), "-o", str(out), "--data-dir", srv.data_dir], check=False,
                env=clean_env(CLOUDAUDIT_MASTER_KEY=os.urandom(32).hex()))
    _one_line_error(p, d.key_id)
    assert not out.exists()

    # a flipped byte of the ciphertext, and of the tag
    h = _header_len(f.body)
    for at in (h + (len(f.body) - h) // 2, len(f.body) - 1):
        bad = bytearray(f.body)
        bad[at] ^= 0x01
        badf = tmp_path / ("flipped%d.enc" % at)
        badf.write_bytes(bytes(bad))
        _one_line_error(srv.cli("decrypt", str(badf), "-o", str(out), check=False))
        assert not out.exists(), "a failed decrypt must write no output file"
        _one_line_error(srv.cli("decrypt", str(badf), "--gunzip", check=False))
    # a truncated file (inside the header, inside the ciphertext)
    for cut in (h - 5, len(f.body) - 10):
        badf = tmp_path / ("cut%d.enc" % cut)
        badf.write_bytes(f.body[:cut])
        _one_line_error(srv.cli("decrypt", str(badf), "-o", str(out), check=False))
        assert not out.exists(), "a failed decrypt must write no output file"
    # the original still decrypts
    assert srv.cli("decrypt", str(enc)).stdout == f.stored


# ---- 4: verify


def _wait_digests_cover(d, timeout=30):
    """Until the set's digests list every delivered file; returns the digests {key: parsed}."""
    deadline = time.time() + timeout
    while True:
        objs = d.store.objects()
        digests = _digests(objs)
        listed = {lf["Key"] for dg in digests.values() for lf in dg.get("LogFiles") or []}
        logs = set(_logs(objs))
        if logs and logs <= listed:
            return digests
        assert time.time() < deadline, "digests do not list %s after %ss" % (sorted(logs - listed), timeout)
        time.sleep(0.5)


@dataclass
class VerifyRun:
    rc: int
    out: str
    err: str
    summary: tuple
    rest: str
    problems: list
    json: dict

    def __str__(self):
        return "exit %s\nstdout:\n%s\nstderr:\n%s" % (self.rc, self.out[-3000:], self.err[-1500:])


def _verify(env, store, track, tmp_path, data_dir=None):
    args = ["verify"] + store.verify_args() + ["--track", str(track), "--public-key", env.pub_file,
                                               "--digest-interval", str(DIGEST_INTERVAL)]
    if data_dir is not None:
        args += ["--data-dir", data_dir]
    # never fall back to ./cloudaudit-data for the regions' local folder
    cenv = clean_env(CLOUDAUDIT_DATA_DIR=str(tmp_path / "no-data-dir"), **D.s3_env())
    t = run_cli(args, check=False, env=cenv)
    j = run_cli(args + ["--output", "json"], check=False, env=cenv)
    summary, rest, problems = None, None, []
    for line in t.stdout_text.splitlines():
        m = SUMMARY_RE.match(line)
        if m:
            summary = tuple(int(x) for x in m.groups()[:6])
            rest = m.group(7)
        m = PROBLEM_RE.match(line)
        if m:
            problems.append((m.group(1), m.group(2)))
    assert summary is not None, "no summary line:\n%s\n%s" % (t.stdout_text, t.stderr_text)
    try:
        js = json.loads(j.stdout_text)
    except ValueError:
        raise AssertionError("verify --output json printed no JSON:\n%s\n%s" % (j.stdout_text[-2000:], j.stderr_text[-2000:]))
    assert j.returncode == t.returncode, "exit status text %s vs json %s" % (t.returncode, j.returncode)
    assert js.get("ExitStatus") == t.returncode, "json ExitStatus %r, exit status %s" % (js.get("ExitStatus"), t.returncode)
    return VerifyRun(t.returncode, t.stdout_text, t.stderr_text, summary, rest, problems, js)


def _log_check(dg):
    return dg.get("LogCheck") or {}


def test_encryption_verify_with_and_without_data_dir(delivered, tmp_path):
    d = delivered
    env = d.env
    digests = _wait_digests_cover(d)
    snap = d.store.snapshot(tmp_path)
    objs = snap.objects()
    files = {f.key: f for f in (_open_file(k, v, d.material) for k, v in _logs(objs).items())}
    digests = _digests(objs)
    # the digests list the .enc objects with both hashes (docs/integrity.md, "Digest files")
    listed = {}
    for dk, dg in digests.items():
        for lf in dg.get("LogFiles") or []:
            listed[lf["Key"]] = lf
    assert set(listed) == set(files), (sorted(listed), sorted(files))
    for k, lf in listed.items():
        assert lf["ObjectSHA256"] == hashlib.sha256(files[k].body).hexdigest(), "%s: ObjectSHA256 is of the stored object" % k
        assert lf["SHA256"] == hashlib.sha256(files[k].lines).hexdigest(), "%s: SHA256 is of the plain JSON lines" % k
        assert lf["Events"] == len(files[k].records), k
    with_files = sum(1 for dg in digests.values() if dg.get("LogFiles"))
    assert with_files >= 1

    # with the key store: every log check passed
    r = _verify(env, snap, d.track, tmp_path, data_dir=env.server.data_dir)
    assert r.rc == 0 and r.problems == [], "an untouched encrypted bucket must verify with --data-dir: %s" % r
    d_ok, d_all, f_ok, f_all, passed, failed = r.summary
    assert d_ok == d_all == len(digests), r
    assert f_ok == f_all == len(files), r
    assert passed == d_ok and failed == 0, "every digest's log check must pass with --data-dir: %s" % r
    assert "not checked" not in r.rest and "pending" not in r.rest, r
    assert "NOTE" not in r.out, r
    for lf in r.json["LogFiles"]:
        assert lf["Status"] == "valid" and lf["ContentChecked"] is True, lf
    for dg in r.json["Digests"]:
        assert dg["Status"] == "valid" and _log_check(dg).get("Status") == "verified", dg

    # without it: the objects are checked as stored, the log checks of digests with files are not checked
    r = _verify(env, snap, d.track, tmp_path)
    assert r.rc == 0 and r.problems == [], "without --data-dir the encrypted bucket still verifies as stored: %s" % r
    d_ok, d_all, f_ok, f_all, passed, failed = r.summary
    assert d_ok == d_all == len(digests) and f_ok == f_all == len(files), r
    assert failed == 0 and passed == d_all - with_files, r
    assert ", %d not checked" % with_files in r.rest, r
    assert "NOTE  log check of %d digest%s not checked (encrypted; pass --data-dir)" % (
        with_files, "" if with_files == 1 else "s") in r.out, r
    for lf in r.json["LogFiles"]:
        assert lf["Status"] == "valid" and lf["ContentChecked"] is False, lf
    for dg in r.json["Digests"]:
        want = {"Status": "not-checked", "Detail": "encrypted; pass --data-dir"} if digests[dg["Key"]].get("LogFiles") \
            else {"Status": "verified"}
        assert _log_check(dg) == want, dg

    # the live bucket too (the server keeps writing empty digests to it)
    r = _verify(env, d.store, d.track, tmp_path, data_dir=env.server.data_dir)
    assert r.rc == 0 and r.problems == [], "the live encrypted bucket must verify: %s" % r
    d_ok, d_all, f_ok, f_all, passed, failed = r.summary
    assert f_ok == f_all == len(files) and passed == d_all and failed == 0 and "not checked" not in r.rest, r


def test_encryption_verify_flipped_byte_is_modified(delivered, tmp_path):
    d = delivered
    env = d.env
    _wait_digests_cover(d)
    snap = d.store.snapshot(tmp_path)
    logs = _logs(snap.objects())
    key = max(logs, key=lambda k: len(logs[k]))
    body = bytearray(logs[key])
    h = _header_len(bytes(body))
    body[h + (len(body) - h) // 2] ^= 0x01
    snap.put(key, bytes(body))
    for data_dir in (env.server.data_dir, None):
        r = _verify(env, snap, d.track, tmp_path, data_dir=data_dir)
        assert r.rc == 1, "a flipped byte must fail verify (--data-dir %s): %s" % (data_dir, r)
        assert ("MODIFIED", key) in r.problems, "expected MODIFIED %s (--data-dir %s): %s" % (key, data_dir, r)
        assert [p for p in r.problems if p[0] != "MODIFIED"] == [], r
        d_ok, d_all, f_ok, f_all, passed, failed = r.summary
        assert f_ok == f_all - 1, r
        mod = [lf for lf in r.json["LogFiles"] if lf["Key"] == key]
        assert mod and mod[0]["Status"] == "modified", mod


# --------------------------------------------------------------------------------------------------
# 1, 2: a legacy audit switched to encryption with UpdateAudit


@pytest.mark.parametrize("backend", BACKENDS)
def test_encryption_legacy_audit_updated_to_encryption(enc_env, backend, tmp_path):
    env = enc_env
    srv = env.server
    acct, admin = _new_account(env)
    store = Store(env, backend, create=(backend == "s3"))
    name = D.track_name("audit")
    # Read only (ReadWriteAttribute 1): the CreateAudit/UpdateAudit calls themselves (Write) are self-audit
    # events of the account and are not part of this audit, so every file it writes comes after the update.
    call(admin, "CreateAudit", D.audit_params(name=name, bucket=store.name, region=store.region, rw=1,
                                              new_bucket=0 if backend == "s3" else 1))
    key = K.create_key(env, acct, region=store.region, alias=uid("legacy"))
    r = call(admin, "UpdateAudit", {"AuditName": name, "IsEnableKmsEncry": 1, "KeyId": key["KeyId"],
                                    "KmsRegion": store.region})
    assert r["IsSuccess"] == 1
    a = call(admin, "DescribeAudit", {"AuditName": name})
    assert (a["IsEnableKmsEncry"], a["KeyId"], a["KmsRegion"]) == (1, key["KeyId"], store.region), a
    material = K.key_material(srv, key["KeyId"])
    marker = _marker()
    src = uid("legacy")
    evs = _events(src, marker, 9, "L")
    admin.put_ok(evs)
    ids = {e["eventId"] for e in evs}

    deadline = time.time() + DELIVERY_TIMEOUT
    while True:
        files = sorted((_open_file(k, v, material) for k, v in _logs(store.objects()).items()), key=lambda f: f.first_seq)
        have = {r.get("eventId") for f in files for r in f.records}
        if ids <= have:
            break
        assert time.time() < deadline, "%d of %d events delivered; files %s; log:\n%s" % (
            len(ids & have), len(ids), [f.key for f in files], srv.log_tail(20))
        time.sleep(0.4)

    rx = re.compile(ENC_KEY_RE.format(prefix="cloudaudit", region=re.escape(store.region)))
    needles = _needles(evs) + [marker]
    plaintexts = [f.lines for f in files] + [f.stored[10:] for f in files]
    for f in files:
        assert rx.match(f.key), f.key
        assert_envelope_without_plaintext(f.key, f.body, key["KeyId"], plaintexts, needles)
        assert all(rec.get("actionType") == "Read" for rec in f.records), "a Read-only audit delivered a Write event"
    mine = [rec for f in files for rec in f.records if rec.get("eventSource") == src]
    assert sorted(r["eventId"] for r in mine) == sorted(ids), "each event exactly once"

    # decrypt (CLI) agrees with the independent reader; our events' lines are the stored records in order
    delivered_lines = b""
    for i, f in enumerate(files):
        enc = tmp_path / ("l%d.enc" % i)
        enc.write_bytes(f.body)
        assert srv.cli("decrypt", str(enc)).stdout == f.stored
        g = srv.cli("decrypt", str(enc), "--gunzip").stdout
        assert g == f.lines
        delivered_lines += b"".join(line + b"\n" for line in g.split(b"\n")[:-1] if json.loads(line).get("eventSource") == src)
    assert delivered_lines == _expected_lines(admin, src, ids=ids)


# --------------------------------------------------------------------------------------------------
# 3: a disabled key holds delivery (no object, no plaintext) and delivery resumes when it is enabled


@pytest.mark.parametrize("backend", BACKENDS)
def test_encryption_disabled_key_holds_delivery_until_enabled(enc_env, backend, tmp_path):
    env = enc_env
    srv = env.server
    d = make_encrypted_set(env, backend, compress=True)
    marker_a, marker_b = _marker(), _marker()
    a = d.put(5, "a", marker_a)
    files = d.wait([e["eventId"] for e in a])
    before = {f.key for f in files}
    enc = tmp_path / "a.enc"
    enc.write_bytes(files[0].body)
    out = tmp_path / "a.json.gz"

    K.kms(env, "kms", "disable", d.key_id)
    enabled = False
    try:
        _one_line_error(srv.cli("decrypt", str(enc), "-o", str(out), check=False), d.key_id, "disabled")
        assert not out.exists(), "decrypt with a disabled key must write nothing"
        b = d.put(6, "b", marker_b)
        rows = D.wait_status(srv, d.track, lambda rows: any(
            d.key_id in (r.get("LastError") or "") and "disabled" in (r.get("LastError") or "") for r in rows),
            timeout=30, what="LastError naming the disabled key")
        assert rows[0].get("LastErrorAt"), rows
        # a later attempt (delivery retries with a back-off of 1, 2, 4... s) failed on the key too: had
        # delivery written anything while the key is disabled, it would be in the bucket by now
        first_at = max(r.get("LastErrorAt") or 0 for r in rows)
        D.wait_status(srv, d.track, lambda rows: any(
            (r.get("LastErrorAt") or 0) > first_at and d.key_id in (r.get("LastError") or "") for r in rows),
            timeout=30, what="a later delivery attempt failing on the disabled key")
        objs = d.store.objects()
        logs = _logs(objs)
        assert set(logs) == before, "no object may be written while the key is disabled: new %s" % sorted(set(logs) - before)
        for k, v in objs.items():
            for needle in _needles(b) + [marker_b]:
                assert needle.encode() not in v, "plaintext of a held event in %s" % k
        if backend == "local":
            leftovers = [p for p in d.store.root.rglob("*") if p.is_file() and p.name.startswith(".")]
            assert leftovers == [], "temporary files left in the bucket folder: %s" % leftovers
        st = D.status_rows(srv, d.track)[0]
        assert d.key_id in (st.get("LastError") or ""), st
        K.kms(env, "kms", "enable", d.key_id)
        enabled = True
    finally:
        if not enabled:
            K.kms(env, "kms", "enable", d.key_id, check=False)

    files = d.wait([e["eventId"] for e in a + b], timeout=90)
    time.sleep(2.0)  # late duplicates would show
    files = d.files()
    ids = [r["eventId"] for f in files for r in f.records]
    assert sorted(ids) == sorted(e["eventId"] for e in a + b), "every event exactly once after the key is enabled again"
    needles = _needles(a + b) + [marker_a, marker_b]
    plaintexts = [f.lines for f in files] + [f.stored[10:] for f in files]
    for f in files:
        assert_envelope_without_plaintext(f.key, f.body, d.key_id, plaintexts, needles)
    D.wait_status(srv, d.track, lambda rows: all(not r.get("LastError") for r in rows), timeout=30,
                  what="LastError cleared after a delivery")
    assert srv.cli("decrypt", str(enc)).stdout == files[0].stored, "decrypt works again once the key is enabled"
    # the held file, written late, is listed by the digests and the log still rebuilds
    _wait_digests_cover(d)
    r = _verify(env, d.store.snapshot(tmp_path), d.track, tmp_path, data_dir=srv.data_dir)
    assert r.rc == 0 and r.problems == [], "verify after the key was enabled again: %s" % r
    d_ok, d_all, f_ok, f_all, passed, failed = r.summary
    assert f_ok == f_all == len(files) and passed == d_all and failed == 0, r


@pytest.mark.parametrize("backend", BACKENDS)
def test_encryption_set_that_changes_key_delivers_held_events_under_the_new_key(enc_env, backend, tmp_path):
    """docs/contract.md: sets that use a disabled key keep it (delivery reports the error) until it is
    enabled again or the set changes key."""
    env = enc_env
    srv = env.server
    d = make_encrypted_set(env, backend, compress=False)
    old_id = d.key_id
    marker = _marker()
    a = d.put(4, "a", marker)
    d.wait([e["eventId"] for e in a])
    K.kms(env, "kms", "disable", old_id)
    try:
        b = d.put(4, "b", marker)
        D.wait_status(srv, d.track, lambda rows: any(old_id in (r.get("LastError") or "") for r in rows), timeout=30,
                      what="LastError naming the disabled key")
        new = K.create_key(env, d.account, region=d.store.region, alias=uid("enc/new"))
        d.material = {old_id: d.material, new["KeyId"]: K.key_material(srv, new["KeyId"])}
        call(d.admin, "ModifyAuditTrack", {"TrackId": d.track, "IsEnableKmsEncry": 1, "KeyId": new["KeyId"],
                                           "KmsRegion": d.store.region}, common=True)
        files = d.wait([e["eventId"] for e in a + b])
        time.sleep(2.0)
        files = d.files()
        ids = [r["eventId"] for f in files for r in f.records]
        assert sorted(ids) == sorted(e["eventId"] for e in a + b), "every event exactly once"
        a_ids, b_ids = {e["eventId"] for e in a}, {e["eventId"] for e in b}
        for f in files:
            got = {r["eventId"] for r in f.records}
            want = old_id if got <= a_ids else new["KeyId"]
            assert got <= a_ids or got <= b_ids, "a file mixes events from before and after the key change: %s" % f.key
            assert f.key_id == want, "%s is sealed under %s, expected %s" % (f.key, f.key_id, want)
            assert_envelope_without_plaintext(f.key, f.body, want, [f.lines], _needles(a + b) + [marker])
        D.wait_status(srv, d.track, lambda rows: all(not r.get("LastError") for r in rows), timeout=30,
                      what="LastError cleared")
        # the new key's files decrypt; the old key's refuse while it is disabled
        for f in files:
            enc = tmp_path / os.path.basename(f.key)
            enc.write_bytes(f.body)
            if f.key_id == old_id:
                _one_line_error(srv.cli("decrypt", str(enc), check=False), old_id, "disabled")
            else:
                assert srv.cli("decrypt", str(enc)).stdout == f.stored
    finally:
        K.kms(env, "kms", "enable", old_id, check=False)
    _wait_digests_cover(d)
    r = _verify(env, d.store.snapshot(tmp_path), d.track, tmp_path, data_dir=srv.data_dir)
    assert r.rc == 0 and r.problems == [], "files under two keys must verify with --data-dir: %s" % r
    assert r.summary[5] == 0 and "not checked" not in r.rest, r
