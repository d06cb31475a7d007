"""Tables of plain text: `errors list` and `sessions list` print one without rich.

rich's console and table take a fifth of those commands' start (0.05 s to import, as
much again to lay out a page of rows), for what is columns padded with spaces. On a
terminal the header is bold and the last column folds to the terminal's width; piped or
redirected, each row stays one line (a grep, a file, a cron mail), as rich's tables did
here. COLUMNS, when set, decides the width either way.
"""

from __future__ import annotations

import shutil
import sys
import textwrap
from collections.abc import Sequence

from ..settings.environment import columns_asked, plain_terminal

GAP = "  "
NARROWEST = 20
"""The least the folding column is given; below it the line runs on."""


def render(
    headers: Sequence[str], rows: Sequence[Sequence[str]], right: frozenset[int] = frozenset()
) -> str:
    """The table's lines: columns padded to their widest cell (right-aligned by index in
    `right`), the last one folded to the width of the terminal, if it is one."""
    on_terminal = sys.stdout.isatty() and not plain_terminal()
    width = shutil.get_terminal_size().columns if on_terminal or columns_asked() else None
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    fixed = sum(widths[:-1]) + len(GAP) * (len(headers) - 1)
    room = max(NARROWEST, width - fixed) if width else None

    def line(cells: Sequence[str]) -> list[str]:
        padded = [
            cell.rjust(widths[i]) if i in right else cell.ljust(widths[i])
            for i, cell in enumerate(cells[:-1])
        ]
        last = textwrap.wrap(cells[-1], room, break_long_words=True) if room else [cells[-1]]
        first = GAP.join([*padded, last[0] if last else ""]).rstrip()
        return [first, *((" " * fixed + more).rstrip() for more in last[1:])]

    head = GAP.join(h.rjust(widths[i]) if i in right else h.ljust(widths[i])
                    for i, h in enumerate(headers)).rstrip()  # fmt: skip
    if on_terminal:
        head = f"\x1b[1m{head}\x1b[0m"
    return "\n".join([head, *(text for row in rows for text in line(row))])
