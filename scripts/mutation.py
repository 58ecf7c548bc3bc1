"""Mutation testing of the modules the record's integrity and the court's rules rest on (make mutation).

mutmut (pyproject.toml [tool.mutmut]) runs in a scratch copy of the checkout, never in the work tree that
others are editing: by default the committed HEAD, with --worktree the tracked files as they are now (to try
a test before committing it). `--modules` narrows the run to some of the modules, with the tests that
exercise them (MODULE_TESTS below), so that one invocation stays short; mutmut runs, for each mutant, only
those of the selected tests that call the mutated function. Prints the killed/survived table, and writes it
with every surviving mutant's diff to the output folder (build/mutation/ by default).

    make mutation                                   all six modules (about an hour on 2 vCPU)
    make mutation MODULES=roles,tokens,verify       some of them
    .venv/bin/python scripts/mutation.py --list     the module names

Not part of CI: it is too slow. Its result, with the date, and a reason for every survivor, is kept in
docs/testing.md.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

MODULES = {
    "manifest": "recorder/manifest.py",
    "verify": "recorder/verify.py",
    "segments": "recorder/segments.py",
    "roles": "hearing_server/roles.py",
    "tokens": "hearing_server/tokens.py",
    "audio_mixer": "hearing_server/media/audio_mixer.py",
}

# The tests that exercise each module and take seconds, not minutes (pytest arguments, as in
# [tool.mutmut] pytest_add_cli_args_test_selection, which is the union of these).
_VERIFY = ["tests/test_verify.py", "tests/test_manifest.py"]
_SEGMENTS = ["tests/test_verify.py", "tests/test_segments.py"]
_MIXER = ["tests/test_audio_mixer.py", "tests/test_audio_clock.py", "tests/test_mix_minus.py", "tests/test_av_sync.py",
          "--deselect", "tests/test_av_sync.py::test_a_jitter_burst_leaves_sound_on_picture"]
_ACCESS = ["tests/test_roles.py", "tests/test_tokens.py", "tests/test_access_matrix.py", "tests/test_access.py",
           "tests/test_relay_mark.py", "tests/test_cli.py::test_tokens_round_trip_and_refuse_tampering",
           "tests/test_http_hygiene.py::test_token_errors_are_in_our_words",
           # a subprocess (the CLI) cannot see the mutant; the other is slow by design (argon2, back-off)
           "--deselect", "tests/test_access.py::test_device_tokens_from_the_command_line",
           "--deselect", "tests/test_access.py::test_guessing_one_password_is_slowed_down_over_the_api"]
MODULE_TESTS = {
    "manifest": _VERIFY,
    "verify": _VERIFY,
    "segments": _SEGMENTS,
    "roles": _ACCESS,
    "tokens": _ACCESS,
    "audio_mixer": _MIXER,
}

KILLED = {1, 3}
SURVIVED = {0, 5, 33}  # 5 and 33: no test calls the mutated function at all
TIMEOUT = {24, -24, 152, 255, 36}


def _selection(names: list[str]) -> list[str]:
    """The union of the modules' test arguments, each path once and each --deselect pair once."""
    out: list[str] = []
    seen: set[tuple[str, ...]] = set()
    for name in names:
        args = MODULE_TESTS[name]
        i = 0
        while i < len(args):
            item = tuple(args[i:i + 2]) if args[i] == "--deselect" else (args[i],)
            i += len(item)
            if item not in seen:
                seen.add(item)
                out.extend(item)
    return out


def _toml_list(values: list[str]) -> str:
    return "[" + ", ".join(json.dumps(v) for v in values) + "]"


def _narrow_config(pyproject: Path, names: list[str]) -> None:
    """Rewrite the copy's [tool.mutmut] for the modules asked for (the work tree's file is left alone)."""
    text = pyproject.read_text(encoding="utf-8")
    config = tomllib.loads(text)["tool"]["mutmut"]
    config["only_mutate"] = [MODULES[n] for n in names]
    config["pytest_add_cli_args_test_selection"] = _selection(names)
    lines = ["[tool.mutmut]"]
    for key, value in config.items():
        lines.append(f"{key} = {_toml_list(value) if isinstance(value, list) else json.dumps(value)}")
    section = re.compile(r"^\[tool\.mutmut\]\n(?:(?!^\[).*\n?)*", re.MULTILINE)
    pyproject.write_text(section.sub("\n".join(lines) + "\n\n", text), encoding="utf-8")


def _copy_checkout(target: Path, worktree: bool) -> str:
    """The checkout to mutate, in `target`; returns what it is (a commit, or the commit plus edits)."""
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, check=True, capture_output=True,
                          text=True).stdout.strip()
    target.mkdir(parents=True)
    if not worktree:
        archive = subprocess.run(["git", "archive", "HEAD"], cwd=ROOT, check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
        return head
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, check=True, capture_output=True).stdout
    for name in filter(None, files.decode().split("\0")):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, check=True,
                           capture_output=True, text=True).stdout.strip()
    return head + (" + uncommitted edits" if dirty else "")


def _results(copy: Path, names: list[str]) -> tuple[list[dict[str, object]], list[tuple[str, str, str]]]:
    rows: list[dict[str, object]] = []
    others: list[tuple[str, str, str]] = []  # (module, mutant, status) for every mutant not killed
    for name in names:
        meta = copy / "mutants" / (MODULES[name] + ".meta")
        codes = json.loads(meta.read_text())["exit_code_by_key"] if meta.exists() else {}
        checked = {mutant: code for mutant, code in codes.items() if code is not None}
        row = {"module": MODULES[name], "mutants": len(checked), "killed": 0, "survived": 0, "other": 0,
               "unchecked": len(codes) - len(checked)}  # an interrupted run (--keep, then --resume)
        for mutant, code in sorted(checked.items()):
            if code in KILLED:
                row["killed"] += 1  # type: ignore[operator]
                continue
            if code in SURVIVED:
                row["survived"] += 1  # type: ignore[operator]
                status = "no tests" if code in (5, 33) else "survived"
            else:
                row["other"] += 1  # type: ignore[operator]
                status = "timeout" if code in TIMEOUT else f"suspicious (exit code {code})"
            others.append((MODULES[name], mutant, status))
        rows.append(row)
    return rows, others


def _table(rows: list[dict[str, object]]) -> str:
    def score(killed: int, total: int) -> str:
        return f"{100 * killed / total:.1f} %" if total else "-"

    lines = ["| module | mutants | killed | survived | timeout/suspicious | score |",
             "| --- | ---: | ---: | ---: | ---: | ---: |"]
    totals = [0, 0, 0, 0]
    for row in rows:
        values = [int(row[k]) for k in ("mutants", "killed", "survived", "other")]  # type: ignore[call-overload]
        totals = [a + b for a, b in zip(totals, values)]
        lines.append(f"| {row['module']} | {values[0]} | {values[1]} | {values[2]} | {values[3]} | "
                     f"{score(values[1], values[0])} |")
    if len(rows) > 1:
        lines.append(f"| **all** | {totals[0]} | {totals[1]} | {totals[2]} | {totals[3]} | "
                     f"{score(totals[1], totals[0])} |")
    unchecked = [f"{row['module']} {row['unchecked']}" for row in rows if row.get("unchecked")]
    if unchecked:
        lines.append(f"\nnot yet checked (the run was interrupted; --resume goes on): {', '.join(unchecked)}")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--modules", default="", help="comma-separated, from --list (default: all six)")
    parser.add_argument("--list", action="store_true", help="the module names, with their tests")
    parser.add_argument("--worktree", action="store_true",
                        help="mutate the tracked files as they are now, not the committed HEAD")
    parser.add_argument("--max-children", type=int, default=2, help="mutants tested at once (default 2)")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "mutation",
                        help="where the table, the survivors' diffs and mutmut's log go")
    parser.add_argument("--keep", action="store_true", help="keep the scratch copy (its mutants/ folder)")
    parser.add_argument("--resume", type=Path, metavar="CHECKOUT",
                        help="go on in a scratch copy kept by an interrupted --keep run (its results stand)")
    parser.add_argument("--table-only", action="store_true", help="with --resume: only the table, no run")
    args = parser.parse_args()
    if args.list:
        for name, path in MODULES.items():
            print(f"{name:12} {path:40} {' '.join(MODULE_TESTS[name])}")
        return 0
    names = [n.strip() for n in args.modules.replace(" ", ",").split(",") if n.strip()] or list(MODULES)
    unknown = [n for n in names if n not in MODULES]
    if unknown:
        parser.error(f"unknown module(s) {', '.join(unknown)}; one of: {', '.join(MODULES)}")
    mutmut = Path(sys.executable).parent / "mutmut"
    if not mutmut.exists():
        print(f"{mutmut} is missing: scripts/install.sh test bench installs it", file=sys.stderr)
        return 2

    if args.resume:
        copy, args.keep = args.resume.resolve(), True
        scratch, what = copy.parent, f"the copy resumed in {copy}"
        shutil.copy2(ROOT / "pyproject.toml", copy / "pyproject.toml")  # this checkout's [tool.mutmut]
    else:
        scratch = Path(tempfile.mkdtemp(prefix="mutation-"))
        copy = scratch / "checkout"
        what = _copy_checkout(copy, args.worktree)
    if names != list(MODULES):  # all six: [tool.mutmut] as it stands (a changed selection drops the stats)
        _narrow_config(copy / "pyproject.toml", names)
    args.out.mkdir(parents=True, exist_ok=True)
    log = args.out / "mutmut.log"
    print(f"mutating {', '.join(MODULES[n] for n in names)} of {what} in {copy} (log: {log})", flush=True)
    started = time.monotonic()
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    command = ["nice", "-n", "10", str(mutmut), "run", "--max-children", str(args.max_children)]
    code = 0
    if not args.table_only:
        with open(log, "w", encoding="utf-8") as handle:
            code = subprocess.run(command, cwd=copy, env=env, stdout=handle, stderr=subprocess.STDOUT).returncode
    minutes = (time.monotonic() - started) / 60
    if code != 0:
        print(f"mutmut run exited with {code} after {minutes:.1f} min: see {log}", file=sys.stderr)
        if not args.keep:
            shutil.rmtree(scratch, ignore_errors=True)
            return 1

    rows, others = _results(copy, names)
    table = _table(rows)
    survivors = []
    for module, mutant, status in others:
        diff = subprocess.run([str(mutmut), "show", mutant], cwd=copy, capture_output=True, text=True).stdout
        survivors.append(f"## {mutant} ({module}): {status}\n{diff.strip()}\n")
    stamp = time.strftime("%Y-%m-%d")
    report = (f"# Mutation testing, {stamp}: {what}, {minutes:.0f} min\n\n{table}\n\n"
              f"Not killed: {len(others)}\n\n" + "\n".join(survivors))
    report_path = args.out / f"{stamp}-{'-'.join(names)}.md"
    report_path.write_text(report, encoding="utf-8")
    print(f"\n{table}\n\n{len(others)} not killed (diffs in {report_path}), {minutes:.1f} min")
    for module, mutant, status in others:
        print(f"  {status:10} {mutant}")
    if args.keep:
        print(f"scratch copy kept: {copy}")
    else:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
