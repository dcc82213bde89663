"""What the command line prints for people, worded in `command_line.yaml` of the
knowledge folder (the shipped one when a shop's own folder has none): the console notice
and `supportbot report`'s table, in the operators' language like `/stats`.

The table shows the figures of `core.kpi_export.rows` (the CSV's and the JSON's) under the
file's headers and units.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from config.settings import KNOWLEDGE_DIR

if TYPE_CHECKING:
    from core.kpi import KpiReport

FILE = "command_line.yaml"


def load(knowledge_dir: Path) -> dict[str, Any]:
    path = knowledge_dir / FILE
    if not path.is_file():
        path = KNOWLEDGE_DIR / FILE
    with path.open(encoding="utf-8") as stream:
        texts: dict[str, Any] = yaml.safe_load(stream)
    return texts


def report_table(
    report: KpiReport, timezone: str, texts: dict[str, Any], all_days: bool = False
) -> str:
    from core.kpi_export import bot_figures, period_days, rows

    words = texts["report"]
    columns: dict[str, list[str]] = words["columns"]
    lines = [tuple(header for header, _ in columns.values())]
    lines.append(tuple(unit for _, unit in columns.values()))
    for row in rows(report, all_days):
        row["scope"] = _scope(str(row["scope"]), words["scopes"])
        lines.append(tuple(_cell(row[column]) for column in columns))
    widths = [max(len(line[i]) for line in lines) for i in range(len(columns))]
    text = [
        "  ".join(
            cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i])
            for i, cell in enumerate(line)
        ).rstrip()
        for line in lines
    ]
    first, last = period_days(report, timezone)
    text[:0] = [words["period"].format(first=first, last=last, timezone=timezone), ""]
    shown = sum(1 for block in report.per_day.values() if all_days or block.tickets)
    if len(report.per_day) > shown:
        text.append(words["hidden_days"].format(count=len(report.per_day) - shown))
    figures = {name: _cell(value) for name, value in bot_figures(report).items()}
    text += ["", *(words[part].format(**figures) for part in ("bot", "self_service", "queue"))]
    text.append(words["legend"].format(repeat_days=report.repeat_days))
    return "\n".join(text)


def _scope(scope: str, names: dict[str, str]) -> str:
    kind, _, name = scope.partition(":")
    return names[kind].format(name=name) if kind in names else scope


def _cell(value: object) -> str:
    return "—" if value is None or value == "" else str(value)
