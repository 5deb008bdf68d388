"""One escaping helper per output format, for every name or note that comes from a result file.

Result files are input like any other: a model or dataset name may hold Rich markup (``[/x]``),
Markdown or HTML (a heading, ``![x](http://…)``), a spreadsheet formula (``=HYPERLINK(…)``),
terminal escape codes or a matplotlib ``$\\macro$``. Each writer passes such text through the
helper for its format: ``terminal`` / ``rich_text`` (stdout, stderr, Rich tables), ``markdown``
(report.md, ``check --format github``), ``csv_cell`` / ``csv_frame``, ``latex`` and ``mathtext``
(PNG plots). HTML uses :func:`html.escape`.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd
    from rich.text import Text

# C0 controls (ESC starts CSI sequences), DEL, C1 controls (U+009B is a one-byte CSI) and the
# bidirectional overrides that make text display in another order than it reads ("Trojan Source")
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def terminal(text: object) -> str:
    """Text safe to print on a terminal: control characters shown as ``\\x1b``-style escapes."""
    return _CONTROL.sub(_visible, str(text))


def rich_text(text: object, style: str = "") -> Text:
    """A Rich ``Text`` (never parsed for markup or emoji codes) of ``terminal(text)``."""
    from rich.text import Text

    return Text(terminal(text), style=style)


# characters with a meaning in GitHub-flavoured Markdown: emphasis, links and images, raw HTML and
# entities, headings, tables, code and strikethrough; any ASCII punctuation may be backslash-escaped.
# An underscore between two letters or digits (``weird_x``, file paths) can never open or close
# emphasis, so it stays as it is and the Markdown source stays readable.
_MARKDOWN = re.compile(r"[\\`*\[\]<>!#|~&]|(?<![^\W_])_|_(?![^\W_])")


def markdown(text: object) -> str:
    """Text for a Markdown paragraph, list item or table cell: literal, on one line."""
    flat = terminal(str(text).replace("\r\n", " ").replace("\n", " ").replace("\r", " "))
    return _MARKDOWN.sub(lambda m: "\\" + m.group(), flat)


# OWASP "CSV injection": a cell starting with one of these may be run as a formula by a spreadsheet
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def csv_cell(value: Any) -> Any:
    """A cell value that no spreadsheet runs as a formula: text starting with ``= + - @`` (or tab,
    CR, LF) gets a leading ``'``; numbers, and text that is a plain number like ``-1.5``, stay.
    A lone CR becomes LF: pandas quotes fields holding LF but not CR, and a bare CR splits the row."""
    if not isinstance(value, str):
        return value
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    if not value.startswith(_FORMULA_START) or _PLAIN_NUMBER.fullmatch(value):
        return value
    return "'" + value


def csv_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` with ``csv_cell`` applied to text cells, the header and the index."""
    from pandas.api.types import is_numeric_dtype

    out = frame.copy()
    for col in out.columns:
        if not is_numeric_dtype(out[col]):  # object or string dtype: the cells that may hold names
            out[col] = out[col].map(csv_cell)
    out.columns = [csv_cell(c) for c in out.columns]
    if not is_numeric_dtype(out.index):
        out.index = out.index.map(csv_cell).rename(csv_cell(out.index.name))
    return out


_TEX = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "[": "{[}",
    "]": "{]}",
    "<": r"\textless{}",
    ">": r"\textgreater{}",
    "|": r"\textbar{}",
    "↑": r"$\uparrow$",
    "↓": r"$\downarrow$",
    "–": "--",
    "×": r"$\times$",
    "†": r"$^\dagger$",
    "‡": r"$^\ddagger$",
    "§": r"\S{}",
    "¶": r"\P{}",
    "◊": r"$\diamond$",
}


def latex(text: object) -> str:
    """Text for a LaTeX table cell or caption: specials escaped (``[`` too, which a row's ``\\\\``
    would read as its optional argument), control characters and line breaks as spaces."""
    flat = _CONTROL.sub(" ", str(text))
    return "".join(_TEX.get(ch, ch) for ch in flat)


def mathtext(text: object) -> str:
    """Text for a matplotlib label: ``$`` escaped, so a ``$\\macro$`` in a name is shown, not parsed."""
    return terminal(text).replace("$", r"\$")
