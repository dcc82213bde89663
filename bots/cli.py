"""`supportbot`: the command line.

supportbot              start the messengers whose tokens are set, else the console chat
supportbot run          start the messengers (same as `python -m bots`)
supportbot chat         offline console chat: customer and operator in one terminal
supportbot classify     one message per line on stdin → `intent<TAB>confidence`
supportbot eval FILE    accuracy, macro-F1, per-intent precision/recall, confusions
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

from config.settings import Settings, SettingsError, load_settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="supportbot", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("run", help="start the Telegram and VK bots whose tokens are set")
    chat = sub.add_parser("chat", help="offline console chat on the same database")
    chat.add_argument("--user", default="console-user", help="the console customer's id")
    sub.add_parser("classify", help="classify stdin lines: intent<TAB>confidence")
    ev = sub.add_parser("eval", help="evaluate the classifier on intent<TAB>text lines")
    ev.add_argument("file", type=Path)
    ev.add_argument("--errors", action="store_true", help="list every misclassified message")
    args = parser.parse_args(argv)

    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"Configuration error: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    command = args.command or (
        "run" if settings.telegram_enabled or settings.vk_enabled else "chat"
    )
    if command == "classify":
        return classify(settings)
    if command == "eval":
        return evaluate_file(settings, args.file, args.errors)
    if command == "chat":
        if not args.command:
            print("Токены мессенджеров не заданы — открываю офлайн-чат в консоли.\n")
        return asyncio.run(chat_console(settings, getattr(args, "user", "console-user")))
    from bots.main import run_bots

    return run_bots(settings)


def classify(settings: Settings) -> int:
    from core.app import classifier_for

    classifier = classifier_for(settings)
    out = sys.stdout
    for line in sys.stdin:
        prediction = classifier.predict(line.rstrip("\n"))
        out.write(f"{prediction.intent}\t{prediction.confidence:.3f}\n")
        out.flush()
    return 0


def evaluate_file(settings: Settings, path: Path, show_errors: bool) -> int:
    from core.app import classifier_for
    from core.nlu.dataset import load_tsv
    from core.nlu.evaluate import evaluate, format_report

    try:
        examples = load_tsv(path)
    except (OSError, ValueError) as exc:
        print(f"Cannot read {path}: {exc}", file=sys.stderr)
        return 2
    result = evaluate(classifier_for(settings), examples)
    print(format_report(result))
    if show_errors:
        print("\nerrors (true → predicted: text):")
        for truth, predicted, text in result.errors:
            print(f"  {truth} → {predicted}: {text}")
    return 0


async def chat_console(settings: Settings, user_id: str) -> int:
    from bots.console import ConsoleChat
    from core.app import build_core

    core = await build_core(settings)
    try:
        await ConsoleChat(core, user_id=user_id).run()
    finally:
        await core.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
