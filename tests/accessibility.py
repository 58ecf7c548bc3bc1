"""axe-core (WCAG 2.1 A and AA rules) over a page as it stands, through axe-playwright-python's copy of axe."""

from __future__ import annotations

from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Page

WCAG_21_AA = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
              "resultTypes": ["violations"]}
_AXE = Axe()


async def violations(page: Page) -> list[str]:
    """One line per violation: the rule, its help and the elements that break it."""
    results = await _AXE.run(page, options=WCAG_21_AA)
    found = results.response.get("violations", [])
    return [f"{v['id']} ({v['impact']}): {v['help']} — " +
            "; ".join(" ".join(node["target"]) if isinstance(node["target"], list) else str(node["target"])
                      for node in v["nodes"][:5]) for v in found]


async def assert_accessible(page: Page, where: str) -> None:
    problems = await violations(page)
    assert not problems, f"{where}: " + "\n".join(problems)
