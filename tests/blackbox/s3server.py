"""moto's S3 server for the tracking-set and delivery tests: an S3-compatible object store started by
the tests on loopback (in memory), an independent S3 client on it (boto3), and bucket helpers.
"""

import subprocess
import sys
import time
import uuid

import requests

from support import clean_env, free_port

S3_ACCESS_KEY = "AKIAMOTOTESTKEY"
S3_SECRET_KEY = "motoTestSecretKeyDoNotUse0123456789"


# --------------------------------------------------------------------------------------------------
# moto's S3 server


class MotoServer:
    """`python -m moto.server -H 127.0.0.1 -p PORT` (in-memory S3), ready once GET / answers."""

    def __init__(self, log_path, port=None):
        self.port = port or free_port()
        self.log_path = str(log_path)
        self.proc = None

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def start(self, timeout=60):
        log = open(self.log_path, "ab")
        env = clean_env(AWS_ACCESS_KEY_ID=S3_ACCESS_KEY, AWS_SECRET_ACCESS_KEY=S3_SECRET_KEY,
                        AWS_DEFAULT_REGION="us-east-1")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env, start_new_session=True)
        log.close()
        deadline = time.time() + timeout
        last = None
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("moto server exited with %s: %s" % (self.proc.returncode, self.log_tail()))
            try:
                r = requests.get(self.url + "/", timeout=2)
                if r.status_code < 500:
                    return self
                last = r.status_code
            except requests.RequestException as e:
                last = e
            time.sleep(0.1)
        self.stop()
        raise RuntimeError("moto server not ready after %ss (%s): %s" % (timeout, last, self.log_tail()))

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)

    def log_tail(self, n=30):
        try:
            with open(self.log_path, "rb") as f:
                return "\n".join(f.read().decode("utf-8", "replace").splitlines()[-n:])
        except FileNotFoundError:
            return ""


def s3_client(url):
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3", endpoint_url=url, region_name="us-east-1", aws_access_key_id=S3_ACCESS_KEY,
        aws_secret_access_key=S3_SECRET_KEY,
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 2}))


def new_bucket_name(prefix="ca"):
    """A valid StorageName (1-50 of [a-z0-9-], no dash at either end) no other test uses."""
    return "%s-%s" % (prefix, uuid.uuid4().hex[:16])


def create_bucket(s3, name):
    s3.create_bucket(Bucket=name)
    return name


def bucket_exists(s3, name):
    try:
        s3.head_bucket(Bucket=name)
        return True
    except Exception:
        return False


def empty_and_delete_bucket(s3, name):
    paginator = s3.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=name):
        for o in page.get("Contents") or []:
            s3.delete_object(Bucket=name, Key=o["Key"])
    s3.delete_bucket(Bucket=name)
