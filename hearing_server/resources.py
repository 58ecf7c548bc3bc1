"""What the installed program reads at run time besides its code: the pages (web/ of the checkout) and the
example configurations (config/), shipped in the wheel as the package data of `hearing_server.web` and
`hearing_server.examples` (pyproject.toml maps the two folders) and found through importlib.resources.

An editable install (`make run`, `pip install -e`) imports the checkout itself, where that mapping is not
made: there, and only there, the two folders are the checkout's own."""

from __future__ import annotations

from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path

WEB = "hearing_server.web"
EXAMPLES = "hearing_server.examples"
_CHECKOUT = {WEB: "web", EXAMPLES: "config"}


def _package(name: str) -> Traversable:
    try:
        return files(name)
    except ModuleNotFoundError:
        folder = Path(__file__).resolve().parent.parent / _CHECKOUT[name]
        if not folder.is_dir():
            raise RuntimeError(f"{name} is not installed; reinstall courtroom-hearing-server") from None
        return folder


def web_root() -> Path:
    """The pages' folder: aiohttp serves files from a real directory (the wheel installs them as files)."""
    root = _package(WEB)
    # web/ has no __init__.py: importlib.resources sees a namespace package (a MultiplexedPath), whose
    # joinpath() gives the real file.
    page = Path(str(root.joinpath("judge.html")))
    if not page.is_file():
        raise RuntimeError(f"the pages are not installed as files ({root!r}); reinstall courtroom-hearing-server")
    return page.parent


def example(name: str) -> str:
    """An example configuration as shipped: "default.toml" (every setting, annotated) or "courtroom.toml"."""
    return _package(EXAMPLES).joinpath(name).read_text(encoding="utf-8")
