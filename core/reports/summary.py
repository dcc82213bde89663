"""The KPI summary operators read under /stats (and in the console), worded in desk.yaml
(`reports`): figures with their units, numbers with the right word forms."""

from __future__ import annotations

from core.knowledge.texts import Texts
from core.reports.kpi import PERIODS, KpiBlock, KpiReport


def period_title(desk_texts: Texts, name: str) -> str:
    """The title of a /stats period, one of `kpi.PERIODS`."""
    if name not in PERIODS:
        raise ValueError(f"unknown period {name!r}; known: {', '.join(PERIODS)}")
    return desk_texts.get(f"reports.periods.{name}")


def channel_name(desk_texts: Texts, channel: str) -> str:
    key = f"reports.channels.{channel}"
    return desk_texts.get(key) if desk_texts.has(key) else channel


def duration(desk_texts: Texts, seconds: float | None) -> str:
    """Minutes under an hour, else hours, with one decimal (`reports.minutes`, `.hours`)."""
    if seconds is None:
        return desk_texts.get("reports.none")
    if seconds < 3600:
        return desk_texts.format("reports.minutes", value=f"{seconds / 60:.1f}")
    return desk_texts.format("reports.hours", value=f"{seconds / 3600:.1f}")


def percent(desk_texts: Texts, share: float | None) -> str:
    if share is None:
        return desk_texts.get("reports.none")
    return desk_texts.format("reports.percent", value=f"{share * 100:.0f}")


def summary_text(report: KpiReport, title: str, desk_texts: Texts) -> str:
    """A short summary for operators, one figure a line, under `title`."""
    lines = [title, *_cases(report.overall, desk_texts), *_bot(report, desk_texts)]
    lines.append(
        desk_texts.format(
            "reports.summary.queue",
            waiting=report.waiting_now,
            oldest=duration(desk_texts, report.oldest_wait),
        )
    )
    if report.sla is not None:
        lines.append(report.sla.summary_line(desk_texts))
    if report.vip.tickets:
        lines.append(
            desk_texts.format(
                "reports.summary.vip",
                cases=desk_texts.plural("reports.cases", report.vip.tickets),
                median=duration(desk_texts, report.vip.first_response_median),
            )
        )
    lines += [_channel(channel, b, desk_texts) for channel, b in report.per_channel.items()]
    return "\n".join(lines)


def _cases(o: KpiBlock, desk_texts: Texts) -> list[str]:
    """The operators' side: cases, waits, resolution, FCR, CSAT, repeats."""
    csat = desk_texts.get("reports.none") if o.csat_avg is None else f"{o.csat_avg:.2f}"
    return [
        desk_texts.format("reports.summary.cases", tickets=o.tickets, closed=o.closed),
        desk_texts.format(
            "reports.summary.first_response",
            median=duration(desk_texts, o.first_response_median),
            average=duration(desk_texts, o.first_response_avg),
        ),
        desk_texts.format(
            "reports.summary.resolution", median=duration(desk_texts, o.resolution_median)
        ),
        desk_texts.format("reports.summary.fcr", share=percent(desk_texts, o.fcr_share)),
        desk_texts.format(
            "reports.summary.csat",
            average=csat,
            ratings=desk_texts.plural("reports.ratings", o.csat_count),
            good=percent(desk_texts, o.csat_good_share),
        ),
        desk_texts.format("reports.summary.repeat", count=o.repeat_contacts),
    ]


def _bot(report: KpiReport, desk_texts: Texts) -> list[str]:
    """What the bot solved by itself, and the self-service actions when there were any."""
    bot = report.bot
    lines = [
        desk_texts.format(
            "reports.summary.contained",
            share=percent(desk_texts, report.containment_share),
            contained=report.contained,
            conversations=desk_texts.plural("reports.of_conversations", report.conversations),
        )
    ]
    if bot.actions_done or bot.actions_refused or bot.actions_failed:
        lines.append(
            desk_texts.format(
                "reports.summary.self_service",
                done=bot.actions_done,
                refused=bot.actions_refused,
                failed=bot.actions_failed,
            )
        )
    return lines


def _channel(channel: str, b: KpiBlock, desk_texts: Texts) -> str:
    csat = desk_texts.get("reports.none") if b.csat_avg is None else f"{b.csat_avg:.1f}"
    return desk_texts.format(
        "reports.summary.channel",
        channel=channel_name(desk_texts, channel),
        cases=desk_texts.plural("reports.cases", b.tickets),
        median=duration(desk_texts, b.first_response_median),
        csat=csat,
    )
