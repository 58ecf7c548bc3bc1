"""`pip install <wheel>` gives a working server: the wheel is built from the checkout, installed into a fresh
virtualenv outside it, and started on embedded defaults from an empty folder; its pages, its OpenAPI
document and its example configurations come from the installed package, not from the checkout.

The wheel's dependencies are taken from the project's own .venv (a .pth line in the fresh venv), so that
the test does not download 150 MB per run; `pip check` confirms they satisfy what the wheel declares."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import urllib.request
import zipfile
from pathlib import Path

import pytest

from .servers import free_port, wait_http

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A fresh virtualenv, outside the checkout, with the wheel installed in it."""
    base = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(base / "dist"), str(ROOT)],
                   check=True, capture_output=True, timeout=300)
    wheel = next((base / "dist").glob("courtroom_hearing_server-*.whl"))
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    purelib = Path(subprocess.run([str(venv / "bin" / "python"), "-c",
                                   "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                  check=True, capture_output=True, text=True).stdout.strip())
    (purelib / "project_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "--no-deps", str(wheel)], check=True,
                   capture_output=True, timeout=300)
    return venv


def test_the_wheel_holds_every_module_page_and_example(installed):
    wheel = next(installed.parent.glob("dist/*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for folder in ("hearing_server", "signaling", "recorder", "hardware"):
        for source in (ROOT / folder).rglob("*.py"):
            assert source.relative_to(ROOT).as_posix() in names, f"{source} is not in the wheel (pyproject packages)"
    for page in (ROOT / "web").rglob("*"):  # the pages, their scripts and styles, the language catalogs
        if page.is_file():
            assert f"hearing_server/web/{page.relative_to(ROOT / 'web').as_posix()}" in names, page
    for example in (ROOT / "config").glob("*.toml"):
        assert f"hearing_server/examples/{example.name}" in names
    assert "recorder/db/migrations/versions/0001_archive.py" in names


def test_the_installed_server_starts_from_an_empty_folder_and_serves_its_pages(installed, tmp_path):
    python, server_bin = installed / "bin" / "python", installed / "bin" / "hearing-server"
    where = subprocess.run([str(python), "-c", "import hearing_server; print(hearing_server.__file__)"],
                           cwd=tmp_path, check=True, capture_output=True, text=True).stdout
    assert where.startswith(str(installed)), where  # the installed copy, not the checkout
    checked = subprocess.run([str(installed / "bin" / "pip"), "check"], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout
    version = subprocess.run([str(server_bin), "--version"], capture_output=True, text=True, check=True).stdout
    from hearing_server import __version__

    assert version.strip() == f"hearing-server {__version__}"

    port = free_port()
    folder = tmp_path / "empty"
    folder.mkdir()
    log = (tmp_path / "server.log").open("wb")
    # The embedded defaults as installed, media workers included (no COURTROOM_* set).
    env = {key: value for key, value in os.environ.items() if not key.startswith("COURTROOM_")}
    process = subprocess.Popen([str(server_bin), "--port", str(port), "--data-dir", "./data"], cwd=folder,
                               stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        wait_http(f"http://127.0.0.1:{port}/api/health", timeout=60, process=process)
        pages = {"/judge": "judge.js", "/join": "join.js", "/archive": "archive.js", "/shared": "shared.js"}
        for path, script in pages.items():
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as answer:
                body = answer.read().decode()
                assert answer.status == 200 and "<html" in body.lower() and script in body, path
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/static/{script}", timeout=10) as answer:
                assert answer.status == 200 and len(answer.read()) > 1000
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/openapi.json", timeout=10) as answer:
            assert answer.status == 200 and b'"/api/recordings"' in answer.read()
    finally:
        # An orderly stop, media workers and all. It once took 32 s (the front's close of each worker's
        # pipe waited out aiohttp's close timeout, one worker after the other); a stuck stop fails here.
        process.terminate()
        try:
            code = process.wait(timeout=15)
        finally:
            process.kill()
            log.close()
    assert code == 0, (tmp_path / "server.log").read_text(errors="replace")[-2000:]
    assert "media worker" in (tmp_path / "server.log").read_text(errors="replace")  # workers did start
    assert (folder / "data" / "archive.db").exists() and (folder / "data" / "first-run-judge.txt").exists()


def test_the_installed_program_shows_and_writes_its_example_configurations(installed, tmp_path):
    server_bin = str(installed / "bin" / "hearing-server")
    shown = subprocess.run([server_bin, "courtroom", "--show-example"], cwd=tmp_path, capture_output=True,
                           text=True, check=True).stdout
    assert shown == (ROOT / "config" / "courtroom.toml").read_text(encoding="utf-8")
    subprocess.run([server_bin, "courtroom", "--write-example", "pc/courtroom.toml"], cwd=tmp_path, check=True,
                   capture_output=True)
    assert (tmp_path / "pc" / "courtroom.toml").read_text(encoding="utf-8") == shown
    again = subprocess.run([server_bin, "courtroom", "--write-example", "pc/courtroom.toml"], cwd=tmp_path,
                           capture_output=True, text=True)
    assert again.returncode == 2 and "not overwritten" in again.stderr
    default = subprocess.run([server_bin, "default-config"], cwd=tmp_path, capture_output=True, text=True,
                             check=True).stdout
    assert default == (ROOT / "config" / "default.toml").read_text(encoding="utf-8")
