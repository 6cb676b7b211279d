"""Fixed-column tables, printed with Rich or as Markdown, and the machine they were measured on."""

from __future__ import annotations

import os
import platform
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.table import Table as RichTable

FORMATS = ("rich", "markdown")


@dataclass(frozen=True, slots=True)
class Column:
    """A column header; numbers are right-aligned."""

    name: str
    numeric: bool = False


@dataclass(slots=True)
class Table:
    """A titled table whose cells are already formatted text."""

    title: str
    columns: tuple[Column, ...]
    rows: list[tuple[str, ...]] = field(default_factory=list)
    note: str = ""

    def add(self, *cells: str) -> None:
        """Append one row; it must have a cell per column."""
        if len(cells) != len(self.columns):
            raise ValueError(f"{self.title}: {len(cells)} cells for {len(self.columns)} columns")
        self.rows.append(cells)


def render(tables: Sequence[Table], fmt: str, console: Console) -> None:
    """Print ``tables`` in ``fmt`` (one of :data:`FORMATS`)."""
    for table in tables:
        if fmt == "markdown":
            console.print(markdown(table), markup=False, highlight=False, soft_wrap=True)
        else:
            console.print(_rich(table))
        console.print()


def markdown(table: Table) -> str:
    """The table as GitHub Markdown, preceded by its title in bold."""
    header = "| " + " | ".join(column.name for column in table.columns) + " |"
    rule = "|" + "|".join("---:" if c.numeric else "---" for c in table.columns) + "|"
    body = ["| " + " | ".join(row) + " |" for row in table.rows]
    note = [f"\n{table.note}"] if table.note else []
    return "\n".join([f"**{table.title}**\n", header, rule, *body, *note])


def _rich(table: Table) -> RichTable:
    out = RichTable(title=table.title, caption=table.note or None, title_justify="left")
    for column in table.columns:
        out.add_column(column.name, justify="right" if column.numeric else "left", no_wrap=True)
    for row in table.rows:
        out.add_row(*row)
    return out


def machine(engine_versions: Sequence[str]) -> str:
    """One line describing the hardware and software the numbers come from."""
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    parts = [
        _cpu_model(),
        f"{os.cpu_count()} cores",
        f"{memory:.0f} GiB RAM",
        f"{platform.system()} {platform.release()}",
        f"Python {platform.python_version()}",
        *engine_versions,
        f"load average {os.getloadavg()[0]:.1f}",
    ]
    return ", ".join(parts)


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def count(value: float) -> str:
    """An integer with thousands separators."""
    return f"{value:,.0f}"


def seconds(value: float) -> str:
    """Seconds with a precision that suits their size."""
    return f"{value:.2f}" if value < 100 else f"{value:.0f}"
