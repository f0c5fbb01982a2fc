"""Helpers for the managed-key (KMS) tests: `cloudaudit kms ...` on a running server's data directory,
and an independent implementation of the envelope format of docs/integrity.md ("Envelope
encryption") with the `cryptography` package, to make `.enc` files that `cloudaudit decrypt` must read.

The key material comes from the at-rest format documented in docs/contract.md ("KMS keys"), read
through storage_backend.py: the sealed key = nonce(12) || ciphertext(32) || tag(16), AES-256-GCM under
HMAC-SHA256(deployment master key, "kms-key-sealing"), associated data = the key id.
"""

import hashlib
import hmac
import os
import re
import struct

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

import deliverysupport as D
import storage_backend
import webhooks as W
from support import parse_json_output, uid

KEY_ID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def cli_env(server):
    """What the admin CLI needs to load the track server's regions file: the S3 and hook secrets."""
    env = server.cli_env()
    env.update(D.s3_env(HOOK_SECRET=W.HOOK_SECRET))
    return env


def kms(env, *args, check=True):
    """`cloudaudit kms ...` (or any command) on the track server's data dir, with its regions file."""
    return env.server.cli(*args, check=check, env=cli_env(env.server))


def create_key(env, account_id, region=D.STORAGE_REGION, alias=None):
    """`cloudaudit kms create-key`; returns its JSON output."""
    alias = alias or uid("key")
    out = parse_json_output(kms(env, "kms", "create-key", "--region", region, "--alias", alias, "--account", str(account_id),
                                "--regions", env.regions_path))
    assert set(out) == {"KeyId", "Alias", "Region", "AccountId"}, "create-key prints exactly these fields: %r" % out
    assert KEY_ID_RE.match(out["KeyId"]), "KeyId must be a lower-case UUID: %r" % out
    assert (out["Alias"], out["Region"], out["AccountId"]) == (alias, region, account_id), out
    return out


def list_keys(env, account_id=None, region=None):
    args = ["kms", "list", "--output", "json"]
    if account_id is not None:
        args += ["--account", str(account_id)]
    if region is not None:
        args += ["--region", region]
    return parse_json_output(kms(env, *args))


# ---- the envelope format, independently


def master_key(server):
    text = open(os.path.join(server.data_dir, "master.key")).read().strip()
    return bytes.fromhex(text)


def key_material(server, key_id):
    """Unseals a managed key's material from the database (documented at-rest format)."""
    sealed = storage_backend.sealed_kms_key(server, key_id)
    assert sealed is not None, "key %s not in the database" % key_id
    sealing = hmac.new(master_key(server), b"kms-key-sealing", hashlib.sha256).digest()
    material = AESGCM(sealing).decrypt(sealed[:12], sealed[12:], key_id.encode())
    assert len(material) == 32
    return material


def seal(plaintext, key_id, material):
    """An envelope exactly as docs/integrity.md lays it out."""
    kid = key_id.encode()
    data_key = os.urandom(32)
    wrap_nonce = os.urandom(12)
    wrapped = wrap_nonce + AESGCM(material).encrypt(wrap_nonce, data_key, kid)
    assert len(wrapped) == 60
    nonce = os.urandom(12)
    header = b"CAENC" + bytes([1]) + struct.pack(">H", len(kid)) + kid + struct.pack(">H", len(wrapped)) + wrapped + nonce
    return header + AESGCM(data_key).encrypt(nonce, plaintext, header)


def open_envelope(data, material):
    """Reads an envelope independently (for files the server writes)."""
    assert data[:5] == b"CAENC" and data[5] == 1, "not a version-1 envelope"
    n = struct.unpack(">H", data[6:8])[0]
    kid = data[8:8 + n]
    at = 8 + n
    w = struct.unpack(">H", data[at:at + 2])[0]
    assert w == 60, w
    at += 2
    wrapped = data[at:at + w]
    at += w
    nonce = data[at:at + 12]
    at += 12
    data_key = AESGCM(material).decrypt(wrapped[:12], wrapped[12:], kid)
    return kid.decode(), AESGCM(data_key).decrypt(nonce, data[at:], data[:at])
