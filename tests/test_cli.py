"""The console script as an operator runs it: first start, accounts, a configured port."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from hearing_server.roles import Role
from hearing_server.tokens import TokenError, TokenKind, TokenService, load_or_create_secret
from hearing_server.users import UserDirectory, UserError


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(*args: str, data: Path, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hearing_server", "--data-dir", str(data), *args],
                          input=stdin, capture_output=True, text=True, timeout=60)


def test_users_add_list_remove(tmp_path):
    data = tmp_path / "data"
    added = run("users", "add", "ahaddad", "--role", "judge", "--display-name", "Judge A. Haddad",
                "--password-stdin", data=data, stdin="a long enough password\n")
    assert added.returncode == 0, added.stderr
    stored = json.loads((data / "users.json").read_text())
    assert stored["users"][0]["password_hash"].startswith("$argon2id$")
    assert "a long enough password" not in (data / "users.json").read_text()
    assert oct((data / "users.json").stat().st_mode & 0o777) == "0o600"
    assert "ahaddad\tjudge\tJudge A. Haddad" in run("users", "list", data=data).stdout
    again = run("users", "add", "ahaddad", "--role", "judge", "--password-stdin", data=data,
                stdin="another password!\n")
    assert again.returncode == 2 and "already exists" in again.stderr
    short = run("users", "add", "x2", "--role", "clerk", "--password-stdin", data=data, stdin="short\n")
    assert short.returncode == 2 and "at least 10" in short.stderr
    assert run("users", "remove", "ahaddad", data=data).returncode == 0
    assert run("users", "list", data=data).stdout == ""


def test_first_start_creates_a_judge_and_serves(tmp_path):
    data, port = tmp_path / "data", free_port()
    env = dict(os.environ, COURTROOM_MEDIA_ICE_ADDRESSES="127.0.0.1", COURTROOM_MEDIA_WORKERS="0")
    server = subprocess.Popen([sys.executable, "-m", "hearing_server", "--data-dir", str(data), "--port", str(port)],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=2) as response:
                    assert json.load(response)["status"] == "ok"
                    break
            except OSError:
                assert time.monotonic() < deadline and server.poll() is None, "server did not start"
                time.sleep(0.2)
        note = (data / "first-run-judge.txt").read_text()
        password = note.split("password: ")[1].strip()
        request = urllib.request.Request(f"http://127.0.0.1:{port}/api/login", method="POST",
                                         data=json.dumps({"username": "judge", "password": password}).encode())
        with urllib.request.urlopen(request, timeout=5) as response:
            assert json.load(response)["user"]["role"] == "judge"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/judge", timeout=5) as response:
            assert b"<html" in response.read().lower()
    finally:
        server.terminate()
        output = server.communicate(timeout=20)[0]
    assert "first run: created the account 'judge'" in output


def test_a_bad_config_file_stops_the_server_with_a_message(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[server]\nport = 'x'\n")
    result = run("--config", str(bad), data=tmp_path / "d")
    assert result.returncode == 2 and "server.port" in result.stderr


def test_tokens_round_trip_and_refuse_tampering(tmp_path):
    key = load_or_create_secret(tmp_path / "k" / "token.key")
    assert load_or_create_secret(tmp_path / "k" / "token.key") == key
    assert oct((tmp_path / "k" / "token.key").stat().st_mode & 0o777) == "0o600"
    tokens = TokenService(key)
    token, claims = tokens.issue(TokenKind.INVITE, "p_1", Role.WITNESS, "h_1", 60, name="Dana")
    verified = tokens.verify(token)
    assert verified == claims and verified.covers("h_1") and not verified.covers("h_2")
    with pytest.raises(TokenError) as refused:
        tokens.verify(token, kinds=(TokenKind.STAFF,))
    assert refused.value.code == "wrong_token_kind"
    with pytest.raises(TokenError):
        TokenService(b"y" * 32).verify(token)
    expired, _ = tokens.issue(TokenKind.SESSION, "p_1", Role.WITNESS, "h_1", -1)
    with pytest.raises(TokenError) as late:
        tokens.verify(expired)
    assert late.value.code == "token_expired"
    for junk in ("", "a.b.c", "x" * 5000):
        with pytest.raises(TokenError):
            tokens.verify(junk)


def test_staff_accounts_only_and_wrong_passwords(tmp_path):
    users = UserDirectory(tmp_path / "users.json")
    with pytest.raises(UserError):
        users.add("dana", Role.WITNESS, "long enough password")
    with pytest.raises(UserError):
        users.add("Bad Name!", Role.CLERK, "long enough password")
    users.add("clerk1", Role.CLERK, "long enough password")
    assert users.authenticate("clerk1", "long enough password").role == "clerk"
    assert users.authenticate("clerk1", "wrong") is None
    assert users.authenticate("ghost", "long enough password") is None
