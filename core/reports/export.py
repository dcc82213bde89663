"""KPI reports as a picture (for /stats) and as rows (CSV, JSON for `report`; its table
for people is `bots/cli_texts.py`, worded in the knowledge base).

The three text formats carry the same columns in the same units: durations in minutes
(`_min`), shares in percent (`_pct`), CSAT on the 1–5 scale, everything else a count;
dates are ISO (`YYYY-MM-DD`). Days without cases are left out unless asked for. CSV and
JSON keep English column names (identifiers for spreadsheets and scripts); the table and
the chart are for people, worded in desk.yaml (`reports.table`, `reports.chart`).
"""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from core.knowledge.texts import Texts
from core.reports.kpi import KpiBlock, KpiReport

# column → unit, in the order of the CSV and the JSON rows.
COLUMNS: dict[str, str] = {
    "scope": "",
    "tickets": "count",
    "closed": "count",
    "answered": "count",
    "reopened": "count",
    "first_response_median_min": "minutes",
    "first_response_avg_min": "minutes",
    "resolution_median_min": "minutes",
    "fcr_pct": "percent of closed",
    "csat_avg": "1–5",
    "csat_count": "count",
    "csat_good_pct": "percent of ratings",
    "csat_1": "count",
    "csat_2": "count",
    "csat_3": "count",
    "csat_4": "count",
    "csat_5": "count",
    "repeat_contacts": "count",
}
BOT_UNITS: dict[str, str] = {
    "conversations": "count",
    "contained": "count",
    "containment_pct": "percent of conversations",
    "contained_answered": "count",
    "contained_helped": "count",
    "contained_self_service": "count",
    "self_service_done": "count",
    "self_service_refused": "count",
    "self_service_failed": "count",
    "waiting_now": "count",
    "oldest_wait_min": "minutes",
}
# The columns of the table, in order; desk.yaml words their headers and units
# (`reports.table.headers`, `reports.table.units`).
TABLE = (
    "scope",
    "tickets",
    "closed",
    "first_response_median_min",
    "first_response_avg_min",
    "resolution_median_min",
    "fcr_pct",
    "reopened",
    "csat_avg",
    "csat_count",
    "repeat_contacts",
)
SCOPES = ("overall", "vip", "channel", "intent", "day")  # `row`'s scopes: "channel:vk"…


def _mins(value: float | None) -> float | None:
    return round(value / 60, 2) if value is not None else None


def _pct(value: float | None) -> float | None:
    return round(value * 100, 1) if value is not None else None


def row(scope: str, b: KpiBlock) -> dict[str, object]:
    return {
        "scope": scope,
        "tickets": b.tickets,
        "closed": b.closed,
        "answered": b.answered,
        "reopened": b.reopened,
        "first_response_median_min": _mins(b.first_response_median),
        "first_response_avg_min": _mins(b.first_response_avg),
        "resolution_median_min": _mins(b.resolution_median),
        "fcr_pct": _pct(b.fcr_share),
        "csat_avg": round(b.csat_avg, 2) if b.csat_avg is not None else None,
        "csat_count": b.csat_count,
        "csat_good_pct": _pct(b.csat_good_share),
        **{f"csat_{n}": b.csat_distribution.get(n, 0) for n in range(1, 6)},
        "repeat_contacts": b.repeat_contacts,
    }


def _days(report: KpiReport, all_days: bool) -> dict[str, KpiBlock]:
    return {d: b for d, b in report.per_day.items() if all_days or b.tickets}


def rows(report: KpiReport, all_days: bool = False) -> list[dict[str, object]]:
    scopes: list[tuple[str, KpiBlock]] = [("overall", report.overall), ("vip", report.vip)]
    scopes += [(f"channel:{k}", v) for k, v in report.per_channel.items()]
    scopes += [(f"intent:{k}", v) for k, v in report.per_intent.items()]
    scopes += [(f"day:{k}", v) for k, v in _days(report, all_days).items()]
    return [row(scope, block) for scope, block in scopes]


def bot_figures(report: KpiReport) -> dict[str, object]:
    bot = report.bot
    return {
        "conversations": bot.conversations,
        "contained": bot.contained,
        "containment_pct": _pct(report.containment_share),
        "contained_answered": bot.answered,
        "contained_helped": bot.helped,
        "contained_self_service": bot.self_service,
        "self_service_done": bot.actions_done,
        "self_service_refused": bot.actions_refused,
        "self_service_failed": bot.actions_failed,
        "waiting_now": report.waiting_now,
        "oldest_wait_min": _mins(report.oldest_wait),
    }


def period_days(report: KpiReport, timezone: str) -> tuple[str, str]:
    """The first and the last day (inclusive) of the report, ISO."""
    zone = ZoneInfo(timezone)
    first = datetime.fromtimestamp(report.since, zone).date()
    last = (datetime.fromtimestamp(report.until, zone) - timedelta(seconds=1)).date()
    return first.isoformat(), max(first, last).isoformat()


def as_csv(report: KpiReport, all_days: bool = False) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(COLUMNS), lineterminator="\n")
    writer.writeheader()
    for item in rows(report, all_days):
        writer.writerow({k: "" if v is None else v for k, v in item.items()})
    return out.getvalue()


def as_json(report: KpiReport, timezone: str = "Europe/Moscow", all_days: bool = False) -> str:
    first, last = period_days(report, timezone)
    data = {
        "since": first,
        "until": last,
        "timezone": timezone,
        "repeat_days": report.repeat_days,
        "units": {k: v for k, v in {**COLUMNS, **BOT_UNITS}.items() if v},
        "overall": row("overall", report.overall),
        "vip": row("vip", report.vip),
        "per_channel": {k: row(f"channel:{k}", v) for k, v in report.per_channel.items()},
        "per_intent": {k: row(f"intent:{k}", v) for k, v in report.per_intent.items()},
        "per_day": {k: row(f"day:{k}", v) for k, v in _days(report, all_days).items()},
        "bot": bot_figures(report),
    }
    return json.dumps(data, ensure_ascii=False, indent=2)


def as_table(
    report: KpiReport, desk_texts: Texts, timezone: str = "Europe/Moscow", all_days: bool = False
) -> str:
    """The report as aligned columns for people, in the operators' words."""
    words = _TableWords(desk_texts)
    lines = [
        tuple(words.header(column) for column in TABLE),
        tuple(words.unit(column) for column in TABLE),
    ]
    for item in rows(report, all_days):
        item["scope"] = words.scope(str(item["scope"]))
        lines.append(tuple(_cell(item[column]) for column in TABLE))
    widths = [max(len(line[i]) for line in lines) for i in range(len(TABLE))]
    text = [
        "  ".join(
            cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i])
            for i, cell in enumerate(line)
        ).rstrip()
        for line in lines
    ]
    first, last = period_days(report, timezone)
    text[:0] = [words.format("period", first=first, last=last, timezone=timezone), ""]
    hidden = len(report.per_day) - len(_days(report, all_days))
    if hidden:
        text.append(words.format("hidden_days", days=desk_texts.plural("reports.days", hidden)))
    figures = {name: _cell(value) for name, value in bot_figures(report).items()}
    text += ["", *(words.format(part, **figures) for part in ("bot", "self_service", "queue"))]
    legend_days = desk_texts.plural("reports.days", report.repeat_days)
    text.append(words.format("legend", days=legend_days))
    return "\n".join(text)


class _TableWords:
    """The table's words: desk.yaml `reports.table`."""

    def __init__(self, desk_texts: Texts) -> None:
        self.texts = desk_texts

    def header(self, column: str) -> str:
        return self.texts.get(f"reports.table.headers.{column}")

    def unit(self, column: str) -> str:
        return self.texts.get(f"reports.table.units.{column}")

    def scope(self, scope: str) -> str:
        kind, _, name = scope.partition(":")
        if kind not in SCOPES:
            return scope
        return self.texts.format(f"reports.table.scopes.{kind}", name=name)

    def format(self, key: str, **values: object) -> str:
        return self.texts.get(f"reports.table.{key}").format(**values)


def _cell(value: object) -> str:
    return "—" if value is None or value == "" else str(value)


def chart_png(report: KpiReport, desk_texts: Texts, title: str = "") -> bytes:
    """Tickets per day, median first response per day and CSAT per day, as one PNG."""
    # Imported here, not at the top: matplotlib with pyplot takes a second or so to
    # import, and only /stats draws.
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    days = list(report.per_day)
    labels = [d[5:] for d in days]
    blocks = [report.per_day[d] for d in days]
    figure, axes = plt.subplots(3, 1, figsize=(8, 7), sharex=True)
    axes[0].bar(labels, [b.tickets for b in blocks], color="#4a90d9")
    axes[0].set_ylabel(desk_texts.get("reports.chart.cases"))
    waits = [b.first_response_median / 60 if b.first_response_median else None for b in blocks]
    axes[1].plot(
        labels, [w if w is not None else float("nan") for w in waits], marker="o", color="#e67e22"
    )
    axes[1].set_ylabel(desk_texts.get("reports.chart.first_response"))
    csat = [b.csat_avg if b.csat_avg is not None else float("nan") for b in blocks]
    axes[2].plot(labels, csat, marker="o", color="#27ae60")
    axes[2].set_ylim(0.5, 5.5)
    axes[2].set_ylabel(desk_texts.get("reports.chart.csat"))
    for axis in axes:
        axis.grid(alpha=0.3)
    if len(labels) > 10:
        for tick in axes[2].get_xticklabels():
            tick.set_rotation(60)
    figure.suptitle(title or desk_texts.get("reports.chart.title"))
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90)
    plt.close(figure)
    return buffer.getvalue()
