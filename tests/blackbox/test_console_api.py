"""The console's HTTP side without a browser: `accounts set-password`, sign-in by password against the
running server, sessions surviving a restart, and the request checks (the browser suite in
tests/browser drives the page itself)."""

import os
import stat

import requests

import storage_backend
from support import REQ_TIMEOUT, parse_json_output, uid


def _sign_in(server, body, headers=None):
    return requests.post(server.url + "/console/api/session", json=body, headers=headers or {}, timeout=REQ_TIMEOUT)


def test_set_password_reads_stdin_and_the_password_signs_in(server, tenant):
    password = "pw-" + uid("console") + "-long"
    out = parse_json_output(server.cli("accounts", "set-password", "--account", str(tenant.account_id), "--role", "auditor",
                                       input=(password + "\n").encode()))
    assert out == {"AccountId": tenant.account_id, "Role": "auditor", "PasswordSet": True}
    # The password is nowhere in the stored data in clear.
    assert password.encode() not in storage_backend.stored_bytes(server)

    r = _sign_in(server, {"AccountId": str(tenant.account_id), "Role": "auditor", "Password": password})
    assert r.status_code == 200, r.text
    session = r.json()["Session"]
    assert session["Role"] == "auditor" and session["AccountId"] == tenant.account_id
    assert session["UserName"] == "console:auditor"
    cookie = r.headers["Set-Cookie"]
    for attribute in ("HttpOnly", "SameSite=Strict", "Path=/console"):
        assert attribute in cookie

    jar = r.cookies
    call = requests.post(server.url + "/console/api/call", json={"Action": "DescribeAuditTracks", "Params": {"PageNumber": 1, "PageSize": 10}},
                         cookies=jar, headers={"X-CSRF-Token": session["CsrfToken"]}, timeout=REQ_TIMEOUT)
    assert call.status_code == 200 and call.json()["Response"]["TotalCount"] == 0, call.text
    write = requests.post(server.url + "/console/api/call", json={"Action": "DeleteAuditTrack", "Params": {"Name": "nothing"}},
                          cookies=jar, headers={"X-CSRF-Token": session["CsrfToken"]}, timeout=REQ_TIMEOUT)
    assert write.json()["Response"]["Error"]["Code"] == "AuthFailure.UnauthorizedOperation"

    # A new password ends the sessions signed in with the old one.
    server.cli("accounts", "set-password", "--account", str(tenant.account_id), "--role", "auditor", input=(password + "-2\n").encode())
    after = requests.get(server.url + "/console/api/session", cookies=jar, timeout=REQ_TIMEOUT)
    assert after.status_code == 401 and after.json()["Error"]["Code"] == "NotSignedIn"
    wrong = _sign_in(server, {"AccountId": tenant.account_id, "Role": "auditor", "Password": password})
    assert wrong.status_code == 401 and wrong.json()["Error"]["Code"] == "AuthFailure.SignInFailed"


def test_set_password_refuses_short_passwords_loose_files_and_unknown_accounts(server, tenant, tmp_path):
    short = server.cli("accounts", "set-password", "--account", str(tenant.account_id), input=b"short\n", check=False)
    assert short.returncode != 0 and "at least 12 characters" in short.stderr_text
    loose = tmp_path / "pw"
    loose.write_text("a-long-enough-password\n")
    os.chmod(loose, 0o644)
    r = server.cli("accounts", "set-password", "--account", str(tenant.account_id), "--password-file", str(loose), check=False)
    assert r.returncode != 0 and "chmod 600" in r.stderr_text
    os.chmod(loose, stat.S_IRUSR | stat.S_IWUSR)
    ok = server.cli("accounts", "set-password", "--account", str(tenant.account_id), "--password-file", str(loose))
    assert parse_json_output(ok)["Role"] == "admin"
    missing = server.cli("accounts", "set-password", "--account", "99999999999", input=b"a-long-enough-password\n", check=False)
    assert missing.returncode != 0 and "does not exist" in missing.stderr_text
    role = server.cli("accounts", "set-password", "--account", str(tenant.account_id), "--role", "ingest", input=b"a-long-enough-password\n",
                      check=False)
    assert role.returncode != 0 and "admin or auditor" in role.stderr_text
    for p in (short, r, missing):
        assert "a-long-enough-password" not in p.stderr_text + p.stdout_text


def test_sessions_survive_a_restart(spawn_server):
    srv = spawn_server()
    srv.start()
    r = _sign_in(srv, {"SecretId": srv.root_id, "SecretKey": srv.root_key})
    assert r.status_code == 200, r.text
    jar = r.cookies
    srv.restart()
    again = requests.get(srv.url + "/console/api/session", cookies=jar, timeout=REQ_TIMEOUT)
    assert again.status_code == 200 and again.json()["Session"]["AccountId"] == r.json()["Session"]["AccountId"]


def test_malformed_sign_ins_get_clear_errors_and_leak_nothing(server, tenant):
    cases = [
        ({}, 400, "InvalidParameter"),
        ({"SecretId": tenant.admin.secret_id}, 400, "InvalidParameter"),
        ({"AccountId": "not-a-number", "Password": "x"}, 400, "InvalidParameter"),
        ({"AccountId": tenant.account_id, "Role": "service", "Password": "x" * 20}, 400, "InvalidParameter"),
        ({"SecretId": tenant.admin.secret_id, "SecretKey": "wrong"}, 401, "AuthFailure.SignInFailed"),
    ]
    for body, status, code in cases:
        r = _sign_in(server, body)
        assert r.status_code == status, (body, r.text)
        assert r.json()["Error"]["Code"] == code
        assert tenant.admin.secret_key not in r.text
    raw = requests.post(server.url + "/console/api/session", data=b"\xff{not json", headers={"Content-Type": "application/json"}, timeout=REQ_TIMEOUT)
    assert raw.status_code == 400
    foreign = _sign_in(server, {"SecretId": tenant.admin.secret_id, "SecretKey": tenant.admin.secret_key}, headers={"Origin": "https://evil.example"})
    assert foreign.status_code == 403 and foreign.json()["Error"]["Code"] == "OriginNotAllowed"
