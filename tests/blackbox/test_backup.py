"""`cloudaudit backup` of a running deployment under load, then `cloudaudit restore` elsewhere: every
account's event count and Merkle root in the copy are the live log's at the moment of the copy, a
server on the restored data directory answers the same roots, and a damaged copy is refused."""

import json
import os
import threading

from support import Server, make_event, random_secret_id, random_secret_key, raw_call, run_cli, uid

import storage_backend

pytestmark = storage_backend.only("sqlite", "backup and restore copy the embedded store's files; a PostgreSQL store is backed up with PostgreSQL's own tools (README, Production)")


def _ok(resp):
    body = resp.json()["Response"]
    assert "Error" not in body, body
    return body


def test_backup_under_load_then_restore_gives_equal_roots(tmp_path):
    srv = Server(tmp_path / "data", tmp_path / "server.log", root_id=random_secret_id(), root_key=random_secret_key())
    srv.start()
    try:
        tenants = [srv.create_account() for _ in range(2)]
        keys = {100000000001: (srv.root_id, srv.root_key)}
        for t in tenants:
            k = srv.create_key(t["AccountId"], "admin")
            keys[t["AccountId"]] = (k.secret_id, k.secret_key)

        # Load: PutEvents into every account, until told to stop.
        stop, sent, errors = threading.Event(), [0], []

        def load():
            while not stop.is_set():
                for sid, skey in keys.values():
                    r = raw_call(srv, sid, skey, "PutEvents", {"Events": [make_event(uid("bk")) for _ in range(20)]})
                    if r.status_code != 200 or "Error" in r.json()["Response"]:
                        errors.append(r.text[:300])
                    sent[0] += 20
        loader = threading.Thread(target=load, daemon=True)
        loader.start()
        try:
            while sent[0] < 600:
                stop.wait(0.05)
            backup = tmp_path / "backup"
            p = run_cli(["backup", "--to", str(backup), "--data-dir", srv.data_dir], env=srv.cli_env())
            during = sent[0]
            while sent[0] < during + 300:  # appends go on after the copy
                stop.wait(0.05)
        finally:
            stop.set()
            loader.join(timeout=60)
        assert not errors, errors[:3]
        assert "SECRET" in p.stdout_text and "master.key" in p.stdout_text, p.stdout_text
        manifest = json.loads((backup / "backup.json").read_text())
        files = {f["Name"]: f for f in manifest["Files"]}
        assert files["master.key"]["Secret"] and files["signing.key"]["Secret"] and files["cloudaudit.sqlite"]["Secret"]
        assert not files["signing-keys.json"]["Secret"]
        assert oct(os.stat(backup / "master.key").st_mode & 0o777) == "0o600"
        accounts = {a["AccountId"]: a for a in manifest["Accounts"]}
        assert set(keys) <= set(accounts)

        # The copy's roots are the live log's at the copy's sizes, although the log has grown since.
        for account, (sid, skey) in keys.items():
            n = accounts[account]["Events"]
            assert n > 0
            live = _ok(raw_call(srv, sid, skey, "GetCheckpoint", {}))
            assert live["TreeSize"] > n, "appends went on after the copy"
            proof = _ok(raw_call(srv, sid, skey, "GetConsistencyProof", {"FirstTreeSize": n, "SecondTreeSize": live["TreeSize"]}))
            assert proof["FirstRootHash"].lower() == accounts[account]["MerkleRoot"], account
    finally:
        srv.stop()

    # Restore elsewhere: checked against the manifest, then served with the same roots.
    restored = tmp_path / "restored"
    p = run_cli(["restore", "--from", str(backup), "--data-dir", str(restored)])
    assert "every account's event count and Merkle root match the backup" in p.stdout_text, p.stdout_text
    again = Server(restored, tmp_path / "restored.log", root_id=srv.root_id, root_key=srv.root_key)
    again.start()
    try:
        for account, (sid, skey) in keys.items():
            n = accounts[account]["Events"]
            cp = _ok(raw_call(again, sid, skey, "GetCheckpoint", {"TreeSize": n}))
            assert cp["RootHash"].lower() == accounts[account]["MerkleRoot"], account
    finally:
        again.stop()

    # A restore never overwrites a deployment, and a damaged copy is refused.
    p = run_cli(["restore", "--from", str(backup), "--data-dir", str(restored)], check=False)
    assert p.returncode == 1 and "already holds a deployment" in p.stderr_text, p.stderr_text
    damaged = tmp_path / "damaged"
    os.makedirs(damaged)
    for f in manifest["Files"] + [{"Name": "backup.json"}]:
        (damaged / f["Name"]).write_bytes((backup / f["Name"]).read_bytes())
    blob = bytearray((damaged / "signing-keys.json").read_bytes())
    blob[len(blob) // 2] ^= 1
    (damaged / "signing-keys.json").write_bytes(bytes(blob))
    p = run_cli(["restore", "--from", str(damaged), "--data-dir", str(tmp_path / "other")], check=False)
    assert p.returncode == 1 and "is not the file that was backed up (its SHA-256 differs)" in p.stderr_text, p.stderr_text
    assert not (tmp_path / "other" / "cloudaudit.sqlite").exists(), "nothing restored from a damaged copy"
    # and a backup never goes into a directory that holds something
    p = run_cli(["backup", "--to", str(backup), "--data-dir", str(restored)], check=False)
    assert p.returncode == 1 and "is not empty" in p.stderr_text
    # A manifest changed to name a file outside the backup, or not a manifest at all, is refused as such.
    forged = tmp_path / "forged"
    forged.mkdir()
    manifest = json.loads((backup / "backup.json").read_text())
    manifest["Files"].append(dict(manifest["Files"][0], Name="../../outside"))
    (forged / "backup.json").write_text(json.dumps(manifest))
    p = run_cli(["restore", "--from", str(forged), "--data-dir", str(tmp_path / "other2")], check=False)
    assert p.returncode == 1 and "cannot be restored from: it lists ../../outside, which is not a file of a backup" in p.stderr_text, p.stderr_text
    (forged / "backup.json").write_text("[" * 200000)
    p = run_cli(["restore", "--from", str(forged), "--data-dir", str(tmp_path / "other2")], check=False)
    assert p.returncode == 1 and "it is not a backup manifest" in p.stderr_text, p.stderr_text
    assert not (tmp_path / "other2").exists() or not any((tmp_path / "other2").iterdir())
