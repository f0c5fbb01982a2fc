"""Tampering with what CloudAudit delivered or stored, and `cloudaudit verify` / `verify-event`
catching it (docs/integrity.md).

A server with a moto S3 region and the built-in `local` folder region delivers one account's events
through two tracking sets (one per backend) with small intervals, then is stopped with SIGTERM (which
writes the final digests). Each case works on a fresh copy of the delivered bucket (a new moto bucket,
or a copy of the folder), so the cases are independent:

 0. untouched: exit 0, `N/N digest files valid, N/N log files valid`;
 1. one byte of a delivered file flipped: MODIFIED <key>;
 2. a delivered file deleted: MISSING <key>;
 3. a forged log file with a plausible key added: UNEXPECTED <key>;
 4. a digest removed: GAP at the digest that names it; the newest removed: its files UNEXPECTED;
 5. a digest rewritten (a LogFiles entry dropped) and re-signed by another key: FORGED <digest key>;
 6. an event record altered in the stored data (the append-only guard dropped first): verify-event
    reports it modified; delivered afterwards, the digest's log check fails (LOG <digest key>); a
    checkpoint saved earlier stays consistent unless the log itself (leaf hashes) was rewritten.

Every case checks the exact key named, the exit status, and that `--output json` agrees with the text.
The copies are made after the final digests, so no file is pending: verify exits 0 or 1, never 3
(test_integrity.py::test_verify_reports_files_no_digest_lists_yet covers pending files).
"""

import base64
import gzip
import json
import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import deliverysupport as D
import s3server as S3
import storage_backend
import support
from support import Server, make_event, run_cli, start_server, uid
from test_integrity import (
    api,
    check_checkpoint_response,
    new_keypair,
    signing_public,
    stamp_time,
)

GZ = "ap-guangzhou"
PREFIX = "tamper"
# 3 s, not 2: the fixture stops the server in a second in which no periodic digest is due for either
# set, so the final digest never shares its key (its second) with the one before (see
# test_integrity.py::test_final_digest_in_the_same_second_as_the_previous_one for that bug).
DIGEST_INTERVAL = 3
PROBLEM_RE = re.compile(r"^(FORGED|GAP|CHAIN|MISSING|MOVED|MODIFIED|UNREADABLE|UNEXPECTED|LOG)  (\S+): (.*)$")
SUMMARY_RE = re.compile(r"^(\d+)/(\d+) digest files valid, (\d+)/(\d+) log files valid")
SIG_MARKER = b',"Signature":"'
BACKENDS = ["s3", "local"]


# --------------------------------------------------------------------------------------------------
# a server that delivered through both backends


@dataclass
class Deployment:
    server: Server
    pub: str
    account: int
    admin: object
    ingest: object
    auditor: object
    regions_path: str
    tracks: dict  # backend -> TrackId
    buckets: dict  # backend -> bucket name
    s3: object
    base: Path
    ids: list = field(default_factory=list)


def _start_deployment(base, moto, env_extra=None):
    base = Path(base)
    regions = D.write_regions(base / "regions.json", [D.s3_region(GZ, moto.url)])
    srv = start_server(base, extra_args=["--regions", regions, "--delivery-interval", "1", "--digest-interval", str(DIGEST_INTERVAL)],
                       env=D.s3_env(**(env_extra or {})))
    return srv, regions


def _make_tracks(dep, status=1):
    dep.buckets["s3"] = S3.create_bucket(dep.s3, S3.new_bucket_name("tp"))
    dep.buckets["local"] = S3.new_bucket_name("tl")
    dep.tracks["s3"] = D.create_track(dep.admin, region=GZ, bucket=dep.buckets["s3"], prefix=PREFIX, status=status)
    dep.tracks["local"] = D.create_track(dep.admin, region="local", bucket=dep.buckets["local"], prefix=PREFIX,
                                         status=status)


def _read_backend(dep, backend):
    """{key: bytes} of the original bucket of a backend."""
    if backend == "s3":
        return {k: dep.s3.get_object(Bucket=dep.buckets["s3"], Key=k)["Body"].read()
                for k in D.list_s3_keys(dep.s3, dep.buckets["s3"], PREFIX + "/")}
    root = Path(dep.server.data_dir) / "buckets" / dep.buckets["local"]
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and not p.name.startswith(".")} if root.is_dir() else {}


def _lines(key, raw):
    return (gzip.decompress(raw) if key.endswith(".gz") else raw).decode().splitlines()


def _delivered_ids(objs):
    out = set()
    for k, raw in objs.items():
        if "/CloudAudit-Digest/" not in k:
            out.update(json.loads(x)["eventId"] for x in _lines(k, raw))
    return out


def _wait_delivered(dep, want, timeout=60):
    deadline = time.time() + timeout
    for backend in BACKENDS:
        while not set(want) <= _delivered_ids(_read_backend(dep, backend)):
            assert time.time() < deadline, "%s: events not delivered after %ss; log:\n%s" % (
                backend, timeout, dep.server.log_tail(20))
            time.sleep(0.5)


def _wait_listed(dep, timeout=60):
    """Until, on both backends, every log file delivered so far is listed by a digest."""
    deadline = time.time() + timeout
    for backend in BACKENDS:
        while True:
            objs = _read_backend(dep, backend)
            listed = {f["Key"] for k, v in objs.items() if "/CloudAudit-Digest/" in k for f in json.loads(v)["LogFiles"]}
            logs = {k for k in objs if "/CloudAudit-Digest/" not in k}
            if logs and logs <= listed:
                break
            assert time.time() < deadline, "%s: files not listed by a digest after %ss: %s; log:\n%s" % (
                backend, timeout, sorted(logs - listed)[:3], dep.server.log_tail(20))
            time.sleep(0.5)


def _digest_times(dep, backend):
    if backend == "s3":
        keys = D.list_s3_keys(dep.s3, dep.buckets["s3"], PREFIX + "/CloudAudit-Digest/")
    else:
        root = Path(dep.server.data_dir) / "buckets" / dep.buckets["local"]
        keys = [p.name for p in root.glob(PREFIX + "/CloudAudit-Digest/*/*.json")]
    return sorted(stamp_time(re.search(r"_(\d{8}T\d{6}Z)\.json$", k).group(1)) for k in keys)


def _wait_for_a_quiet_second(dep, timeout=40):
    """Until each set has written two digests, and the clock is early in a second after each set's
    newest digest in which no periodic digest is due (so a digest written now gets a key of its own)."""
    deadline = time.time() + timeout
    while True:
        ends = [_digest_times(dep, b) for b in BACKENDS]
        now = time.time()
        sec = int(now)
        if all(len(e) >= 2 and 1 <= sec - e[-1] <= DIGEST_INTERVAL - 1 for e in ends) and now - sec < 0.4:
            return
        assert time.time() < deadline, "digests not written as expected (%s); log:\n%s" % (
            ends, dep.server.log_tail(20))
        time.sleep(0.03)


def _new_deployment(srv, regions, s3, base):
    """An account with admin, ingest and auditor keys on a started server."""
    pub = signing_public(srv)[0]
    acct = srv.create_account(uid("acct"))["AccountId"]
    return Deployment(srv, pub, acct, srv.create_key(acct, "admin"), srv.create_key(acct, "ingest"),
                      srv.create_key(acct, "auditor"), regions, {}, {}, s3, base)


@pytest.fixture(scope="module")
def deployment(tmp_path_factory, moto, s3):
    base = tmp_path_factory.mktemp("tamper")
    srv, regions = _start_deployment(base, moto)
    try:
        dep = _new_deployment(srv, regions, s3, base)
        _make_tracks(dep)
        src = uid("tp")
        for i in range(3):
            evs = [make_event(src, "T%d_%d" % (i, j)) for j in range(5)]
            dep.ingest.put_ok(evs)
            dep.ids += [e["eventId"] for e in evs]
            # each batch in files of its own: delivered before the next one is put
            _wait_delivered(dep, dep.ids)
        # periodic digests list those files (so a digest with files is followed by later ones)
        _wait_listed(dep)
        # a last batch, then SIGTERM at once: the final pass delivers it and writes the final digests
        _wait_for_a_quiet_second(dep)
        last = [make_event(src, "Last%d" % j) for j in range(3)]
        dep.ingest.put_ok(last)
        dep.ids += [e["eventId"] for e in last]
    finally:
        rc = srv.stop()
    assert rc == 0, "SIGTERM: exit status %s; log:\n%s" % (rc, srv.log_tail(30))
    for backend in BACKENDS:
        got = _delivered_ids(_read_backend(dep, backend))
        assert set(dep.ids) <= got, "%s: the final pass at SIGTERM did not deliver the last events" % backend
    return dep


# --------------------------------------------------------------------------------------------------
# fresh copies of a delivered bucket, and running verify on them


class Copy:
    def __init__(self, dep, backend, tmp_path):
        self.dep = dep
        self.backend = backend
        self.track = dep.tracks[backend]
        src = _read_backend(dep, backend)
        if backend == "s3":
            self.bucket = S3.create_bucket(dep.s3, S3.new_bucket_name("cp"))
            for k, v in src.items():
                dep.s3.put_object(Bucket=self.bucket, Key=k, Body=v)
            self.args = ["--region", GZ, "--bucket", self.bucket, "--regions", dep.regions_path]
            self.env = support.clean_env(CLOUDAUDIT_DATA_DIR=str(tmp_path / "verify-data"), **D.s3_env())
        else:
            self.root = tmp_path / S3.new_bucket_name("cp")
            shutil.copytree(Path(dep.server.data_dir) / "buckets" / dep.buckets["local"], self.root)
            self.args = ["--folder", str(self.root)]
            self.env = support.clean_env()

    # object access
    def objects(self):
        if self.backend == "s3":
            return {k: self.get(k) for k in D.list_s3_keys(self.dep.s3, self.bucket, PREFIX + "/")}
        return {p.relative_to(self.root).as_posix(): p.read_bytes() for p in sorted(self.root.rglob("*")) if p.is_file()}

    def get(self, key):
        if self.backend == "s3":
            return self.dep.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        return (self.root / key).read_bytes()

    def put(self, key, data):
        if self.backend == "s3":
            self.dep.s3.put_object(Bucket=self.bucket, Key=key, Body=data)
        else:
            p = self.root / key
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(data)

    def delete(self, key):
        if self.backend == "s3":
            self.dep.s3.delete_object(Bucket=self.bucket, Key=key)
        else:
            (self.root / key).unlink()

    def digests(self):
        """[(key, parsed digest)] in end-time order."""
        out = [(k, json.loads(v)) for k, v in self.objects().items() if "/CloudAudit-Digest/" in k]
        return sorted(out, key=lambda kv: (kv[1]["DigestEndTime"], kv[0]))

    def log_keys(self):
        return sorted(k for k in self.objects() if "/CloudAudit-Digest/" not in k)

    def verify(self, *extra, pub=None):
        """Runs verify in text and json; checks they agree. Returns a Result."""
        base = ["verify"] + self.args + ["--track", str(self.track), "--public-key", pub or self.dep.pub,
                                         "--digest-interval", str(DIGEST_INTERVAL)] + list(extra)
        t = run_cli(base, check=False, env=self.env)
        j = run_cli(base + ["--output", "json"], check=False, env=self.env)
        return Result(t, j)


class Result:
    def __init__(self, text_proc, json_proc):
        self.text = text_proc
        self.rc = text_proc.returncode
        self.out = text_proc.stdout_text
        self.err = text_proc.stderr_text
        self.problems = []
        self.summary = None
        for line in self.out.splitlines():
            m = PROBLEM_RE.match(line)
            if m:
                self.problems.append((m.group(1), m.group(2), m.group(3)))
            m = SUMMARY_RE.match(line)
            if m:
                self.summary = tuple(int(x) for x in m.groups())
        assert self.summary is not None, "no `N/N digest files valid, N/N log files valid` line:\n%s\n%s" % (
            self.out, self.err)
        try:
            self.json = json.loads(json_proc.stdout_text)
        except ValueError:
            raise AssertionError("verify --output json printed no JSON:\n%s\n%s" % (json_proc.stdout_text[-2000:],
                                                                                   json_proc.stderr_text[-2000:]))
        assert json_proc.returncode == self.rc, "exit status text %s vs json %s" % (self.rc, json_proc.returncode)
        jp = sorted((p["Kind"].upper(), p["Key"]) for p in self.json.get("Problems", []))
        assert jp == sorted((k, key) for k, key, _ in self.problems), (
            "--output json problems %s differ from the text ones %s" % (jp, self.problems))
        valid = self.json.get("IsValid", self.json.get("Valid"))
        assert self.rc in (0, 1), "no file of a copy made after the final digests can be pending (exit 3): %s" % self
        assert valid is (self.rc == 0), "json IsValid %r with exit status %s" % (valid, self.rc)
        assert self.json.get("ExitStatus") == self.rc, "json ExitStatus %r, exit status %s" % (self.json.get("ExitStatus"), self.rc)
        assert self.json.get("Verdict") == ("verified" if self.rc == 0 else "failed"), (self.json.get("Verdict"), self.rc)
        self.valid = valid

    def has(self, kind, key):
        return any(k == kind and p == key for k, p, _ in self.problems)

    def keys(self, kind):
        return {p for k, p, _ in self.problems if k == kind}

    def json_problem(self, kind, key):
        for p in self.json.get("Problems", []):
            if p["Kind"].upper() == kind and p["Key"] == key:
                return p
        raise AssertionError("no %s %s in the json problems: %s" % (kind, key, self.json.get("Problems")))

    def __str__(self):
        return "exit %s\nstdout:\n%s\nstderr:\n%s" % (self.rc, self.out[-3000:], self.err[-1500:])


@pytest.fixture(params=BACKENDS)
def copy(request, deployment, tmp_path):
    return Copy(deployment, request.param, tmp_path)


def _listed_files(copy):
    """{log key: digest key} from the copy's digests."""
    out = {}
    for k, d in copy.digests():
        for f in d["LogFiles"]:
            out[f["Key"]] = k
    return out


# --------------------------------------------------------------------------------------------------
# 0-5: the bucket


def test_untouched_bucket_verifies(copy):
    r = copy.verify()
    assert r.rc == 0, "an untouched bucket must verify: %s" % r
    assert r.problems == [], r
    d_ok, d_all, f_ok, f_all = r.summary
    n_digests = len(copy.digests())
    n_logs = len(copy.log_keys())
    assert d_all > 0 and f_all > 0
    assert (d_ok, d_all, f_ok, f_all) == (n_digests, n_digests, n_logs, n_logs), (
        "summary %s; bucket has %d digests, %d log files" % (r.summary, n_digests, n_logs))
    assert r.valid is True and r.json["Problems"] == []
    assert r.json["IsComplete"] is True and r.json["Pending"] == [] and "PENDING" not in r.out, r
    # the deployment's keyring file works as --public-key too
    ring = str(Path(copy.dep.server.data_dir) / "signing-keys.json")
    assert copy.verify(pub=ring).rc == 0
    assert r.json["SummaryLine"].startswith("%d/%d digest files valid, %d/%d log files valid" % r.summary)
    # every log file of the bucket is listed, and the log check of each digest passed
    assert set(_listed_files(copy)) == set(copy.log_keys())
    assert all(d.get("LogCheck", {}).get("Status") in ("verified", None) for d in r.json["Digests"]), r.json["Digests"]
    assert any(d.get("LogCheck", {}).get("Status") == "verified" for d in r.json["Digests"])


def test_flipped_byte_is_modified(copy):
    listed = _listed_files(copy)
    key = sorted(listed)[len(listed) // 2]
    data = bytearray(copy.get(key))
    data[len(data) // 2] ^= 0x01
    copy.put(key, bytes(data))
    r = copy.verify()
    assert r.rc == 1, r
    assert r.has("MODIFIED", key), "MODIFIED %s expected: %s" % (key, r)
    assert r.keys("MODIFIED") == {key}, r
    assert not r.keys("MISSING") and not r.keys("UNEXPECTED"), r
    d_ok, d_all, f_ok, f_all = r.summary
    assert f_all == len(listed) and f_ok == f_all - 1, r.summary
    assert r.json_problem("MODIFIED", key)


def test_deleted_file_is_missing(copy):
    listed = _listed_files(copy)
    key = sorted(listed)[0]
    copy.delete(key)
    r = copy.verify()
    assert r.rc == 1, r
    assert r.keys("MISSING") == {key}, "MISSING %s expected: %s" % (key, r)
    assert not r.keys("MODIFIED"), r
    p = r.json_problem("MISSING", key)
    assert listed[key] in p["Message"], "the message names the digest that lists the file: %r" % p


def test_forged_log_file_is_unexpected(copy):
    listed = _listed_files(copy)
    model = sorted(listed)[len(listed) // 2]
    m = re.match(r"^(.*_)(\d+)(\.json(?:\.gz)?)$", model)
    assert m, model
    key = m.group(1) + "987654" + m.group(3)
    rec = json.loads(_lines(model, copy.get(model))[0])
    rec["eventId"] = uid("forged")
    rec["eventName"] = "DeleteEverything"
    body = (json.dumps(rec, separators=(",", ":")) + "\n").encode()
    copy.put(key, gzip.compress(body) if key.endswith(".gz") else body)
    r = copy.verify()
    assert r.rc == 1, r
    assert r.keys("UNEXPECTED") == {key}, "UNEXPECTED %s expected: %s" % (key, r)
    assert not r.keys("MODIFIED") and not r.keys("MISSING"), r
    assert r.json_problem("UNEXPECTED", key)


def test_forged_log_file_dated_in_the_future_is_unexpected(copy):
    """The server names a file by the time it writes it, never later than now: a log file whose key
    time is a day ahead of the check cannot be a file whose digest is still to come ("pending"); it is
    a forgery and must be reported, not pass with exit 0."""
    listed = _listed_files(copy)
    model = sorted(listed)[0]
    m = re.match(r"^([^/]+)/\d{10}/(\d+)_CloudAudit_(.+)_\d{8}T\d{6}Z_(\d+)_\d+(\.json(?:\.gz)?)$", model)
    assert m, model
    when = time.gmtime(time.time() + 86400)
    key = "%s/%s/%s_CloudAudit_%s_%s_%s_987655%s" % (m.group(1), time.strftime("%Y%m%d%H", when), m.group(2),
                                                    m.group(3), time.strftime("%Y%m%dT%H%M%SZ", when), m.group(4),
                                                    m.group(5))
    copy.put(key, copy.get(model))
    r = copy.verify()
    assert r.rc == 1, "a forged file dated tomorrow passes as pending: %s" % r
    assert r.keys("UNEXPECTED") == {key}, r


def test_moved_file_is_moved(copy):
    listed = _listed_files(copy)
    key = sorted(listed)[-1]
    m = re.match(r"^(.*_)(\d+)(\.json(?:\.gz)?)$", key)
    target = m.group(1) + "987656" + m.group(3)
    copy.put(target, copy.get(key))
    copy.delete(key)
    r = copy.verify()
    assert r.rc == 1, r
    assert r.keys("MOVED") == {key}, "MOVED %s expected: %s" % (key, r)
    assert r.json_problem("MOVED", key).get("Related") == target
    assert not r.keys("MISSING") and target not in r.keys("UNEXPECTED"), r


def test_removed_digest_is_a_gap(copy):
    ds = copy.digests()
    assert len(ds) >= 3, [k for k, _ in ds]
    victim, later = ds[-3][0], None
    for k, d in ds:
        if d["PreviousDigestKey"] == victim:
            later = k
    assert later, "no digest names %s as its previous one" % victim
    copy.delete(victim)
    r = copy.verify()
    assert r.rc == 1, r
    gaps = [(k, msg) for kind, k, msg in r.problems if kind == "GAP"]
    assert any(k == later and victim in msg for k, msg in gaps), (
        "GAP at %s naming the removed %s expected: %s" % (later, victim, r))
    p = r.json_problem("GAP", later)
    assert p.get("Related") == victim, p
    # the files it listed are listed by no valid digest any more
    orphans = {f["Key"] for k, d in ds if k == victim for f in d["LogFiles"]}
    assert orphans <= r.keys("UNEXPECTED"), (orphans, r)


def test_removed_newest_digest_leaves_its_files_uncovered(copy):
    ds = copy.digests()
    newest_key, newest = ds[-1]
    files = {f["Key"] for f in newest["LogFiles"]}
    assert files, ("the final digest written at SIGTERM must list the files of the last batch (put just before "
                   "the stop): %s" % newest_key)
    # past twice the digest interval, a file no digest lists is no longer "pending"
    newest_file_time = max(stamp_time(re.search(r"_(\d{8}T\d{6}Z)_", k).group(1)) for k in files)
    while time.time() < newest_file_time + 2 * DIGEST_INTERVAL + 1.5:
        time.sleep(0.5)
    copy.delete(newest_key)
    r = copy.verify()
    assert r.rc == 1, "removing the newest digest must be noticed: %s" % r
    assert files <= r.keys("UNEXPECTED"), "the files of the removed digest %s must be reported: %s" % (newest_key, r)
    for k in files:
        assert r.json_problem("UNEXPECTED", k)


def _resign(raw, priv, mutate, signing_key=None):
    d = json.loads(raw)
    d.pop("Signature")
    mutate(d)
    if signing_key is not None:
        d["SigningKey"] = signing_key
    body = json.dumps(d, separators=(",", ":"), ensure_ascii=False).encode()
    assert body.endswith(b"}")
    signed = body[:-1]
    return signed + SIG_MARKER + base64.b64encode(priv.sign(signed)) + b'"}\n'


@pytest.mark.parametrize("how", ["attacker-signing-key", "original-signing-key", "not-resigned"])
def test_rewritten_digest_is_forged(copy, how):
    ds = copy.digests()
    # a digest with files, that a later digest names
    cands = [k for i, (k, d) in enumerate(ds[:-1]) if d["LogFiles"]]
    assert cands, [k for k, _ in ds]
    victim = cands[-1]
    raw = copy.get(victim)
    dropped = json.loads(raw)["LogFiles"][0]["Key"]

    def drop(d):
        d["LogFiles"] = d["LogFiles"][1:]

    priv, attacker_pub, _ = new_keypair("cloudaudit")
    if how == "attacker-signing-key":
        forged = _resign(raw, priv, drop, signing_key=attacker_pub)
    elif how == "original-signing-key":
        forged = _resign(raw, priv, drop)
    else:
        d = json.loads(raw)
        drop(d)
        forged = json.dumps(d, separators=(",", ":")).encode() + b"\n"
    copy.put(victim, forged)
    r = copy.verify()
    assert r.rc == 1, r
    assert r.has("FORGED", victim), "FORGED %s expected: %s" % (victim, r)
    assert r.keys("FORGED") == {victim}, r
    assert r.json_problem("FORGED", victim)
    assert r.summary[0] == r.summary[1] - 1, r.summary
    assert dropped in r.keys("UNEXPECTED") | r.keys("MISSING") | set(_other_listed(copy, victim)), r


def _other_listed(copy, victim):
    return [f["Key"] for k, d in copy.digests() if k != victim for f in d["LogFiles"]]


def test_verify_with_another_deployments_key_is_forged(copy):
    _, other_pub, _ = new_keypair("cloudaudit")
    r = copy.verify(pub=other_pub)
    assert r.rc == 1, r
    assert r.keys("FORGED") == {k for k, _ in copy.digests()}, r
    assert r.summary[0] == 0


# --------------------------------------------------------------------------------------------------
# 6: the stored data (through storage_backend.py)


def _alter_record(srv, account, event_id, old=b"10.1.2.3", new=b"10.6.6.6"):
    """What an attacker with the data directory does: drop the append-only guard and rewrite one
    event's record. Returns (seq, new record)."""
    return storage_backend.alter_event_record(srv, account, event_id, old, new)


def _verify_event(srv, key, event_id, pub, *extra):
    env = support.clean_env(TENCENTCLOUD_SECRET_ID=key.secret_id, TENCENTCLOUD_SECRET_KEY=key.secret_key)
    args = ["verify-event", event_id, "--public-key", pub, "--endpoint", srv.url] + list(extra)
    t = run_cli(args, check=False, env=env)
    j = run_cli(args + ["--output", "json"], check=False, env=env)
    try:
        out = json.loads(j.stdout_text)
    except ValueError:
        raise AssertionError("verify-event --output json: %s\n%s" % (j.stdout_text, j.stderr_text))
    assert j.returncode == t.returncode, (t.returncode, j.returncode)
    assert out["Verified"] is (t.returncode == 0), out
    checks = {c["Name"]: c for c in out["Checks"]}
    for name, c in checks.items():
        line = [ln for ln in t.stdout_text.splitlines() if re.match(r"^(ok|FAIL)\s+%s:" % name, ln)]
        assert line and line[0].startswith("ok" if c["Passed"] else "FAIL"), (name, t.stdout_text)
    return t, out, checks


def test_altered_sqlite_row_fails_verify_event(spawn_server, tmp_path):
    srv = spawn_server()
    srv.start()
    pub = signing_public(srv)[0]
    acct = srv.create_account(uid("acct"))["AccountId"]
    ingest, auditor = srv.create_key(acct, "ingest"), srv.create_key(acct, "auditor")
    evs = [make_event(uid("tp"), "Db%d" % i) for i in range(6)]
    ingest.put_ok(evs)
    victim, witness = evs[2]["eventId"], evs[4]["eventId"]
    saved = tmp_path / "before.note"
    r = api(auditor, "GetCheckpoint")
    check_checkpoint_response(r, pub, acct, size=6)
    saved.write_text(r["Checkpoint"])
    t, out, _ = _verify_event(srv, auditor, victim, pub, "--checkpoint", str(saved))
    assert t.returncode == 0, "before the change: %s %s" % (t.stdout_text, t.stderr_text)

    srv.stop()
    seq, altered = _alter_record(srv, acct, victim)
    srv.start(port=srv.port)
    # the API now serves the altered record
    rec = [e for e in support.lookup(auditor, attrs=[("EventId", victim)])["Events"]][0]["CloudAuditEvent"]
    assert rec.encode() == altered

    t, out, checks = _verify_event(srv, auditor, victim, pub)
    assert t.returncode == 1, "an altered record must not verify: %s %s" % (t.stdout_text, t.stderr_text)
    assert "NOT VERIFIED" in t.stdout_text and re.search(r"modified", t.stdout_text, re.I), t.stdout_text
    assert checks["record"]["Passed"] is False and "modified" in checks["record"]["Detail"], checks
    assert checks["checkpoint"]["Passed"] and checks["inclusion"]["Passed"], checks
    t, out, checks = _verify_event(srv, auditor, witness, pub)
    assert t.returncode == 0 and "VERIFIED" in t.stdout_text, t.stdout_text + t.stderr_text
    # the saved checkpoint: the log (leaf hashes) was not rewritten, so it is still consistent
    t, out, checks = _verify_event(srv, auditor, witness, pub, "--checkpoint", str(saved))
    assert t.returncode == 0 and checks["consistency"]["Passed"], t.stdout_text + t.stderr_text
    t, out, checks = _verify_event(srv, auditor, victim, pub, "--checkpoint", str(saved))
    assert t.returncode == 1 and checks["consistency"]["Passed"] and not checks["record"]["Passed"], checks

    # an attacker who also rewrites the leaf hash and lets the server sign the rewritten log: the event
    # alone then looks fine, but the checkpoint saved before is not consistent with it
    srv.stop()
    storage_backend.rewrite_event_leaf(srv, acct, seq, altered)
    srv.start(port=srv.port)
    t, out, checks = _verify_event(srv, auditor, victim, pub)
    assert checks["record"]["Passed"] and checks["inclusion"]["Passed"], (
        "the rewrite is self-consistent (precondition): %s" % checks)
    for eid in (victim, witness):
        t, out, checks = _verify_event(srv, auditor, eid, pub, "--checkpoint", str(saved))
        assert t.returncode == 1, "a rewritten log must fail against the saved checkpoint: %s" % t.stdout_text
        assert checks["consistency"]["Passed"] is False, checks
        assert "NOT VERIFIED" in t.stdout_text


@pytest.fixture(scope="module")
def altered_deployment(tmp_path_factory, moto, s3):
    """Two stopped sets; events put; one stored record altered while the server is down; then the
    sets are started, deliver (the altered record) and the server is stopped (final digests)."""
    base = tmp_path_factory.mktemp("tamper-db")
    srv, regions = _start_deployment(base, moto)
    try:
        dep = _new_deployment(srv, regions, s3, base)
        _make_tracks(dep, status=0)
        evs = [make_event(uid("tp"), "Alt%d" % i) for i in range(6)]
        dep.ingest.put_ok(evs)
        dep.ids = [e["eventId"] for e in evs]
        srv.stop()
        _alter_record(srv, dep.account, dep.ids[3])
        srv.start(port=srv.port)
        for backend in BACKENDS:
            D.call(dep.admin, "ModifyAuditTrack", {"TrackId": dep.tracks[backend], "Status": 1})
        _wait_delivered(dep, dep.ids)
        time.sleep(1.0)
    finally:
        rc = srv.stop()
    assert rc == 0
    return dep


@pytest.mark.parametrize("backend", BACKENDS)
def test_record_altered_before_delivery_fails_the_log_check(altered_deployment, backend, tmp_path):
    dep = altered_deployment
    c = Copy(dep, backend, tmp_path)
    objs = c.objects()
    holder = [k for k, v in objs.items() if "/CloudAudit-Digest/" not in k
              and any(json.loads(x)["eventId"] == dep.ids[3] for x in _lines(k, v))]
    assert len(holder) == 1, holder
    digest = [k for k, d in c.digests() if any(f["Key"] == holder[0] for f in d["LogFiles"])]
    assert len(digest) == 1, "one digest lists %s" % holder[0]
    r = c.verify()
    assert r.rc == 1, r
    assert r.keys("LOG") == {digest[0]}, "LOG %s expected (its files do not rebuild its checkpoint): %s" % (digest[0], r)
    assert not r.keys("MODIFIED"), "the file is as the digest lists it: %s" % r
    assert r.json_problem("LOG", digest[0])
