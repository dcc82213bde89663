"""Measuring how the bot uses what a conversation already knows: short conversations
(`tests/data/nlu_scenarios.yaml`) whose context turns go through the real engine first —
an order looked up, an answer given, a case opened and closed by an operator — and
whose last message is sorted into the four outcomes of `core.reports.nlu_outcomes`.

A context turn is a message, `press <payload>` (a button), `close` (an operator closes
the customer's open case) or `wait <seconds>` (the fixed clock moves on). Each scenario
is a customer of its own on one throw-away engine.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from core.desk.roles import Operator
from core.knowledge.intents import INTENTS
from core.nlu.classifier import IntentClassifier
from core.reports.nlu_outcomes import OutcomeReport, judge_turn, scratch_core
from core.types import CONSOLE, Inbound

EVAL_OPERATOR = Operator("eval", "eval")


@dataclass(frozen=True)
class Scenario:
    context: str  # the name of its context, for the report
    turns: tuple[str, ...]  # what happens before the message
    say: str
    intent: str  # the topic the bot should act on


def load_scenarios(path: Path) -> list[Scenario]:
    """The scenarios of a YAML file (`contexts:` named turn lists, `scenarios:`); a
    scenario naming no known context, or missing its message or intent, is an error."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: expected contexts: and scenarios:")
    contexts = raw.get("contexts") or {}
    if not isinstance(contexts, dict):
        raise ValueError(f"{path}: contexts: must map names to lists of turns")
    found = []
    for number, item in enumerate(raw.get("scenarios") or (), start=1):
        if not isinstance(item, dict) or not item.get("say") or not item.get("intent"):
            raise ValueError(f"{path}: scenario {number} needs say: and intent:")
        if item["intent"] not in INTENTS:
            raise ValueError(f"{path}: scenario {number}: unknown intent {item['intent']!r}")
        name = str(item.get("context") or "")
        if name and name not in contexts:
            raise ValueError(f"{path}: scenario {number}: no context {name!r}")
        listed = contexts.get(name) or []
        if not isinstance(listed, list):
            raise ValueError(f"{path}: context {name!r} must be a list of turns")
        turns = tuple(str(turn) for turn in listed)
        found.append(Scenario(name, turns, str(item["say"]), str(item["intent"])))
    return found


async def act_on_scenarios(
    settings: Any, classifier: IntentClassifier, scenarios: Sequence[Scenario]
) -> OutcomeReport:
    """Play every scenario as a customer of its own and sort what the bot did with its
    last message."""
    acted = []
    async with scratch_core(settings, classifier) as core:
        start = core.clock.now()
        for number, scenario in enumerate(scenarios, start=1):
            core.clock.set(start)
            user = f"scenario-{number}"
            for turn in scenario.turns:
                await _play(core, user, turn)
            inbound = Inbound(CONSOLE, user, text=scenario.say, name="eval")
            replies = await core.engine.handle(inbound)
            acted.append(await judge_turn(core, inbound, scenario.intent, replies))
    return OutcomeReport(tuple(acted))


async def _play(core: Any, user: str, turn: str) -> None:
    command, _, rest = turn.partition(" ")
    if command == "press" and rest:
        await core.engine.handle(Inbound(CONSOLE, user, payload=rest.strip(), name="eval"))
    elif command == "wait" and rest.strip().isdigit():
        core.clock.set(core.clock.now() + int(rest))
    elif command == "close" and not rest:
        conv = await core.storage.conversations.find(Inbound(CONSOLE, user).customer)
        ticket = await core.storage.tickets.open_for(conv.id) if conv else None
        if ticket is None:
            raise ValueError(f"scenario turn 'close': {user} has no open case")
        await core.desk.close(ticket.id, EVAL_OPERATOR)
    else:
        await core.engine.handle(Inbound(CONSOLE, user, text=turn, name="eval"))
