"""Three nodes on one PostgreSQL store (docs/postgres.md): clients spread over them ingest into the same
accounts at once while tracking sets deliver to an S3-compatible server (moto); one node is killed with
SIGKILL mid-run and started again, and PostgreSQL itself is restarted (`pg_ctl restart -m fast`).
Afterwards every acknowledged event is stored exactly once, each account's sequence has no gap, every
checkpoint signed during the run is consistent with the final tree, every tracking set's files hold
every event once, `cloudaudit verify` passes over the bucket, and no digest chain forked."""

import json
import random
import threading
import time

import requests

import deliverysupport as D
from merkle_ref import verify_consistency
from pgcluster import Cluster
from s3server import MotoServer, create_bucket, new_bucket_name, s3_client
import storage_backend
from support import Key, Server, clean_env, lookup_all, make_event, parse_json_output, raw_call, run_cli, uid, window

pytestmark = storage_backend.once("it starts its own PostgreSQL clusters")


NODES = 3
CLIENTS = 6


def _ok(resp):
    return resp.status_code == 200 and "Error" not in resp.json()["Response"]


class Ingest:
    """Clients that send batches of new events to the nodes in turn; a batch that is not acknowledged
    (node down, store restarting) is sent again, with the same eventIds, to the next node."""

    def __init__(self, nodes, keys):
        self.nodes, self.keys = nodes, keys
        self.acked = {acct: set() for acct in keys}
        self.retries = 0
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.client, args=(i,), daemon=True) for i in range(CLIENTS)]

    def client(self, i):
        rng = random.Random(i)
        turn = i
        while not self.stop.is_set():
            acct = rng.choice(sorted(self.keys))
            key = self.keys[acct]
            batch = [make_event("cvm.tencentcloudapi.com", "RunInstances", eventId=uid("mn")) for _ in range(10)]
            deadline = time.time() + 120
            while time.time() < deadline:
                node = self.nodes[turn % len(self.nodes)]
                turn += 1
                try:
                    if _ok(raw_call(node, key.secret_id, key.secret_key, "PutEvents", {"Events": batch}, timeout=30)):
                        with self.lock:
                            self.acked[acct].update(e["eventId"] for e in batch)
                        break
                except requests.RequestException:
                    pass
                with self.lock:
                    self.retries += 1
                time.sleep(0.2)
            time.sleep(0.05)


class Checkpoints:
    """GetCheckpoint from the nodes in turn during the run: the checkpoints the deployment signed."""

    def __init__(self, nodes, keys):
        self.nodes, self.keys = nodes, keys
        self.seen = {acct: {} for acct in keys}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        turn = 0
        while not self.stop.is_set():
            for acct, key in self.keys.items():
                node = self.nodes[turn % len(self.nodes)]
                turn += 1
                try:
                    r = raw_call(node, key.secret_id, key.secret_key, "GetCheckpoint", {}, timeout=10)
                    if _ok(r):
                        c = r.json()["Response"]
                        prev = self.seen[acct].get(c["TreeSize"])
                        assert prev is None or prev == (c["RootHash"], c["Checkpoint"]), \
                            "two different checkpoints were signed for size %d of account %d" % (c["TreeSize"], acct)
                        self.seen[acct][c["TreeSize"]] = (c["RootHash"], c["Checkpoint"])
                except requests.RequestException:
                    pass
            time.sleep(0.3)


def test_three_nodes_lose_nothing_when_a_node_dies_and_the_database_restarts(tmp_path):
    cluster = Cluster(tmp_path / "pg").start()
    moto = MotoServer(tmp_path / "moto.log").start()
    nodes = []
    try:
        keys_dir = tmp_path / "keys"
        pub = run_cli(["keys", "init", "--data-dir", str(keys_dir)]).stdout_text.splitlines()[0]
        regions = D.write_regions(tmp_path / "regions.json", [D.s3_region(D.STORAGE_REGION, moto.url)])
        s3 = s3_client(moto.url)
        bucket = new_bucket_name("mn")
        create_bucket(s3, bucket)
        env = dict(D.s3_env(), CLOUDAUDIT_STORE=cluster.url, CLOUDAUDIT_MASTER_KEY=(keys_dir / "master.key").read_text().strip(),
                   CLOUDAUDIT_SIGNING_KEY_FILE=str(keys_dir / "signing.key"))
        args = ["--regions", regions, "--delivery-interval", "1", "--digest-interval", "2", "--checkpoint-interval", "1"]
        for i in range(NODES):
            nodes.append(Server(tmp_path / ("node%d" % i) / "data", tmp_path / ("node%d.log" % i), extra_args=args, env=env).start())
        admin_env = clean_env(**env)
        keys, tracks = {}, {}
        for n in range(2):
            acct = parse_json_output(run_cli(["accounts", "create", "--name", uid("mn")], env=admin_env))["AccountId"]
            out = parse_json_output(run_cli(["keys", "create", "--account", str(acct), "--role", "admin"], env=admin_env))
            keys[acct] = Key(nodes[n], out["SecretId"], out["SecretKey"], acct, "admin")
            tracks[acct] = D.create_track(keys[acct], bucket=bucket, prefix="acct%d" % acct)

        ingest, checkpoints = Ingest(nodes, keys), Checkpoints(nodes, keys)
        for t in ingest.threads:
            t.start()
        checkpoints.thread.start()
        time.sleep(4)
        nodes[1].kill9()  # SIGKILL mid-run: its requests in flight are lost, never acknowledged
        time.sleep(2)
        nodes[1].start()
        time.sleep(3)
        cluster.restart()  # pg_ctl restart -m fast
        time.sleep(6)
        ingest.stop.set()
        for t in ingest.threads:
            t.join(timeout=150)
        checkpoints.stop.set()
        checkpoints.thread.join(timeout=30)
        print("acknowledged %s, retried batches %d" % ({a: len(v) for a, v in ingest.acked.items()}, ingest.retries))
        assert all(len(a) > 100 for a in ingest.acked.values()), {a: len(v) for a, v in ingest.acked.items()}

        start, end = window()
        for acct, key in keys.items():
            # Every acknowledged event, exactly once, on any node.
            stored = lookup_all(Key(nodes[2], key.secret_id, key.secret_key, acct, "admin"), [("EventName", "RunInstances")], start, end)
            ids = [e["EventId"] for e in stored]
            assert len(ids) == len(set(ids)), "an event is stored twice"
            assert ingest.acked[acct] <= set(ids), "%d acknowledged events are missing" % len(ingest.acked[acct] - set(ids))
            # One gap-free sequence per account, whichever node appended.
            count, top = cluster.psql("SELECT count(*), max(seq) FROM events WHERE account_id = %d" % acct)[0].split("|")
            assert int(count) == int(top), "account %d: %s events up to sequence %s" % (acct, count, top)
            # Every checkpoint signed during the run is a prefix of the final tree.
            final = raw_call(nodes[0], key.secret_id, key.secret_key, "GetCheckpoint", {}).json()["Response"]
            assert checkpoints.seen[acct], "no checkpoint was read during the run"
            for size, (root, _) in sorted(checkpoints.seen[acct].items()):
                if size == 0 or size > final["TreeSize"]:
                    continue
                proof = raw_call(nodes[0], key.secret_id, key.secret_key, "GetConsistencyProof",
                                 {"FirstTreeSize": size, "SecondTreeSize": final["TreeSize"]}).json()["Response"]
                assert verify_consistency(size, final["TreeSize"], bytes.fromhex(root), bytes.fromhex(final["RootHash"]),
                                          [bytes.fromhex(h) for h in proof["Proof"]]), "checkpoint %d of account %d forks the log" % (size, acct)

        # Every set's files hold every acknowledged event once; verify passes; no digest has two successors.
        deadline = time.time() + 150
        while True:
            files = {acct: D.read_s3_files(s3, bucket, "acct%d/" % acct) for acct in keys}
            missing = {acct: len(ingest.acked[acct] - set(D.delivered_ids(files[acct]))) for acct in keys}
            if not any(missing.values()):
                break
            assert time.time() < deadline, "not delivered: %s\n%s" % (missing, "\n".join(n.log_tail(20) for n in nodes))
            time.sleep(1)
        for acct in keys:
            assert D.duplicates(files[acct]) == {}, "an event was delivered twice"
        for acct, tid in tracks.items():
            deadline = time.time() + 60
            while True:
                p = run_cli(["verify", "--region", D.STORAGE_REGION, "--bucket", bucket, "--regions", regions, "--track", str(tid),
                             "--public-key", pub, "--digest-interval", "2", "--prefix", "acct%d" % acct], check=False, env=clean_env(**D.s3_env()))
                if p.returncode == 0:
                    break
                assert p.returncode == 3 and time.time() < deadline, "verify: %s %s" % (p.stdout_text[-2000:], p.stderr_text[-500:])
                time.sleep(1)
            digests = [json.loads(s3.get_object(Bucket=bucket, Key=k)["Body"].read()) for k in D.list_s3_keys(s3, bucket, "acct%d/" % acct)
                       if "/CloudAudit-Digest/" in "/" + k]
            previous = [d.get("PreviousDigestKey") for d in digests if d.get("PreviousDigestKey")]
            assert len(previous) == len(set(previous)), "a digest chain forked: two digests follow the same one"
    finally:
        for n in nodes:
            n.kill9()
        moto.stop()
        cluster.stop()
