"""What a person reads on a page: its visible text, without the language switcher's own names, form fields
and videos, and without the data the page shows (names, case numbers) — for "no English on a Kazakh screen"."""

from __future__ import annotations

import re

from playwright.async_api import Page

LATIN_WORD = re.compile(r"[A-Za-z]{3,}")

_VISIBLE_TEXT = """() => {
  const clone = document.body.cloneNode(true);
  clone.querySelectorAll('select, [hidden], script, style, input, video').forEach((n) => n.remove());
  document.body.append(clone);
  clone.style.position = 'absolute'; clone.style.left = '-10000px';
  const text = clone.innerText;
  clone.remove();
  return text + ' ' + document.title;
}"""


async def page_words(page: Page, data: tuple[str, ...] = ()) -> str:
    text = await page.evaluate(_VISIBLE_TEXT)
    for value in data:
        text = text.replace(value, "")
    return text


def latin_words(text: str) -> list[str]:
    return LATIN_WORD.findall(text)
