"""mkdocs hook of the documentation site (mkdocs.yml ``hooks:``).

A link from a page of docs/ to a repository file outside docs/ (``../README.md``,
``../benchmarks/README.md#out-of-core``) has no page on the site: it is shown as the
file's repository path in code (``benchmarks/README.md``) instead of a dead link. The
target's existence is checked by tests/test_docs.py; every other link is checked by
``mkdocs build --strict``.
"""

from __future__ import annotations

import re
from typing import Any

OUTSIDE_LINK = re.compile(r"\[([^\]\n]*)\]\(\.\./([^)#\s]+)(#[^)\s]*)?\)")


def repository_path(match: re.Match[str]) -> str:
    """``[text](../path#anchor)`` -> ``text (`path`)``, or ``path`` in code when text is it."""
    text, path = match.group(1), match.group(2)
    if text.strip("`") in (path, f"../{path}") or not text:
        return f"`{path}`"
    return f"{text} (`{path}` in the repository)"


def on_page_markdown(markdown: str, **kwargs: Any) -> str:
    """Replace the links that leave docs/ by repository paths (mkdocs calls this per page)."""
    return OUTSIDE_LINK.sub(repository_path, markdown)
