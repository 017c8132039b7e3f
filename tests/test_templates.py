"""House rules checked on every template: each ``hx-get`` has a plain-HTML fallback (a link with
the same URL, or a GET form posting to the same URL), and no template loads anything from a CDN.
A polling region (``hx-trigger="every …"``) needs none: reloading the page shows the same data.
"""

from __future__ import annotations

import re
from pathlib import Path

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
TAG = re.compile(r"<(?P<name>[a-z]+)\b(?P<attrs>[^<>]*?\bhx-get=\"(?P<url>[^\"]*)\"[^<>]*)>", re.S)


def _attr(attrs: str, name: str) -> str | None:
    found = re.search(rf'\b{name}="([^"]*)"', attrs)
    return found.group(1) if found else None


def _offenders() -> list[str]:
    offenders = []
    for path in sorted(TEMPLATES.rglob("*.html")):
        for tag in TAG.finditer(path.read_text()):
            attrs, url = tag.group("attrs"), tag.group("url")
            if "every " in (_attr(attrs, "hx-trigger") or ""):
                continue
            if tag.group("name") == "a" and _attr(attrs, "href") == url:
                continue
            is_get_form = (_attr(attrs, "method") or "get").lower() == "get"
            if tag.group("name") == "form" and _attr(attrs, "action") == url and is_get_form:
                continue
            offenders.append(f"{path.relative_to(TEMPLATES)}: <{tag.group('name')} hx-get={url}>")
    return offenders


def test_every_hx_get_has_a_plain_html_fallback() -> None:
    assert _offenders() == []


def test_the_rule_catches_a_link_without_a_real_href(tmp_path, monkeypatch) -> None:
    (tmp_path / "bad.html").write_text('<a href="#" hx-get="/review/">Next</a>')
    monkeypatch.setattr(f"{__name__}.TEMPLATES", tmp_path)
    assert _offenders() == ["bad.html: <a hx-get=/review/>"]


def test_no_template_loads_from_a_cdn() -> None:
    external = [
        f"{path.relative_to(TEMPLATES)}: {src}"
        for path in sorted(TEMPLATES.rglob("*.html"))
        for src in re.findall(r'\b(?:src|href)="(https?://[^"]+)"', path.read_text())
    ]
    assert external == []
