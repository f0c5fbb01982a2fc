"""One configuration model: every `serve` setting is a flag, a CLOUDAUDIT_* variable and a line of a
--config file, with one precedence (flag, environment, file, default), the same validation for every
source, secrets only from the environment or an owner-only file; the admin commands read the same."""

import os
import re

import storage_backend
from support import DEFAULT_ACCOUNT_ID, Key, Server, clean_env, free_port, random_secret_id, random_secret_key, run_cli

MASTER = "ab" * 32


def print_config(args, env=None):
    p = run_cli(["serve", "--print-config"] + list(args), env=clean_env(**(env or {})), check=False)
    assert p.returncode == 0, p.stderr_text
    rows = {}
    for line in p.stdout_text.splitlines():
        m = re.match(r"^(\S+)\s+(.*?)\s+\[(.+)\]$", line)
        assert m, "not `name  value  [source]`: %r" % line
        rows[m.group(1)] = (m.group(2), m.group(3))
    return rows, p


def refused(args, env=None):
    p = run_cli(["serve", "--print-config"] + list(args), env=clean_env(**(env or {})), check=False)
    assert p.returncode == 64, (p.returncode, p.stdout_text, p.stderr_text)
    assert p.stdout_text == "", "nothing printed when a setting is refused"
    return [l for l in p.stderr_text.splitlines() if l.startswith("Error: ")][0][len("Error: "):]


def write(path, text, mode=0o600):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)
    return str(path)


def test_print_config_shows_each_value_with_its_source(tmp_path):
    conf = write(tmp_path / "serve.conf", "# the deployment\nretention-days = 90\n\nhost = \"0.0.0.0\"\ntrack-quota = 7\n")
    data = tmp_path / "data"
    rows, _ = print_config(["--config", conf, "--track-quota", "9", "--data-dir", str(data)],
                           env={"CLOUDAUDIT_PORT": "9901", "CLOUDAUDIT_TRACK_QUOTA": "8", "CLOUDAUDIT_MASTER_KEY": MASTER})
    assert rows["data-dir"] == (str(data), "flag")
    assert rows["track-quota"] == ("9", "flag"), "a flag wins over the environment and the file"
    assert rows["port"] == ("9901", "environment (CLOUDAUDIT_PORT)")
    assert rows["retention-days"] == ("90", "file (%s:2)" % conf)
    assert rows["host"] == ("0.0.0.0", "file (%s:4)" % conf)
    assert rows["rate-limit"] == ("5000", "default")
    assert rows["digest-interval"] == ("3600", "default")
    assert rows["regions"] == ("(unset)", "default")
    assert rows["master-key"] == ("(set, hidden)", "environment (CLOUDAUDIT_MASTER_KEY)")
    assert not data.exists(), "--print-config creates nothing"
    # the environment wins over the file
    rows, _ = print_config(["--config", conf], env={"CLOUDAUDIT_TRACK_QUOTA": "8"})
    assert rows["track-quota"] == ("8", "environment (CLOUDAUDIT_TRACK_QUOTA)")
    # every setting of --help is in the printout, and the other way round
    h = run_cli(["serve", "--help"], env=clean_env())
    listed = set(re.findall(r"^\s*--([a-z-]+)(?: <value>)?\s+env ", h.stdout_text, re.M))
    listed |= set(re.findall(r"^\s*([a-z-]+) \(secret", h.stdout_text, re.M))
    assert listed == set(rows), (listed ^ set(rows))


def test_a_bad_value_gets_the_same_message_from_every_source(tmp_path):
    conf = write(tmp_path / "bad.conf", "# comment\nport = 70000\n")
    flag = refused(["--port", "70000"])
    env = refused([], env={"CLOUDAUDIT_PORT": "70000"})
    file = refused(["--config", conf])
    assert flag == '--port (on the command line): must be a whole number from 0 to 65535, not "70000"'
    assert env == '--port (from the environment, CLOUDAUDIT_PORT): must be a whole number from 0 to 65535, not "70000"'
    assert file == '--port (from %s:2): must be a whole number from 0 to 65535, not "70000"' % conf
    # other kinds, each from the environment or a file
    assert "must be one of trace, debug, info, notice, warning, error" in refused([], env={"CLOUDAUDIT_LOG_LEVEL": "loud"})
    assert "--console-secure-cookies" in refused([], env={"CLOUDAUDIT_CONSOLE_SECURE_COOKIES": "maybe"})
    assert "must be a whole number from 1 to 86400 seconds" in refused(["--config", write(tmp_path / "d.conf", "digest-interval = 0\n")])
    assert "must be a number from" in refused(["--rate-limit", "nan"])
    # a broken file names its line; an unknown setting is not silently ignored
    assert refused(["--config", write(tmp_path / "u.conf", "\nretention-dayz = 3\n")]).startswith(
        "%s:2: retention-dayz is not a setting" % (tmp_path / "u.conf"))
    assert "expected `name = value`" in refused(["--config", write(tmp_path / "s.conf", "port 9\n")])
    assert "set twice" in refused(["--config", write(tmp_path / "t.conf", "port = 1\nport = 2\n")])
    assert "cannot be read" in refused(["--config", str(tmp_path / "missing.conf")])
    assert refused(["--bogus", "1"]).startswith("unknown option --bogus")
    assert refused(["--port"]) == "--port needs a value"


def test_secrets_come_only_from_the_environment_or_an_owner_only_file(tmp_path):
    msg = refused(["--master-key", MASTER])
    assert "is a secret and is not taken from the command line" in msg and MASTER not in msg
    open_file = write(tmp_path / "open.conf", "master-key = %s\n" % MASTER, mode=0o644)
    assert "holds a secret but its group or others may read it; chmod 600 it" in refused(["--config", open_file])
    # a bad secret is refused without being echoed
    msg = refused([], env={"CLOUDAUDIT_ROOT_SECRET_ID": "AKIDx", "CLOUDAUDIT_ROOT_SECRET_KEY": "bad\x01key"})
    assert "--root-secret-key" in msg and "bad" not in msg
    assert "root-secret-id and root-secret-key go together" in refused([], env={"CLOUDAUDIT_ROOT_SECRET_ID": "AKIDonly"})


@storage_backend.only("sqlite", "checks that no master key is generated in the data directory, where the PostgreSQL harness puts the deployment's keys (a node of a shared store makes none)")
def test_a_server_runs_on_an_owner_only_config_file(tmp_path):
    """The root key and master key from a 0600 file: the server takes them (a request signed with the
    file's key is answered), and neither is in its log or its printout."""
    sid, skey = random_secret_id(), random_secret_key()
    data, port = tmp_path / "data", free_port()
    conf = write(tmp_path / "serve.conf", "data-dir = %s\nport = %d\nroot-secret-id = %s\nroot-secret-key = %s\nmaster-key = %s\n"
                 "log-level = notice\n" % (data, port, sid, skey, MASTER))
    rows, p = print_config(["--config", conf])
    assert rows["root-secret-key"] == ("(set, hidden)", "file (%s:4)" % conf)
    assert skey not in p.stdout_text and MASTER not in p.stdout_text
    # the server: its flags give only where to listen (and the same data directory); the rest is the file's
    srv = Server(data, tmp_path / "serve.log", extra_args=["--config", conf])
    srv.port = port
    try:
        srv.start()
        root = Key(srv, sid, skey, DEFAULT_ACCOUNT_ID, "admin")
        assert "Events" in root.lookup()
        assert not (data / "root-credentials.json").exists(), "the file's root key is used, none is generated"
        assert not (data / "master.key").exists(), "the file's master key is used, none is generated"
        assert "root key taken from the root-secret-id / root-secret-key settings" in srv.log_text()
    finally:
        srv.stop()
    text = open(tmp_path / "serve.log", "rb").read()
    assert skey.encode() not in text and MASTER.encode() not in text


def test_admin_commands_read_the_same_settings(tmp_path):
    data = tmp_path / "deployment"
    conf = write(tmp_path / "admin.conf", "data-dir = %s\nretention-days = 45\nmaster-key = %s\n" % (data, MASTER))
    p = run_cli(["accounts", "list", "--config", conf], env=clean_env())
    import json

    assert [a["RetentionDays"] for a in json.loads(p.stdout_text)] == [45], p.stdout_text
    assert data.is_dir() and any(data.iterdir()), "the file's data directory is used"
    assert not (data / "master.key").exists(), "the file's master key is used"
    # a flag wins over the file, and the environment is read as by serve
    other = tmp_path / "other"
    run_cli(["accounts", "list", "--config", conf, "--data-dir", str(other)], env=clean_env())
    assert other.exists()
    bad = run_cli(["accounts", "list", "--data-dir", str(data)], env=clean_env(CLOUDAUDIT_RETENTION_DAYS="0"), check=False)
    assert bad.returncode == 64
    assert '--retention-days (from the environment, CLOUDAUDIT_RETENTION_DAYS): must be a whole number from 1 to 3650, not "0"' in bad.stderr_text
