"""KPI reports as a picture (for /stats) and as rows (table, CSV, JSON for `report`)."""

from __future__ import annotations

import csv
import io
import json

from core.kpi import KpiBlock, KpiReport

COLUMNS = (
    "scope",
    "tickets",
    "closed",
    "first_response_median_min",
    "first_response_avg_min",
    "resolution_median_min",
    "fcr_share",
    "csat_avg",
    "csat_count",
    "csat_good_share",
    "csat_1",
    "csat_2",
    "csat_3",
    "csat_4",
    "csat_5",
    "repeat_contacts",
)


def rows(report: KpiReport) -> list[dict[str, object]]:
    scopes: list[tuple[str, KpiBlock]] = [("overall", report.overall), ("vip", report.vip)]
    scopes += [(f"channel:{k}", v) for k, v in report.per_channel.items()]
    scopes += [(f"intent:{k}", v) for k, v in report.per_intent.items()]
    scopes += [(f"day:{k}", v) for k, v in report.per_day.items()]
    return [_row(scope, block) for scope, block in scopes]


def _row(scope: str, b: KpiBlock) -> dict[str, object]:
    def mins(value: float | None) -> object:
        return round(value / 60, 2) if value is not None else ""

    def share(value: float | None) -> object:
        return round(value, 3) if value is not None else ""

    return {
        "scope": scope,
        "tickets": b.tickets,
        "closed": b.closed,
        "first_response_median_min": mins(b.first_response_median),
        "first_response_avg_min": mins(b.first_response_avg),
        "resolution_median_min": mins(b.resolution_median),
        "fcr_share": share(b.fcr_share),
        "csat_avg": share(b.csat_avg),
        "csat_count": b.csat_count,
        "csat_good_share": share(b.csat_good_share),
        **{f"csat_{n}": b.csat_distribution.get(n, 0) for n in range(1, 6)},
        "repeat_contacts": b.repeat_contacts,
    }


def as_csv(report: KpiReport) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows(report))
    return out.getvalue()


def as_json(report: KpiReport) -> str:
    return json.dumps(report.to_dict(), ensure_ascii=False, indent=2, default=str)


def as_table(report: KpiReport) -> str:
    header = (
        "scope",
        "tickets",
        "closed",
        "FRT med",
        "FRT avg",
        "resol.",
        "FCR",
        "CSAT",
        "n",
        "repeat",
    )
    lines = [header]
    for row in rows(report):
        lines.append(
            (
                str(row["scope"]),
                str(row["tickets"]),
                str(row["closed"]),
                str(row["first_response_median_min"]),
                str(row["first_response_avg_min"]),
                str(row["resolution_median_min"]),
                str(row["fcr_share"]),
                str(row["csat_avg"]),
                str(row["csat_count"]),
                str(row["repeat_contacts"]),
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    text = [
        "  ".join(
            cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i])
            for i, cell in enumerate(line)
        )
        for line in lines
    ]
    containment = "—" if report.containment_share is None else f"{report.containment_share:.3f}"
    text += [
        "",
        f"conversations: {report.conversations}, contained by the bot: {report.contained} "
        f"(share {containment})",
        f"waiting now: {report.waiting_now}, oldest wait (min): "
        + ("—" if report.oldest_wait is None else f"{report.oldest_wait / 60:.1f}"),
        "(FRT = first response time, minutes; FCR = first-contact resolution share)",
    ]
    return "\n".join(text)


def chart_png(report: KpiReport, title: str = "") -> bytes:
    """Tickets per day, median first response per day and CSAT per day, as one PNG."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    days = list(report.per_day)
    labels = [d[5:] for d in days]
    blocks = [report.per_day[d] for d in days]
    figure, axes = plt.subplots(3, 1, figsize=(8, 7), sharex=True)
    axes[0].bar(labels, [b.tickets for b in blocks], color="#4a90d9")
    axes[0].set_ylabel("обращений")
    waits = [b.first_response_median / 60 if b.first_response_median else None for b in blocks]
    axes[1].plot(
        labels, [w if w is not None else float("nan") for w in waits], marker="o", color="#e67e22"
    )
    axes[1].set_ylabel("1-й ответ, мин")
    csat = [b.csat_avg if b.csat_avg is not None else float("nan") for b in blocks]
    axes[2].plot(labels, csat, marker="o", color="#27ae60")
    axes[2].set_ylim(0.5, 5.5)
    axes[2].set_ylabel("CSAT")
    for axis in axes:
        axis.grid(alpha=0.3)
    if len(labels) > 10:
        for tick in axes[2].get_xticklabels():
            tick.set_rotation(60)
    figure.suptitle(title or "Поддержка: обращения, ожидание, оценки")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90)
    plt.close(figure)
    return buffer.getvalue()
