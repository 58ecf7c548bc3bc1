"""The pages' stylesheets parse as their author meant: a rule left open (a missing `}`) makes a browser read
everything after it as nested rules, silently unstyling the page — as happened to recording.css once."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

WEB = Path(__file__).resolve().parent.parent / "web"


def structure_errors(css: str) -> list[str]:
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    stack: list[str] = []  # the prelude of each open block
    errors: list[str] = []
    prelude = ""
    line = 1
    for char in css:
        if char == "\n":
            line += 1
        if char == "{":
            head = prelude.strip()
            if stack and not stack[-1].startswith("@"):
                errors.append(f"line {line}: {head!r} opens inside the rule {stack[-1]!r} (a missing '}}'?)")
            stack.append(head)
            prelude = ""
        elif char == "}":
            if not stack:
                errors.append(f"line {line}: '}}' closes nothing")
            else:
                stack.pop()
            prelude = ""
        elif char == ";" and not stack:
            prelude = ""  # @import and the like
        else:
            prelude += char
    errors += [f"end of file: {head!r} is never closed" for head in stack]
    return errors


@pytest.mark.parametrize("sheet", sorted(p.name for p in WEB.glob("*.css")))
def test_every_rule_is_closed_and_none_is_nested_by_mistake(sheet):
    assert structure_errors((WEB / sheet).read_text(encoding="utf-8")) == []


def test_the_check_finds_a_missing_brace():
    assert structure_errors(".a { color: red;\n.b { color: blue; }\n")
    assert structure_errors("@media (max-width: 600px) { .a { color: red; } }") == []
