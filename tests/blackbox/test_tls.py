"""HTTPS on the API and console port (`--tls-cert`, `--tls-key`): the official SDK over https with a test
CA, the console's Secure cookie, and a certificate replaced on SIGHUP without dropping a connection."""

import datetime
import http.client
import os
import signal
import ssl
import time

import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from support import Server, make_event, random_secret_id, random_secret_key, run_cli, uid


def _name(cn):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def make_ca():
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(_name("cloudaudit test CA")).issuer_name(_name("cloudaudit test CA"))
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True).sign(key, hashes.SHA256()))
    return key, cert


def make_leaf(ca_key, ca_cert):
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    import ipaddress
    cert = (x509.CertificateBuilder().subject_name(_name("127.0.0.1")).issuer_name(ca_cert.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    return key, cert


def write_pair(directory, key, cert, key_mode=0o600):
    cert_path, key_path = directory / "server.crt", directory / "server.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    os.chmod(key_path, key_mode)
    return str(cert_path), str(key_path)


def _serial(conn):
    return x509.load_der_x509_certificate(conn.sock.getpeercert(binary_form=True)).serial_number


def _connect(port, ca_path):
    ctx = ssl.create_default_context(cafile=ca_path)
    conn = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=10)
    conn.request("GET", "/healthz")
    r = conn.getresponse()
    assert r.status == 200
    r.read()
    return conn


def test_https_with_the_sdk_secure_cookies_and_a_reload_on_sighup(tmp_path):
    ca_key, ca_cert = make_ca()
    ca_path = tmp_path / "ca.pem"
    ca_path.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    first_key, first = make_leaf(ca_key, ca_cert)
    cert_path, key_path = write_pair(tmp_path, first_key, first)
    srv = Server(tmp_path / "data", tmp_path / "tls-server.log", root_id=random_secret_id(), root_key=random_secret_key(),
                 extra_args=["--tls-cert", cert_path, "--tls-key", key_path], ca_file=ca_path)
    srv.start()
    try:
        # The official SDK over https, verifying the server against the test CA.
        client = srv.root().common()
        src = uid("tls")
        put = client.call_json("PutEvents", {"Events": [make_event(src)]})["Response"]
        assert "Error" not in put, put
        found = client.call_json("LookUpEvents", {"StartTime": int(time.time()) - 600, "EndTime": int(time.time()) + 60,
                                                  "LookupAttributes": [{"AttributeKey": "EventSource", "AttributeValue": src}]})
        assert len(found["Response"]["Events"]) == 1
        assert "listening" in srv.log_text() and "https://127.0.0.1" in srv.log_text()
        # Plain HTTP on the TLS port is not served.
        try:
            r = requests.get("http://127.0.0.1:%d/healthz" % srv.port, timeout=5)
            assert r.status_code != 200
        except requests.RequestException:
            pass
        # The console's session cookie is Secure behind TLS.
        r = requests.post(srv.url + "/console/api/session", json={"SecretId": srv.root_id, "SecretKey": srv.root_key},
                          verify=str(ca_path), timeout=30)
        assert r.status_code == 200, r.text
        assert "Secure" in r.headers["Set-Cookie"], r.headers["Set-Cookie"]

        # A new certificate, loaded on SIGHUP: new connections get it, an open one keeps going.
        before = _connect(srv.port, str(ca_path))
        assert _serial(before) == first.serial_number
        second_key, second = make_leaf(ca_key, ca_cert)
        write_pair(tmp_path, second_key, second)
        srv.proc.send_signal(signal.SIGHUP)
        deadline = time.time() + 20
        while "reloaded the TLS certificate and key" not in srv.log_text():
            assert time.time() < deadline, srv.log_text()[-2000:]
            time.sleep(0.1)
        after = _connect(srv.port, str(ca_path))
        assert _serial(after) == second.serial_number, "a new connection gets the new certificate"
        before.request("GET", "/healthz")
        assert before.getresponse().status == 200, "the connection opened before the reload was not dropped"
        assert _serial(before) == first.serial_number

        # A reload that fails keeps the certificate in use.
        (tmp_path / "server.crt").write_text("not a certificate\n")
        srv.proc.send_signal(signal.SIGHUP)
        deadline = time.time() + 20
        while "TLS reload failed; the previous certificate stays" not in srv.log_text():
            assert time.time() < deadline, srv.log_text()[-2000:]
            time.sleep(0.1)
        assert _serial(_connect(srv.port, str(ca_path))) == second.serial_number
        assert srv.proc.poll() is None
    finally:
        srv.stop()


def test_tls_settings_are_checked_at_start(tmp_path):
    ca_key, ca_cert = make_ca()
    key, cert = make_leaf(ca_key, ca_cert)
    cert_path, key_path = write_pair(tmp_path, key, cert, key_mode=0o644)

    def serve(*args):
        return run_cli(["serve", "--port", "0", "--data-dir", str(tmp_path / "data")] + list(args), check=False, timeout=60)

    p = serve("--tls-cert", cert_path)
    assert p.returncode == 64 and "tls-cert and tls-key go together; only tls-cert is set (flag)" in p.stderr_text, p.stderr_text
    p = serve("--tls-cert", cert_path, "--tls-key", key_path)
    assert p.returncode == 1 and "chmod 600" in p.stderr_text, p.stderr_text
    os.chmod(key_path, 0o600)
    other_key, _ = make_leaf(ca_key, ca_cert)
    (tmp_path / "other.key").write_bytes(other_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                                 serialization.NoEncryption()))
    os.chmod(tmp_path / "other.key", 0o600)
    p = serve("--tls-cert", cert_path, "--tls-key", str(tmp_path / "other.key"))
    assert p.returncode == 1 and "is not the private key of the certificate" in p.stderr_text, p.stderr_text
