"""`hearing-server`: run the server, manage staff accounts."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import secrets
import ssl
import sys
import time
from pathlib import Path
from typing import Any

from aiohttp import web

from recorder.files import private_dir, write_private

from . import __version__
from .access_log import AccessLogger
from .config import ConfigError, Settings, load_settings
from .device_tokens import DEFAULT_DAYS, MAX_DAYS, DeviceToken, DeviceTokenRegister
from .roles import ACCOUNT_ROLES, Role
from .users import UserDirectory, UserError

log = logging.getLogger("hearing_server")


def _settings(args: argparse.Namespace) -> Settings:
    settings = load_settings(args.config)
    if getattr(args, "host", None):
        settings.server.host = args.host
    if getattr(args, "port", None) is not None:
        settings.server.port = args.port
    if getattr(args, "data_dir", None):
        settings.server.data_dir = args.data_dir
    return settings


def first_run(settings: Settings) -> None:
    """A fresh install has no accounts: create a judge so that the console can be used at once."""
    users = UserDirectory(settings.users_path)
    if users.list():
        return
    password = secrets.token_urlsafe(12)
    users.add("judge", Role.JUDGE, password, display_name="Presiding Judge")
    note = settings.data_path / "first-run-judge.txt"
    write_private(note, f"username: judge\npassword: {password}\n".encode())
    # The password goes to the file only: logs are collected, shipped and kept by more people than the judge.
    log.warning("first run: created the account 'judge'; its password is in %s (readable by this user only). "
                "Add real accounts with 'hearing-server users add' and remove this one", note)


def event_loop(kind: str) -> asyncio.AbstractEventLoop:
    """The loop the server runs on: uvloop unless configured otherwise or not installed."""
    if kind == "uvloop":
        try:
            import uvloop
        except ImportError:
            log.warning("server.event_loop is uvloop but uvloop is not installed: using asyncio's loop")
        else:
            return uvloop.new_event_loop()
    return asyncio.new_event_loop()


def serve(args: argparse.Namespace) -> int:
    from .app import create_app

    settings = _settings(args)
    private_dir(settings.data_path)
    first_run(settings)
    app = create_app(settings)
    tls = None
    if settings.server.tls_cert_file:
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(settings.server.tls_cert_file, settings.server.tls_key_file)
    scheme = "https" if tls else "http"
    log.info("judge console: %s://%s:%s/judge", scheme, settings.server.host, settings.server.port)
    loop = event_loop(settings.server.event_loop)
    log.info("event loop: %s", type(loop).__module__.split(".")[0])
    web.run_app(app, host=settings.server.host, port=settings.server.port, ssl_context=tls, print=None,
                loop=loop, access_log_class=AccessLogger)
    return 0


def users_command(args: argparse.Namespace) -> int:
    settings = _settings(args)
    directory = UserDirectory(settings.users_path)
    if args.users_action == "list":
        for user in directory.list():
            print(f"{user.username}\t{user.role}\t{user.display_name}")
        return 0
    if args.users_action == "remove":
        directory.remove(args.username)
        print(f"removed {args.username}")
        return 0
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass(f"password for {args.username}: ")
        if getpass.getpass("again: ") != password:
            print("passwords differ", file=sys.stderr)
            return 2
    user = directory.add(args.username, Role(args.role), password, args.display_name or "", replace=args.replace,
                         courtroom=args.courtroom)
    print(f"{'updated' if args.replace else 'added'} {user.role} {user.username} in {settings.users_path}")
    return 0


def verify_command(args: argparse.Namespace) -> int:
    import asyncio
    import tempfile

    from recorder.verify import verify_folder

    settings = _settings(args)
    trusted = None
    if args.public_key:
        from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat, load_pem_public_key

        trusted = load_pem_public_key(Path(args.public_key).read_bytes()).public_bytes(Encoding.Raw,
                                                                                       PublicFormat.Raw)
    if args.hearing and trusted is None and settings.signing_key_path.exists():
        # The server's own recordings: the signature must be the server's, not merely match the key the
        # manifest carries (anyone can re-sign an altered manifest with a key of their own).
        from recorder.keys import load_or_create_signing_key, public_raw

        trusted = public_raw(load_or_create_signing_key(settings.signing_key_path))
    elif trusted is None:
        print("note: the signature is checked against the public key inside the manifest; give "
              "--public-key (the court's published key) to check who signed it", file=sys.stderr)
    if args.hearing:
        from recorder.package import recording_folder
        from recorder.recorder import create_storage

        with tempfile.TemporaryDirectory(prefix="verify-") as tmp:
            folder = asyncio.run(recording_folder(create_storage(settings), args.hearing, Path(tmp)))
            return _report(verify_folder(folder, trusted))
    path = Path(args.path)
    if path.is_file():
        return _verify_package(path, trusted)
    return _report(verify_folder(path, trusted))


def _verify_package(path: Path, trusted: bytes | None) -> int:
    """An evidence package downloaded from the archive (a zip): unpack it and check it like a folder."""
    import tempfile
    import zipfile

    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat, load_pem_public_key

    from recorder.keys import fingerprint
    from recorder.package import PUBLIC_KEY_NAME, unpack
    from recorder.verify import verify_folder

    if not zipfile.is_zipfile(path):
        print(f"hearing-server verify: {path} is neither a folder nor an evidence package (zip)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="verify-package-") as tmp:
        try:
            folder = unpack(path, Path(tmp))
        except (ValueError, zipfile.BadZipFile, OSError) as exc:
            print(f"hearing-server verify: {exc}", file=sys.stderr)
            return 2
        key_file = folder / PUBLIC_KEY_NAME
        if key_file.exists():
            try:
                packaged = load_pem_public_key(key_file.read_bytes()).public_bytes(Encoding.Raw, PublicFormat.Raw)
            except ValueError:
                print(f"note: {PUBLIC_KEY_NAME} in the package is not a public key", file=sys.stderr)
            else:
                print(f"package signed by key {fingerprint(packaged)}")
                if trusted is None:
                    print("note: compare that fingerprint with the one the court publishes, or give --public-key",
                          file=sys.stderr)
                    trusted = packaged
        return _report(verify_folder(folder, trusted))


def device_token_command(args: argparse.Namespace) -> int:
    """A long-lived token for a courtroom PC's agent. It dies with the account: `users remove` ends it."""
    from .tokens import TokenKind, TokenService, load_or_create_secret

    settings = _settings(args)
    if not settings.secret_path.exists():
        # Minting a new key here would make a token the server rejects: wrong --data-dir or --config.
        print(f"hearing-server device-token: no token key at {settings.secret_path}; run this with the "
              "server's own --config / --data-dir", file=sys.stderr)
        return 2
    account = UserDirectory(settings.users_path).get(args.username)
    if account is None or account.role != Role.COURTROOM.value:
        print(f"hearing-server device-token: {args.username!r} is not a courtroom account "
              f"(make one with 'hearing-server users add --role courtroom {args.username}')", file=sys.stderr)
        return 2
    if not 0 < args.days <= MAX_DAYS:
        print(f"hearing-server device-token: --days must be between 1 and {MAX_DAYS}", file=sys.stderr)
        return 2
    if not account.courtroom:
        print(f"hearing-server device-token: {args.username!r} names no courtroom; add it again with "
              "'users add --replace --courtroom NAME'", file=sys.stderr)
        return 2
    tokens = TokenService(load_or_create_secret(settings.secret_path))
    token, claims = tokens.issue(TokenKind.STAFF, account.username, Role.COURTROOM, "*", args.days * 86400,
                                 name=account.display_name or account.username, courtroom=account.courtroom,
                                 device=True)
    DeviceTokenRegister(settings.device_tokens_path).add(DeviceToken(
        id=claims.jti, username=account.username, courtroom=account.courtroom, issued_at=time.time(),
        expires_at=claims.expires_at))
    if args.output:
        out = Path(args.output)
        write_private(out, (token + "\n").encode())
        print(f"wrote device token {claims.jti} for {account.username} ({account.courtroom}) to {out} "
              f"(expires in {args.days} days)", file=sys.stderr)
    else:
        print(token)
    return 0


def device_tokens_command(args: argparse.Namespace) -> int:
    """List the courtroom PCs' device tokens, or revoke one (the PC then signs in again only with a new one)."""
    register = DeviceTokenRegister(_settings(args).device_tokens_path)
    if args.device_tokens_action == "revoke":
        token = register.revoke(args.id)
        if token is None:
            print(f"hearing-server device-tokens: no device token {args.id!r}", file=sys.stderr)
            return 2
        print(f"revoked {token.id} ({token.username}, {token.courtroom})")
        return 0
    for token in register.list():
        info = token.public()
        print(f"{token.id}\t{token.username}\t{token.courtroom}\t{info['status']}\t"
              f"expires {time.strftime('%Y-%m-%d', time.gmtime(token.expires_at))}")
    return 0


def devices_command(args: argparse.Namespace) -> int:
    import json

    from hardware.devices import discover, table

    devices, notes = discover()
    if args.json:
        print(json.dumps({"devices": [d.as_dict() for d in devices], "notes": notes}, indent=2))
        return 0
    for note in notes:
        print(f"note: {note}")
    if notes:
        print()
    print(table(devices))
    print("\nPut a SOURCE into a [[camera]] or [[microphone]] of config/courtroom.toml "
          "(see docs/courtroom.md).")
    return 0


def _example(name: str, output: str | None, what: str) -> int:
    from .resources import example

    content = example(name)
    if not output:
        sys.stdout.write(content)
        return 0
    target = Path(output)
    if target.exists():
        print(f"hearing-server: {target} exists; not overwritten", file=sys.stderr)
        return 2
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(content, encoding="utf-8")
    print(f"wrote {what} to {target}", file=sys.stderr)
    return 0


def default_config_command(args: argparse.Namespace) -> int:
    return _example("default.toml", args.output, "the annotated default configuration")


def courtroom_command(args: argparse.Namespace) -> int:
    if args.show_example or args.write_example:
        return _example("courtroom.toml", args.write_example, "the courtroom PC's example configuration")
    # Imported here: the server does not need the courtroom agent, nor the agent the server.
    from hardware.agent import main as agent_main
    from hardware.config import CourtroomConfigError

    try:
        return agent_main(args.courtroom_config)
    except CourtroomConfigError as exc:
        print(f"hearing-server courtroom: {exc}", file=sys.stderr)
        return 2


def _archive_run(settings: Settings, job: Any) -> int:
    """Run `job(archive, storage)` against the configured archive database (migrated first) and store."""
    from recorder.db import Database, database_url
    from recorder.recorder import Archive, create_storage

    async def run() -> int:
        database = Database(database_url(settings.archive.database_url, settings.data_path), 2)
        try:
            await database.upgrade()
            storage = create_storage(settings)
            archive = Archive(database, settings, storage, settings.node_id)
            result: int = await job(archive, storage)
            return result
        finally:
            await database.close()

    return asyncio.run(run())


def db_command(args: argparse.Namespace) -> int:
    from recorder.db import Database, database_url
    from recorder.db.database import head_revision

    settings = _settings(args)
    private_dir(settings.data_path)
    database = Database(database_url(settings.archive.database_url, settings.data_path), 1)

    async def run() -> int:
        try:
            if args.db_action == "upgrade":
                before = await database.revision()
                await database.upgrade(args.revision)
                print(f"{database.name}: schema {before or 'empty'} -> {await database.revision()}")
            else:
                current = await database.revision()
                print(f"{database.name}: schema {current or 'empty'} (newest: {head_revision()})")
            return 0
        finally:
            await database.close()

    return asyncio.run(run())


def archive_command(args: argparse.Namespace) -> int:
    settings = _settings(args)
    private_dir(settings.data_path)
    if args.archive_action == "reindex":
        return _archive_run(settings, lambda archive, storage: _reindex(settings, archive, storage, args))
    return _archive_run(settings, lambda archive, storage: _retention(archive, args))


async def _reindex(settings: Settings, archive: Any, storage: Any, args: argparse.Namespace) -> int:
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat, load_pem_public_key
    from tqdm import tqdm

    from recorder.keys import load_or_create_signing_key, public_raw
    from recorder.reindex import Reindexer

    if not settings.signing_key_path.exists():
        print(f"hearing-server archive reindex: no signing key at {settings.signing_key_path}; run this with "
              "the server's own --config / --data-dir", file=sys.stderr)
        return 2
    trusted = [public_raw(load_or_create_signing_key(settings.signing_key_path))]
    for pem in args.also_trust or []:
        trusted.append(load_pem_public_key(Path(pem).read_bytes()).public_bytes(Encoding.Raw, PublicFormat.Raw))
    with tqdm(unit=" recordings", desc="reindex", file=sys.stderr, disable=args.quiet) as bar:
        report = await Reindexer(storage, archive.catalog, trusted).run(resume=not args.fresh,
                                                                          progress=bar.update)
    if report.resumed_after:
        print(f"resumed after {report.resumed_after}")
    for hearing_id, why in report.failed:
        print(f"FAILED {hearing_id}: {why}")
    for hearing_id in report.incomplete:
        print(f"incomplete {hearing_id}: no manifest in the store (still uploading, or not a recording)")
    print(f"{report.indexed} recordings indexed, {len(report.failed)} failed their check, "
          f"{len(report.incomplete)} incomplete; {await archive.catalog.count()} in the catalog")
    return 1 if report.failed else 0


async def _retention(archive: Any, args: argparse.Namespace) -> int:
    done = await archive.sweeper.sweep(dry_run=args.dry_run)
    for recording in done:
        print(f"{'due' if args.dry_run else 'deleted'} {recording.hearing_id}\t{recording.case_number}\t"
              f"{recording.court}\tretain until {time.strftime('%Y-%m-%d', time.gmtime(recording.retain_until))}")
    print(f"{len(done)} recordings {'due for deletion' if args.dry_run else 'deleted'}")
    return 0


def audit_command(args: argparse.Namespace) -> int:
    settings = _settings(args)
    private_dir(settings.data_path)
    if args.audit_action == "verify":
        return _archive_run(settings, lambda archive, storage: _audit_verify(archive))
    return _archive_run(settings, lambda archive, storage: _audit_export(archive, args))


async def _audit_verify(archive: Any) -> int:
    report = await archive.audit.verify()
    if report.checkpoint:
        cp = report.checkpoint
        print(f"chain starts after entry {cp['upto_seq']}: {cp['removed']} older entries pruned "
              f"{time.strftime('%Y-%m-%d', time.gmtime(cp['at']))} ({cp['reason']})")
    for problem in report.problems:
        print(f"FAILED {problem}")
    span = f"entries {report.first_seq}–{report.last_seq}" if report.checked else "no entries"
    print(f"{report.checked} audit entries checked ({span}): {'chain intact' if report.ok else 'chain BROKEN'}")
    return 0 if report.ok else 1


async def _audit_export(archive: Any, args: argparse.Namespace) -> int:
    from datetime import date, datetime, timezone

    from recorder.audit import export_line

    def day(value: str | None, name: str) -> float | None:
        if not value:
            return None
        try:
            d = date.fromisoformat(value)
        except ValueError:
            raise ConfigError(f"audit export: {name} must be a date like 2026-11-28") from None
        return datetime(d.year, d.month, d.day, tzinfo=timezone.utc).timestamp()

    since, until = day(args.since, "--from"), day(args.until, "--to")
    if until is not None:
        until += 86400  # the whole last day
    out = open(args.output, "w", encoding="utf-8", newline="") if args.output else sys.stdout
    count = 0
    try:
        async for row in archive.audit.stream(since, until, args.hearing or ""):
            out.write(export_line(row, args.format, header=count == 0))
            count += 1
    finally:
        if args.output:
            out.close()
    await archive.audit.record("audit_exported", args.hearing or "", "cli", "admin", entries=count,
                               format=args.format)
    print(f"{count} audit entries exported", file=sys.stderr)
    return 0


def _report(checks: list) -> int:
    for check in checks:
        print(check.line())
    failed = [c for c in checks if not c.ok]
    print(f"{len(checks) - len(failed)} checks passed, {len(failed)} failed")
    return 1 if failed else 0


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="hearing-server", description="Remote court hearing server")
    top.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    top.add_argument("--config", help="TOML configuration file (see config/default.toml)")
    top.add_argument("--host", help="address to listen on (server.host)")
    top.add_argument("--port", type=int, help="port to listen on (server.port)")
    top.add_argument("--data-dir", help="data folder (server.data_dir)")
    top.add_argument("--log-level", default="INFO")
    commands = top.add_subparsers(dest="command")
    commands.add_parser("serve", help="run the server (the default)")
    users = commands.add_parser("users", help="staff accounts")
    users_actions = users.add_subparsers(dest="users_action", required=True)
    add = users_actions.add_parser("add", help="add a judge, clerk, admin or courtroom PC account")
    add.add_argument("username")
    add.add_argument("--role", required=True, choices=sorted(r.value for r in ACCOUNT_ROLES))
    add.add_argument("--display-name", help="name shown in the hearing, e.g. 'Judge A. Smith'")
    add.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    add.add_argument("--replace", action="store_true", help="replace an existing account (password reset)")
    add.add_argument("--courtroom", default="", help="courtroom PC accounts: the courtroom the PC is in, as "
                                                     "hearings name it (its tokens publish there only)")
    users_actions.add_parser("list", help="list accounts")
    remove = users_actions.add_parser("remove", help="remove an account")
    remove.add_argument("username")
    verify = commands.add_parser("verify", help="check a recording's hashes, hash chain and signature offline")
    verify.add_argument("path", nargs="?", help="folder holding manifest.json (as stored), or an evidence "
                                                 "package (.zip) downloaded from the archive")
    verify.add_argument("--hearing", help="check the recording of this hearing in the configured store instead")
    verify.add_argument("--public-key", help="PEM public key the signature must come from "
                                             "(e.g. data/recording-signing.pub)")
    device_token = commands.add_parser("device-token", help="issue the token a courtroom PC's agent signs in with")
    device_token.add_argument("username", help="a courtroom account (users add --role courtroom)")
    device_token.add_argument("--days", type=int, default=DEFAULT_DAYS,
                              help=f"how long it is valid (default {DEFAULT_DAYS}, at most {MAX_DAYS})")
    device_token.add_argument("--output", help="write it to this file (mode 600) instead of printing it")
    device_tokens = commands.add_parser("device-tokens", help="list or revoke the courtroom PCs' device tokens")
    device_tokens_actions = device_tokens.add_subparsers(dest="device_tokens_action", required=True)
    device_tokens_actions.add_parser("list", help="every device token issued, with its status")
    revoke = device_tokens_actions.add_parser("revoke", help="revoke one device token (by its id)")
    revoke.add_argument("id")
    devices = commands.add_parser("devices", help="list this PC's cameras and microphones as courtroom.toml "
                                                  "sources")
    devices.add_argument("--json", action="store_true", help="print JSON instead of a table")
    courtroom = commands.add_parser("courtroom", help="run the courtroom PC agent: publish its cameras and "
                                                      "microphones into the courtroom's hearings")
    courtroom.add_argument("--config", dest="courtroom_config", default="config/courtroom.toml",
                           help="courtroom PC configuration (default: config/courtroom.toml)")
    courtroom.add_argument("--show-example", action="store_true",
                           help="print the example configuration (every setting explained) and exit")
    courtroom.add_argument("--write-example", metavar="PATH",
                           help="write the example configuration to PATH (not over an existing file) and exit")
    default_config = commands.add_parser("default-config", help="print (or write) the annotated default "
                                                                "configuration of the server")
    default_config.add_argument("--output", metavar="PATH", help="write it to PATH instead (not over a file)")
    db = commands.add_parser("db", help="the archive's database schema (migrations)")
    db_actions = db.add_subparsers(dest="db_action", required=True)
    upgrade = db_actions.add_parser("upgrade", help="bring the schema up to date (the server also does at start)")
    upgrade.add_argument("revision", nargs="?", default="head", help="target revision (default: the newest)")
    db_actions.add_parser("current", help="print the schema's revision")
    archive = commands.add_parser("archive", help="the archive's catalog: rebuild it, apply retention")
    archive_actions = archive.add_subparsers(dest="archive_action", required=True)
    reindex = archive_actions.add_parser("reindex", help="rebuild the catalog from the signed manifests in "
                                                         "the store (resumes where an interrupted run stopped)")
    reindex.add_argument("--fresh", action="store_true", help="start from the first recording, not where the "
                                                              "last run stopped")
    reindex.add_argument("--also-trust", action="append", metavar="PEM",
                         help="another public key whose signatures count (a key the court used before)")
    reindex.add_argument("--quiet", action="store_true", help="no progress bar")
    retention = archive_actions.add_parser("retention", help="delete recordings past their retention period "
                                                             "(the server does this every "
                                                             "archive.retention_check_minutes)")
    retention.add_argument("--dry-run", action="store_true", help="list what is due, delete nothing")
    audit = commands.add_parser("audit", help="the audit log: check its hash chain, export it")
    audit_actions = audit.add_subparsers(dest="audit_action", required=True)
    audit_actions.add_parser("verify", help="recompute the hash chain of every entry; exit 1 if it is broken")
    export = audit_actions.add_parser("export", help="write the audit log (or a part) as CSV or JSON lines")
    export.add_argument("--format", choices=("csv", "json"), default="csv")
    export.add_argument("--hearing", help="only this hearing's entries")
    export.add_argument("--from", dest="since", help="first day (UTC), e.g. 2026-11-01")
    export.add_argument("--to", dest="until", help="last day (UTC), inclusive")
    export.add_argument("--output", help="file to write (default: standard output)")
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        if args.command == "users":
            return users_command(args)
        if args.command == "verify":
            if not args.path and not args.hearing:
                print("hearing-server verify: give a folder or --hearing ID", file=sys.stderr)
                return 2
            return verify_command(args)
        if args.command == "device-token":
            return device_token_command(args)
        if args.command == "device-tokens":
            return device_tokens_command(args)
        if args.command == "devices":
            return devices_command(args)
        if args.command == "courtroom":
            return courtroom_command(args)
        if args.command == "default-config":
            return default_config_command(args)
        if args.command == "db":
            return db_command(args)
        if args.command == "archive":
            return archive_command(args)
        if args.command == "audit":
            return audit_command(args)
        return serve(args)
    except (ConfigError, UserError) as exc:
        print(f"hearing-server: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
