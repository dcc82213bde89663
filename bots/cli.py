"""`supportbot`: the command line.

supportbot              start the messengers whose tokens are set, else the console chat
supportbot run          start the messengers (same as `python -m bots`)
supportbot chat         offline console chat: customer and operator in one terminal
supportbot classify     one message per line on stdin → `intent<TAB>confidence`
supportbot eval FILE    accuracy, macro-F1, the shares answered wrongly / sent to
                        clarification, per-intent precision/recall, confusions, and the
                        four outcomes as the bot acts; --from-picks: on the bot's own labels;
                        FILE.yaml: conversations (the outcome of each one's last message)
supportbot report       KPIs for a period (the table in the operators' language)
supportbot unrecognized what the bot did not understand
supportbot train        retrain on the shipped phrases and operators' labels
supportbot forget telegram:ID | vk:ID, export …, erasures   personal data (privacy_cli.py)
supportbot bans         blocked customers: who blocked them, when and why

A database that cannot be opened (or reached: commands try once) is one line on stderr
and exit code 2, like a misconfiguration.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from bots import abuse_cli, privacy_cli
from bots.startup import CONFIG_EXIT, refusal, report_problems, settings_and_logging
from config.settings import Settings

if TYPE_CHECKING:  # imported lazily at run time: `supportbot --help` stays quick
    from core.knowledge.base import KnowledgeBase
    from core.knowledge.texts import Texts
    from core.nlu import IntentClassifier

DEFAULT_EVAL = Path(__file__).resolve().parent.parent / "tests" / "data" / "nlu_eval.tsv"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="supportbot", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("run", help="start the Telegram and VK bots whose tokens are set")
    chat = sub.add_parser("chat", help="offline console chat on the same database")
    chat.add_argument("--user", default="console-user", help="the console customer's id")
    sub.add_parser("classify", help="classify stdin lines: intent<TAB>confidence")
    ev = sub.add_parser(
        "eval",
        help="the classifier and the bot's four outcomes on intent<TAB>text lines "
        "(or on the conversations of a .yaml file)",
    )
    ev.add_argument("file", type=Path, nargs="?")
    ev.add_argument(
        "--errors",
        action="store_true",
        help="list every misclassified message and the messages of each outcome",
    )
    ev.add_argument(
        "--from-picks",
        action="store_true",
        help="score on the bot's own traffic: customers' picks and operators' /intent labels",
    )
    ev.add_argument(
        "--threshold",
        type=float,
        default=None,
        help="answer threshold: below it the bot asks a clarifying question (default 0.5)",
    )
    _report_arguments(sub.add_parser("report", help="support KPIs for a period"))
    unr = sub.add_parser("unrecognized", help="what the bot did not understand")
    unr.add_argument("--limit", type=int, default=50)
    tr = sub.add_parser("train", help="retrain the classifier and print the evaluation")
    tr.add_argument(
        "--eval",
        dest="eval_file",
        type=Path,
        default=DEFAULT_EVAL,
        help="held-out intent<TAB>text file for the before/after evaluation",
    )
    tr.add_argument("--quiet", action="store_true", help="train only, print one line")
    privacy_cli.add_parsers(sub)  # forget, export, erasures
    abuse_cli.add_parsers(sub)
    return parser


def _report_arguments(rep: argparse.ArgumentParser) -> None:
    rep.add_argument("--since", required=True, help="first day, YYYY-MM-DD")
    rep.add_argument("--until", help="last day (inclusive), YYYY-MM-DD; default: today")
    rep.add_argument("--format", choices=("table", "csv", "json"), default="table")
    rep.add_argument(
        "--all-days", action="store_true", help="list days without cases too (hidden by default)"
    )
    rep.add_argument(
        "--repeat-days",
        type=int,
        default=None,
        help="a new case within this many days counts as a repeat contact (default: "
        "KPI_REPEAT_DAYS, 7)",
    )


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = settings_and_logging()
    if settings is None:
        return CONFIG_EXIT
    if args.command == "train" and args.quiet:
        logging.getLogger().setLevel(logging.ERROR)  # one result line and nothing else
    command = args.command or (
        "run" if settings.telegram_enabled or settings.vk_enabled else "chat"
    )
    try:
        return COMMANDS[command](settings, args)
    except Exception as exc:  # a database or a knowledge base that refuses: one line
        line = refusal(exc)
        if line is None:
            raise
        report_problems([line])
        return CONFIG_EXIT


def _classify(settings: Settings, args: argparse.Namespace) -> int:
    return classify(settings)


def _evaluate(settings: Settings, args: argparse.Namespace) -> int:
    if args.from_picks:
        return asyncio.run(evaluate_traffic(settings))
    if args.file is None:
        print("supportbot eval: give FILE.tsv or --from-picks", file=sys.stderr)
        return CONFIG_EXIT
    if args.file.suffix in (".yaml", ".yml"):
        return evaluate_scenarios(settings, args.file, args.errors)
    return evaluate_file(settings, args.file, args.errors, args.threshold)


def _report(settings: Settings, args: argparse.Namespace) -> int:
    return asyncio.run(
        report(
            settings,
            args.since,
            args.until,
            args.format,
            all_days=args.all_days,
            repeat_days=args.repeat_days,
        )
    )


def _unrecognized(settings: Settings, args: argparse.Namespace) -> int:
    return asyncio.run(list_unrecognized(settings, args.limit))


def _train(settings: Settings, args: argparse.Namespace) -> int:
    from core.nlu.dataset import load_tsv

    held_out = load_tsv(args.eval_file) if args.eval_file.exists() else []
    return asyncio.run(train(settings, args.eval_file.name, held_out, args.quiet))


def _chat(settings: Settings, args: argparse.Namespace) -> int:
    if not args.command:
        print(_desk_texts(settings).get("command_line.no_messengers") + "\n")
    try:
        return asyncio.run(chat_console(settings, getattr(args, "user", "console-user")))
    except KeyboardInterrupt:  # Ctrl+C before the chat took over the terminal
        print(file=sys.stderr)
        return 130


def _run(settings: Settings, args: argparse.Namespace) -> int:
    from bots.main import run_bots

    return run_bots(settings)


COMMANDS: dict[str, Callable[[Settings, argparse.Namespace], int]] = {
    "classify": _classify,
    "eval": _evaluate,
    "report": _report,
    "unrecognized": _unrecognized,
    "train": _train,
    "chat": _chat,
    "run": _run,
    **dict.fromkeys(privacy_cli.COMMANDS, privacy_cli.run),  # personal data
    **abuse_cli.COMMANDS,
}


def _bot_model(settings: Settings) -> IntentClassifier:
    """The same model the bots run (shipped phrases + knowledge base + operators' labels)."""
    from core.app import bot_classifier, classifier_for
    from core.knowledge.base import KnowledgeBase
    from core.storage import Storage

    kb = KnowledgeBase.load(Path(settings.knowledge_dir))

    async def load() -> IntentClassifier:
        try:
            storage = await Storage.open(settings.database_url)
        except Exception as exc:  # no database here: the shipped model still classifies
            logging.getLogger(__name__).warning("database not available (%s): no labels", exc)
            return classifier_for(settings, kb)
        try:
            return await bot_classifier(settings, storage, kb)
        finally:
            await storage.close()

    return asyncio.run(load())


def classify(settings: Settings) -> int:
    classifier = _bot_model(settings)
    out = sys.stdout
    for line in sys.stdin:
        prediction = classifier.predict(line.rstrip("\n"))
        out.write(f"{prediction.intent}\t{prediction.confidence:.3f}\n")
        out.flush()
    return 0


def evaluate_file(
    settings: Settings, path: Path, show_errors: bool, threshold: float | None = None
) -> int:
    from core.nlu.dataset import load_tsv
    from core.nlu.evaluate import ANSWER_THRESHOLD, evaluate, format_report
    from core.reports.nlu_outcomes import act_on, format_messages, format_outcomes

    try:
        examples = load_tsv(path)
    except (OSError, ValueError) as exc:
        print(f"Cannot read {path}: {exc}", file=sys.stderr)
        return 2
    if threshold is not None and not 0.0 <= threshold <= 1.0:
        print(f"--threshold must be between 0 and 1, not {threshold}", file=sys.stderr)
        return 2
    logging.getLogger("supportbot.turns").setLevel(logging.WARNING)  # one line a message
    model = _bot_model(settings)
    result = evaluate(model, examples, ANSWER_THRESHOLD if threshold is None else threshold)
    print(format_report(result))
    if show_errors:
        print("\nerrors (true → predicted: text (confidence)):")
        for truth, predicted, confidence, text in result.errors_with_confidence:
            print(f"  {truth} → {predicted}: {text} ({confidence:.2f})")
    acted = asyncio.run(act_on(settings, model, examples))
    print("\n" + format_outcomes(acted, "as the bot acts (each message a new customer's first):"))
    if show_errors:
        print("\n" + format_messages(acted))
    return 0


def evaluate_scenarios(settings: Settings, path: Path, show_messages: bool) -> int:
    """The four outcomes of each conversation's last message (`core.reports.nlu_scenarios`)."""
    import yaml

    from core.reports.nlu_outcomes import format_messages, format_outcomes
    from core.reports.nlu_scenarios import act_on_scenarios, load_scenarios

    try:
        scenarios = load_scenarios(path)
    except (OSError, ValueError, yaml.YAMLError) as exc:
        print(f"Cannot read {path}: {exc}", file=sys.stderr)
        return 2
    logging.getLogger("supportbot.turns").setLevel(logging.WARNING)
    try:
        acted = asyncio.run(act_on_scenarios(settings, _bot_model(settings), scenarios))
    except ValueError as exc:  # a context turn that cannot be played (no case to close)
        print(f"{path}: {exc}", file=sys.stderr)
        return 2
    print(format_outcomes(acted, "as the bot acts on each conversation's last message:"))
    if show_messages:
        print("\n" + format_messages(acted))
    return 0


async def evaluate_traffic(settings: Settings) -> int:
    from core.knowledge.base import KnowledgeBase
    from core.reports.nlu_traffic import format_traffic, score_traffic
    from core.runtime.opening import open_storage

    kb = KnowledgeBase.load(Path(settings.knowledge_dir))
    storage = await open_storage(settings.database_url)
    try:
        scores = await score_traffic(settings, storage, kb)
    finally:
        await storage.close()
    print(format_traffic(scores))
    return 0


def _day(value: str, zone: str, end: bool = False) -> float:
    from datetime import date, datetime, time, timedelta
    from zoneinfo import ZoneInfo

    day = date.fromisoformat(value)
    if end:
        day += timedelta(days=1)
    return datetime.combine(day, time(0, 0), tzinfo=ZoneInfo(zone)).timestamp()


async def report(
    settings: Settings,
    since: str,
    until: str | None,
    fmt: str,
    *,
    all_days: bool = False,
    repeat_days: int | None = None,
) -> int:
    import time as _time
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from core.knowledge.base import KnowledgeBase
    from core.reports import export, kpi
    from core.runtime.opening import open_storage

    zone = settings.timezone
    last = until or datetime.now(ZoneInfo(zone)).date().isoformat()
    try:
        start = _day(since, zone)
        end = _day(last, zone, end=True)
    except ValueError:
        bad = since if not _is_day(since) else last
        print(
            f"Not a date: {bad!r}. Dates are YYYY-MM-DD, e.g. --since 2026-11-01", file=sys.stderr
        )
        return 2
    if end <= start:
        print(f"--since {since} is after --until {last}: nothing to report", file=sys.stderr)
        return 2
    days = repeat_days if repeat_days is not None else settings.kpi_repeat_days
    if days < 1:
        print("--repeat-days must be 1 or more", file=sys.stderr)
        return 2
    storage = await open_storage(settings.database_url)
    try:
        result = await kpi.compute(storage, start, end, _time.time(), zone, repeat_days=days)
    finally:
        await storage.close()
    if fmt == "csv":
        text = export.as_csv(result, all_days=all_days)
    elif fmt == "json":
        text = export.as_json(result, zone, all_days=all_days)
    else:
        desk = KnowledgeBase.load(Path(settings.knowledge_dir)).desk
        text = export.as_table(result, desk, zone, all_days=all_days)
    print(text.rstrip("\n"))
    return 0


def _is_day(value: str) -> bool:
    from datetime import date

    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


async def list_unrecognized(settings: Settings, limit: int) -> int:
    from core.app import bot_classifier
    from core.knowledge.base import KnowledgeBase
    from core.runtime.learning import unrecognized
    from core.runtime.opening import open_storage

    storage = await open_storage(settings.database_url)
    try:
        kb = KnowledgeBase.load(Path(settings.knowledge_dir))
        classifier = await bot_classifier(settings, storage, kb)
        groups = await unrecognized(
            storage, classifier.normalizer, settings.nlu_min_confidence, limit
        )
    finally:
        await storage.close()
    if not groups:
        print("Nothing unrecognized yet.")
        return 0
    print("count\tintent\tconfidence\tmessage")
    for group in groups:
        confidence = "" if group.confidence is None else f"{group.confidence:.2f}"
        print(f"{group.count}\t{group.intent}\t{confidence}\t{group.example}")
    return 0


def current_model(settings: Settings, kb: KnowledgeBase) -> IntentClassifier:
    """The model running bots use now (the published one), else the shipped phrases'."""
    from core.app import classifier_for, models_dir
    from core.nlu import IntentClassifier, published

    key = published(models_dir(settings))
    if key:
        model = IntentClassifier.load(models_dir(settings) / f"intent-model-{key}.pkl")
        if model is not None:
            return model
    return classifier_for(settings, kb)


async def train(
    settings: Settings, eval_name: str, held_out: list[tuple[str, str]], quiet: bool
) -> int:
    """Retrain; progress goes to stderr (none with --quiet), results to stdout."""
    from bots.progress import Progress
    from core.knowledge.base import KnowledgeBase
    from core.nlu.evaluate import evaluate
    from core.runtime.learning import retrain
    from core.runtime.opening import open_storage

    progress = Progress(quiet=quiet)
    kb = KnowledgeBase.load(Path(settings.knowledge_dir))
    storage = await open_storage(settings.database_url)
    try:
        labelled = await storage.labels.examples()
        progress.say(f"operators' labels to learn from: {len(labelled)}")
        before = None
        if not quiet:
            async with progress.step("loading the model in use"):
                before = await asyncio.to_thread(current_model, settings, kb)
        async with progress.step("training the new model"):
            after = await retrain(
                storage, Path(settings.nlu_dir), Path(settings.data_dir) / "models", kb.all_texts()
            )
    finally:
        await storage.close()
    if quiet or before is None:
        print(f"model {after.fingerprint} trained on shipped phrases + {len(labelled)} labels")
        return 0
    print(f"operators' labels: {len(labelled)}")
    sets = [(f"held-out {eval_name}", held_out), ("labelled messages", labelled)]
    for name, examples in sets:
        if not examples:
            continue
        async with progress.step(f"evaluating on {name} ({len(examples)})"):
            old = await asyncio.to_thread(evaluate, before, examples)
            new = await asyncio.to_thread(evaluate, after, examples)
        print(
            f"{name} ({len(examples)}): accuracy {old.accuracy:.3f} → {new.accuracy:.3f}, "
            f"macro-F1 {old.macro_f1:.3f} → {new.macro_f1:.3f}"
        )
    if labelled:
        print(
            "(the labelled messages are in the new model's training data: its score on them "
            "is optimistic)"
        )
    print(f"new model {after.fingerprint} published; running bots switch to it within a minute")
    return 0


async def chat_console(settings: Settings, user_id: str) -> int:
    from bots.console import ConsoleChat
    from core.app import build_core

    # The chat is the screen: only warnings and errors interleave with it (DEBUG if asked).
    root = logging.getLogger()
    if root.level < logging.WARNING and settings.log_level.upper() != "DEBUG":
        root.setLevel(logging.WARNING)
    core = await build_core(settings)
    try:
        await ConsoleChat(core, user_id=user_id).run()
    finally:
        await core.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


def _desk_texts(settings: Settings) -> Texts:
    from core.knowledge.base import KnowledgeBase

    return KnowledgeBase.load(Path(settings.knowledge_dir)).desk
