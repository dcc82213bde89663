"""Which operators' group (department) gets a new case: rules from a data file.

    groups:                       # every department, with the name operators see
      main: {title: Support}
      complaints: {title: Complaints}
    rules:                        # the first rule that matches wins
      - when: {complaint: true}
        group: complaints
      - when: {intent: [payment, refund], channel: vk}
        group: payments
    default: main

(The shipped `config/routing.yaml` names them in Russian, for the operators.) A rule's
conditions all have to hold: `intent` (one name or a list, from the intent
taxonomy), `channel` (telegram, vk, console), `vip` and `complaint` (true/false). The
file is validated at start-up; a mistake is reported as one line naming the file and the
rule. Which chat each department is lives in the settings (adapters), not here: a
department without a chat of its own is served by the main group.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from core.knowledge.intents import INTENTS

MAIN = "main"
CHANNELS = ("telegram", "vk", "console")
CONDITIONS = ("intent", "channel", "vip", "complaint")


class RoutingError(ValueError):
    """The routing file is wrong; the message names the file and the place."""


@dataclass(frozen=True)
class Rule:
    group: str
    intents: frozenset[str] = frozenset()
    channels: frozenset[str] = frozenset()
    vip: bool | None = None
    complaint: bool | None = None

    def matches(self, intent: str, channel: str, vip: bool, complaint: bool) -> bool:
        return (
            (not self.intents or intent in self.intents)
            and (not self.channels or channel in self.channels)
            and (self.vip is None or self.vip == vip)
            and (self.complaint is None or self.complaint == complaint)
        )


@dataclass(frozen=True)
class Routing:
    titles: dict[str, str] = field(default_factory=lambda: {MAIN: MAIN})  # the file's titles
    rules: tuple[Rule, ...] = ()
    default: str = MAIN
    served: frozenset[str] = frozenset({MAIN})  # departments that have a chat of their own

    def group_for(self, intent: str, channel: str, vip: bool, complaint: bool) -> str:
        """The department of a new case: the first matching rule's, else the default;
        one without a chat of its own falls back to the main group."""
        chosen = next(
            (r.group for r in self.rules if r.matches(intent, channel, vip, complaint)),
            self.default,
        )
        return chosen if chosen in self.served else MAIN

    def title(self, group: str) -> str:
        return self.titles.get(group, group)

    def find(self, name: str) -> str | None:
        """A department by its key or title, as an operator types it (`/transfer vip`)."""
        wanted = name.strip().lower().lstrip("#@")
        for key, title in self.titles.items():
            if wanted in (key.lower(), title.lower()):
                return key
        return None

    def serving(self, served: frozenset[str]) -> Routing:
        """The same rules, knowing which departments have a chat."""
        return Routing(self.titles, self.rules, self.default, served | {MAIN})


def load_routing(path: Path) -> Routing:
    """Read and validate the routing file (`RoutingError` with one readable line)."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RoutingError(f"{path}: file not found") from None
    except yaml.YAMLError as exc:
        raise RoutingError(f"{path}: not valid YAML ({_one_line(exc)})") from None
    return parse_routing(raw, str(path))


def parse_routing(raw: Any, source: str = "routing") -> Routing:
    if not isinstance(raw, dict):
        raise RoutingError(f"{source}: expected a mapping with groups, rules and default")
    unknown = set(raw) - {"groups", "rules", "default"}
    if unknown:
        raise RoutingError(f"{source}: unknown keys {sorted(unknown)}")
    groups = raw.get("groups") or {}
    if not isinstance(groups, dict) or not groups:
        raise RoutingError(f"{source}: groups: expected a mapping of departments")
    titles: dict[str, str] = {}
    for key, value in groups.items():
        if not isinstance(key, str) or not key.isidentifier():
            raise RoutingError(f"{source}: groups: '{key}' is not a plain name (a-z, 0-9, _)")
        if isinstance(value, dict):
            title = value.get("title")
        elif isinstance(value, str) or value is None:
            title = value
        else:
            raise RoutingError(f"{source}: groups.{key}: expected a title")
        titles[key] = str(title or key)
    if MAIN not in titles:
        raise RoutingError(f"{source}: groups: the main group '{MAIN}' is missing")
    rules = tuple(
        _rule(entry, f"{source}: rules[{index}]", titles)
        for index, entry in enumerate(raw.get("rules") or [])
    )
    default = str(raw.get("default") or MAIN)
    if default not in titles:
        raise RoutingError(f"{source}: default: unknown group '{default}'")
    return Routing(titles, rules, default)


def _rule(entry: Any, where: str, titles: dict[str, str]) -> Rule:
    if not isinstance(entry, dict) or set(entry) - {"when", "group"}:
        raise RoutingError(f"{where}: expected 'when' and 'group'")
    group = entry.get("group")
    if group not in titles:
        raise RoutingError(f"{where}: group: unknown group '{group}'")
    when = entry.get("when") or {}
    if not isinstance(when, dict):
        raise RoutingError(f"{where}: when: expected a mapping")
    unknown = set(when) - set(CONDITIONS)
    if unknown:
        raise RoutingError(f"{where}: when: unknown conditions {sorted(unknown)}")
    intents = _names(when.get("intent"), f"{where}: when.intent")
    bad = intents - set(INTENTS)
    if bad:
        raise RoutingError(f"{where}: when.intent: unknown intents {sorted(bad)}")
    channels = _names(when.get("channel"), f"{where}: when.channel")
    bad = channels - set(CHANNELS)
    if bad:
        raise RoutingError(f"{where}: when.channel: unknown channels {sorted(bad)}")
    flags: dict[str, bool | None] = {}
    for name in ("vip", "complaint"):
        value = when.get(name)
        if value is not None and not isinstance(value, bool):
            raise RoutingError(f"{where}: when.{name}: expected true or false")
        flags[name] = value
    return Rule(str(group), intents, channels, flags["vip"], flags["complaint"])


def _names(value: Any, where: str) -> frozenset[str]:
    if value is None:
        return frozenset()
    if isinstance(value, str):
        return frozenset({value})
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return frozenset(value)
    raise RoutingError(f"{where}: expected a name or a list of names")


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:200]
