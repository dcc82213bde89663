"""The offline console: talk to the engine as a customer and act as an operator, with no
messenger at all, on the same database as the real bot."""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import os
import re
import shlex
import signal
import sys
import threading
from collections.abc import AsyncGenerator, Callable, Iterable, Iterator
from typing import TextIO

from core.abuse.report import blocked_notice
from core.app import Core
from core.desk.operators import OperatorError
from core.desk.roles import Operator
from core.events import (
    Assigned,
    CaseClosed,
    CaseOpened,
    ConflictMarked,
    CustomerBlocked,
    CustomerMessage,
    CustomerReply,
    Delivered,
    DeskEvent,
    LowRating,
    NotShown,
    RatingComment,
    ReplyEdited,
    SlaAlert,
    Transferred,
    Undelivered,
    render_for_customer,
    render_for_desk,
)
from core.storage import OutboxItem
from core.types import CONSOLE, OPERATORS, Inbound, Reply

HELP = """\
Вы пишете боту как клиент. Команды оператора:
  /queue                  очередь обращений
  /card N                 карточка обращения N
  /take N                 взять обращение N
  /reply N текст          ответить клиенту по обращению N
  /t N ИМЯ                отправить шаблон ответа (/t N — список шаблонов)
  /note N текст           внутренняя заметка (клиент не видит)
  /close N                закрыть обращение (клиента попросят оценить помощь)
  /reopen N               открыть обращение снова
  /vip N                  отметить клиента как VIP
  /manager N              стать персональным менеджером клиента
  /compensate N           отправить клиенту промокод-компенсацию из пула
  /intent N ТЕМА          верная тема первого сообщения клиента (для дообучения)
  /stats [today|week|month]  показатели поддержки
Клиентские команды:
  /b N                    нажать кнопку N под последним сообщением бота
  /start                  главное меню
  /help, /quit"""

# How a case's state reads for a person.
STATUS_WORDS = {"waiting": "ждёт оператора", "in_progress": "в работе", "closed": "закрыто"}
PERIODS = {"today": "Сегодня", "week": "За 7 дней", "month": "За 30 дней"}

OPERATOR = Operator("console-operator", "Оператор (консоль)")


class ConsoleChat:
    def __init__(self, core: Core, out: TextIO = sys.stdout, user_id: str = "console-user") -> None:
        self.core = core
        self.out = out
        self.user_id = user_id
        self.last_buttons: list[tuple[str, str]] = []
        self.core.delivery.register(CONSOLE, _CustomerPrinter(self))
        if not core.settings.telegram_enabled:
            # With a Telegram bot configured, its process posts console cases to the real
            # operators' group; otherwise the console shows them itself.
            self.core.delivery.register(OPERATORS, _DeskPrinter(self))

    def print(self, text: str) -> None:
        self.out.write(text + "\n")
        self.out.flush()

    async def run(self, lines: Iterable[str] | None = None) -> None:
        """Read lines until /quit, end of input (Ctrl+D) or Ctrl+C / SIGTERM. Without
        `lines`, standard input is read: bytes that are not UTF-8 (a paste cut mid-letter)
        become "\ufffd" instead of ending the chat."""
        stop = asyncio.Event()
        with _stopped_by_signals(stop) if lines is None else contextlib.nullcontext():
            self.print("Консольный чат поддержки. /help — команды, /quit — выход.")
            await self.handle_line("/start")
            source = _given(lines) if lines is not None else _stdin_lines(stop)
            async with contextlib.aclosing(source):
                async for raw in source:
                    line = clean_line(raw)
                    if line.strip() in ("/quit", "/exit"):
                        break
                    await self.handle_line(line)

    async def handle_line(self, line: str) -> None:
        stripped = line.strip()
        try:
            if stripped.startswith("/") and not stripped.startswith("/start"):
                await self._command(stripped)
            else:
                await self._as_customer(
                    Inbound(CONSOLE, self.user_id, text=line, name="Гость"),
                    welcome=stripped.startswith("/start"),
                )
        except OperatorError as exc:
            self.print(f"[оператору] {exc}")
        await self.core.delivery.idle()  # the answers are printed by the console's sender
        while await self.core.delivery.run_once():
            pass

    async def _as_customer(self, inbound: Inbound, welcome: bool = False) -> None:
        engine = self.core.engine
        await (engine.welcome(inbound) if welcome else engine.handle(inbound))

    def _show_reply(self, who: str, reply: Reply) -> None:
        self.print(f"[{who}] {reply.text}")
        # /b presses the buttons of the latest message only: a message without buttons
        # leaves nothing to press.
        self.last_buttons = [(b.id, b.title) for b in reply.flat_buttons]
        if self.last_buttons:
            listed = "  ".join(f"{n}) {title}" for n, (_, title) in enumerate(self.last_buttons, 1))
            self.print(f"       кнопки: {listed}   (/b N)")

    async def _command(self, line: str) -> None:
        parts = shlex.split(line) if line.count('"') % 2 == 0 else line.split()
        name, args = parts[0].lower(), parts[1:]
        desk = self.core.desk
        if name == "/help":
            self.print(HELP)
        elif name == "/b":
            await self._press(args)
        elif name == "/queue":
            queue = await desk.queue()
            if not queue:
                self.print("[операторам] Очередь пуста.")
            for t in queue:
                self.print(f"  №{t.id} {t.channel} {self._topic(t.intent)} приоритет {t.priority}")
        elif name == "/stats":
            await self._stats(args)
        elif name in ("/vip", "/manager", "/compensate", "/intent") and _ticket_arg(args):
            await self._case_command(name, int(args[0]), args[1:])
        elif name in ("/card", "/take", "/close", "/reopen") and _ticket_arg(args):
            ticket_id = int(args[0])
            actions: dict[str, Callable[[int, Operator], object]] = {
                "/take": desk.take,
                "/close": desk.close,
                "/reopen": desk.reopen,
            }
            if name == "/card":
                view = await desk.view(ticket_id)
                t = view.ticket
                status = STATUS_WORDS.get(t.status, t.status)
                self.print(f"[карточка №{ticket_id}] {status}, {self._topic(t.intent)}")
                for m in view.transcript:
                    self.print(f"   {m.direction}: {m.text[:200]}")
                return
            await actions[name](ticket_id, OPERATOR)  # type: ignore[misc]
            self.print(f"[операторам] {name} №{ticket_id}: готово")
        elif name in ("/reply", "/note") and _ticket_arg(args) and len(args) > 1:
            text = line.split(maxsplit=2)[2]
            if name == "/reply":
                await desk.reply(int(args[0]), OPERATOR, text)
            else:
                await desk.note(int(args[0]), OPERATOR, text)
                self.print("[операторам] заметка сохранена, клиенту не отправлена")
        elif name == "/t" and _ticket_arg(args):
            if len(args) < 2 or args[1] not in self.core.canned:
                self.print("[операторам] шаблоны: " + ", ".join(sorted(self.core.canned)))
                return
            await desk.reply(int(args[0]), OPERATOR, self.core.canned[args[1]])
        else:
            self.print("Неизвестная команда или не хватает номера обращения. /help — список.")

    def _topic(self, intent: str) -> str:
        answer = self.core.kb.answers.get(intent)
        return answer.title if answer is not None else intent

    async def _stats(self, args: list[str]) -> None:
        from core.reports import kpi, summary

        name = (args[0] if args else "today").lower()
        if name not in PERIODS:
            self.print("[операторам] Период: /stats today, /stats week или /stats month.")
            return
        settings = self.core.settings
        now = self.core.clock.now()
        since, until = kpi.period(name, now, settings.timezone)
        report = await kpi.compute(
            self.core.storage, since, until, now, settings.timezone, settings.kpi_repeat_days
        )
        self.print(summary.summary_text(report, PERIODS[name], self.core.kb.desk))

    async def _case_command(self, name: str, ticket_id: int, rest: list[str]) -> None:
        desk = self.core.desk
        if name == "/vip":
            await desk.mark_vip(ticket_id, OPERATOR)
            self.print("[операторам] Клиент отмечен как VIP: его обращения — первыми в очереди.")
        elif name == "/manager":
            await desk.set_manager(ticket_id, OPERATOR)
            self.print(f"[операторам] {OPERATOR.name} — персональный менеджер клиента.")
        elif name == "/compensate":
            given = await self.core.compensation.give(ticket_id, OPERATOR)
            note = f"Промокод {given.code} отправлен клиенту. В пуле осталось: {given.remaining}."
            if given.running_low:
                note += " Промокоды заканчиваются — пополните пул."
            self.print(f"[операторам] {note}")
        else:
            intent = rest[0] if rest else ""
            text = await desk.label_intent(ticket_id, intent, OPERATOR)
            self.print(f"[операторам] Запомнил: «{text[:100]}» — это {intent}.")

    async def _press(self, args: list[str]) -> None:
        if not self.last_buttons:
            self.print("Нажимать нечего: у последнего сообщения бота нет кнопок.")
            return
        if not args or not args[0].isdigit() or not 1 <= int(args[0]) <= len(self.last_buttons):
            self.print("Нет такой кнопки. Номера кнопок — под последним сообщением бота.")
            return
        button_id, title = self.last_buttons[int(args[0]) - 1]
        self.print(f"[вы нажали] {title}")
        await self._as_customer(Inbound(CONSOLE, self.user_id, payload=button_id, name="Гость"))


_SURROGATES = re.compile("[\ud800-\udfff]")


def clean_line(raw: str) -> str:
    """A line as the engine may store it: no newline, no lone surrogates."""
    return _SURROGATES.sub("\ufffd", raw.rstrip("\r\n"))


async def _given(lines: Iterable[str]) -> AsyncGenerator[str, None]:
    for line in lines:
        yield line


@contextlib.contextmanager
def _stopped_by_signals(stop: asyncio.Event) -> Iterator[None]:
    """Ctrl+C (SIGINT) and SIGTERM set `stop` instead of raising KeyboardInterrupt."""
    loop = asyncio.get_running_loop()
    installed = []
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signum, stop.set)
            installed.append(signum)
    try:
        yield
    finally:
        for signum in installed:
            loop.remove_signal_handler(signum)


async def _stdin_lines(stop: asyncio.Event, fd: int = 0) -> AsyncGenerator[str, None]:
    """Lines of standard input, read by a daemon thread so that `stop` (Ctrl+C) ends the
    chat at once, even while waiting for a line; Ctrl+D (end of input) ends it too."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[str | None] = asyncio.Queue()

    def post(item: str | None) -> bool:
        try:
            loop.call_soon_threadsafe(queue.put_nowait, item)
        except RuntimeError:  # the chat is over and its loop closed
            return False
        return True

    def reader() -> None:
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        pending = ""
        while True:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                chunk = b""
            pending += decoder.decode(chunk, final=not chunk)
            *complete, pending = pending.split("\n")
            for line in complete:
                if not post(line):
                    return
            if not chunk:
                if pending:
                    post(pending)
                post(None)
                return

    with contextlib.suppress(AttributeError, ValueError):
        sys.stdout.reconfigure(errors="replace")  # type: ignore[union-attr]
    threading.Thread(target=reader, name="console-input", daemon=True).start()
    stopper = asyncio.ensure_future(stop.wait())
    try:
        while not stop.is_set():
            getter = asyncio.ensure_future(queue.get())
            await asyncio.wait({getter, stopper}, return_when=asyncio.FIRST_COMPLETED)
            if stop.is_set():
                getter.cancel()
                break
            line = getter.result()
            if line is None:
                break
            yield line
    finally:
        stopper.cancel()
        print("\nДо свидания!", flush=True)


def _ticket_arg(args: list[str]) -> bool:
    return bool(args) and args[0].isdigit()


class _CustomerPrinter:
    """The console customer's messages (`core.events.CustomerRenderer`)."""

    def __init__(self, chat: ConsoleChat) -> None:
        self.chat = chat

    async def send(self, item: OutboxItem) -> None:
        await render_for_customer(self, item)

    async def reply(self, item: OutboxItem, event: CustomerReply) -> None:
        self.chat._show_reply("бот" if event.from_bot else "клиенту", event.reply)

    async def reply_edited(self, item: OutboxItem, event: ReplyEdited) -> None:
        self.chat._show_reply("клиенту", event.correction)


class _DeskPrinter:
    """What the operators' group would show, as lines (`core.events.DeskRenderer`)."""

    def __init__(self, chat: ConsoleChat) -> None:
        self.chat = chat

    async def send(self, item: OutboxItem) -> None:
        await render_for_desk(self, item)

    def _say(self, event: DeskEvent, text: str) -> None:
        self.chat.print(f"[операторам] №{event.ticket_id}: {text}")

    async def case_opened(self, item: OutboxItem, event: CaseOpened) -> None:
        t = (await self.chat.core.desk.view(event.ticket_id)).ticket
        self.chat.print(
            f"[операторам] Новое обращение №{t.id}: {self.chat._topic(t.intent)}, "
            f"заказ {t.order_number or '—'}, приоритет {t.priority}"
            f"{', VIP' if t.vip else ''}. Ответ: /reply {t.id} текст"
        )

    async def customer_message(self, item: OutboxItem, event: CustomerMessage) -> None:
        self.chat.print(f"[операторам] №{event.ticket_id} клиент: {event.text}")

    async def case_closed(self, item: OutboxItem, event: CaseClosed) -> None:
        self.chat.print(f"[операторам] №{event.ticket_id} закрыто ({event.by})")

    async def delivered(self, item: OutboxItem, event: Delivered) -> None:
        self._say(event, "ответ доставлен клиенту")

    async def undelivered(self, item: OutboxItem, event: Undelivered) -> None:
        self._say(event, f"не доставлено клиенту: {event.reason}")

    async def not_shown(self, item: OutboxItem, event: NotShown) -> None:
        self._say(event, f"сообщение не удалось показать ({event.reason}): {event.text}")

    async def low_rating(self, item: OutboxItem, event: LowRating) -> None:
        self._say(event, f"клиент оценил помощь на {event.rating} из 5 — нужна реакция старшего")

    async def rating_comment(self, item: OutboxItem, event: RatingComment) -> None:
        self._say(event, f"комментарий к оценке: {event.text}")

    async def conflict(self, item: OutboxItem, event: ConflictMarked) -> None:
        self._say(event, "клиент перешёл на грубость, обращение отмечено как конфликтное")

    async def assigned(self, item: OutboxItem, event: Assigned) -> None:
        self._say(event, f"обращение ведёт {event.to_name} (назначил(а) {event.by})")

    async def transferred(self, item: OutboxItem, event: Transferred) -> None:
        self._say(event, f"обращение передано в группу «{event.to}» ({event.by})")

    async def sla_alert(self, item: OutboxItem, event: SlaAlert) -> None:
        self._say(event, f"срок обслуживания: {event.target} ({event.level})")

    async def customer_blocked(self, item: OutboxItem, event: CustomerBlocked) -> None:
        self._say(event, blocked_notice(self.chat.core.kb.desk, event))
