"""The operator's commands typed in the console chat (`/queue`, `/reply N text`, …): acted
on through `core.desk` as the Telegram group's are, and answered in lines. The console's
one operator is a senior operator."""

from __future__ import annotations

import shlex
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from bots.console.printers import topic_title
from bots.console.screen import Screen
from core.clock import Clock
from core.desk.compensation import Compensation
from core.desk.operators import OperatorDesk
from core.desk.roles import Operator
from core.knowledge.base import Answer
from core.knowledge.texts import Texts
from core.reports import kpi, summary
from core.storage import Storage, Ticket

OPERATOR_ID = "console-operator"
LABELLED_SHOWN = 100  # characters of the labelled message echoed back

# What a command needs after its name: nothing, a case's number, or a number and a text.
NOTHING, TICKET, TICKET_AND_TEXT = 0, 1, 2

Handler = Callable[[list[str], str], Awaitable[None]]  # (arguments, the whole line)


@dataclass(frozen=True)
class Stats:
    """`/stats`: the KPI summary of a period, as the Telegram group's."""

    storage: Storage
    clock: Clock
    timezone: str
    repeat_days: int
    desk_texts: Texts

    async def summary(self, period: str) -> str:
        now = self.clock.now()
        since, until = kpi.period(period, now, self.timezone)
        report = await kpi.compute(self.storage, since, until, now, self.timezone, self.repeat_days)
        title = summary.period_title(self.desk_texts, period)
        return summary.summary_text(report, title, self.desk_texts)


class OperatorCommands:
    def __init__(
        self,
        desk: OperatorDesk,
        compensation: Compensation,
        canned: Mapping[str, str],
        stats: Stats,
        screen: Screen,
        texts: Texts,
        answers: Mapping[str, Answer],
    ) -> None:
        self.desk = desk
        self.compensation = compensation
        self.canned = canned
        self.stats = stats
        self.screen = screen
        self.texts = texts
        self.answers = answers
        self.operator = Operator(OPERATOR_ID, texts.get("console.operator_name"))
        self._table: dict[str, tuple[int, Handler]] = {
            "/help": (NOTHING, self._help),
            "/queue": (NOTHING, self._queue),
            "/stats": (NOTHING, self._stats),
            "/card": (TICKET, self._card),
            "/take": (TICKET, self._take),
            "/close": (TICKET, self._close),
            "/reopen": (TICKET, self._reopen),
            "/reply": (TICKET_AND_TEXT, self._reply),
            "/note": (TICKET_AND_TEXT, self._note),
            "/t": (TICKET, self._template),
            "/vip": (TICKET, self._vip),
            "/manager": (TICKET, self._manager),
            "/compensate": (TICKET, self._compensate),
            "/intent": (TICKET, self._intent),
        }

    async def run(self, line: str) -> None:
        """Act on one command line; an unknown command, or one without the number of a
        case it needs, is answered with a hint. `OperatorError`s propagate."""
        args = _words(line)
        needs, handler = self._table.get(args[0].lower(), (NOTHING, None))
        if handler is None or not _has(needs, args[1:]):
            self.screen.print(self.texts.get("console.unknown_command"))
            return
        await handler(args[1:], line)

    def _say(self, text: str) -> None:
        self.screen.print(self.texts.format("console.to_operators", text=text))

    async def _help(self, args: list[str], line: str) -> None:
        self.screen.print(self.texts.get("console.help"))

    async def _queue(self, args: list[str], line: str) -> None:
        texts = self.texts
        queue = await self.desk.queue()
        if not queue:
            self._say(texts.get("console.queue_empty"))
        for t in queue:
            topic = topic_title(self.answers, t.intent)
            self.screen.print(
                texts.format(
                    "console.queue_line",
                    ticket=t.id,
                    channel=t.channel,
                    topic=topic,
                    priority=t.priority,
                )
            )

    async def _stats(self, args: list[str], line: str) -> None:
        period = (args[0] if args else "today").lower()
        if period not in kpi.PERIODS:
            self._say(self.texts.get("console.stats_period"))
            return
        self.screen.print(await self.stats.summary(period))

    async def _card(self, args: list[str], line: str) -> None:
        texts = self.texts
        view = await self.desk.view(int(args[0]))
        t = view.ticket
        status_key = f"console.status.{t.status}"
        status = texts.get(status_key) if texts.has(status_key) else t.status
        topic = topic_title(self.answers, t.intent)
        self.screen.print(texts.format("console.card", ticket=t.id, status=status, topic=topic))
        for m in view.transcript:
            self.screen.print(
                texts.format("console.card_message", direction=m.direction, text=m.text[:200])
            )

    async def _take(self, args: list[str], line: str) -> None:
        await self._done("/take", await self.desk.take(int(args[0]), self.operator))

    async def _close(self, args: list[str], line: str) -> None:
        await self._done("/close", await self.desk.close(int(args[0]), self.operator))

    async def _reopen(self, args: list[str], line: str) -> None:
        await self._done("/reopen", await self.desk.reopen(int(args[0]), self.operator))

    async def _done(self, command: str, ticket: Ticket) -> None:
        self._say(self.texts.format("console.done", command=command, ticket=ticket.id))

    async def _reply(self, args: list[str], line: str) -> None:
        await self.desk.reply(int(args[0]), self.operator, _text_after_ticket(line))

    async def _note(self, args: list[str], line: str) -> None:
        await self.desk.note(int(args[0]), self.operator, _text_after_ticket(line))
        self._say(self.texts.get("console.note_saved"))

    async def _template(self, args: list[str], line: str) -> None:
        if len(args) < 2 or args[1] not in self.canned:
            names = ", ".join(sorted(self.canned))
            self._say(self.texts.format("console.templates", names=names))
            return
        await self.desk.reply(int(args[0]), self.operator, self.canned[args[1]])

    async def _vip(self, args: list[str], line: str) -> None:
        await self.desk.mark_vip(int(args[0]), self.operator)
        self._say(self.texts.get("console.vip"))

    async def _manager(self, args: list[str], line: str) -> None:
        await self.desk.set_manager(int(args[0]), self.operator)
        self._say(self.texts.format("console.manager", name=self.operator.name))

    async def _compensate(self, args: list[str], line: str) -> None:
        texts = self.texts
        given = await self.compensation.give(int(args[0]), self.operator)
        note = texts.format("console.compensated", code=given.code, remaining=given.remaining)
        if given.running_low:
            note += " " + texts.get("console.compensation_low")
        self._say(note)

    async def _intent(self, args: list[str], line: str) -> None:
        intent = args[1] if len(args) > 1 else ""
        text = await self.desk.label_intent(int(args[0]), intent, self.operator)
        self._say(self.texts.format("console.labelled", text=text[:LABELLED_SHOWN], intent=intent))


def _words(line: str) -> list[str]:
    """The command's words; quotes group words where they pair up."""
    try:
        return shlex.split(line) if line.count('"') % 2 == 0 else line.split()
    except ValueError:  # a lone backslash or quote shlex cannot read
        return line.split()


def _has(needs: int, args: list[str]) -> bool:
    if needs == NOTHING:
        return True
    has_ticket = bool(args) and args[0].isdigit()
    return has_ticket and (needs == TICKET or len(args) > 1)


def _text_after_ticket(line: str) -> str:
    """`/reply N the text` → "the text", as typed (quotes, spaces and all)."""
    return line.split(maxsplit=2)[2]
