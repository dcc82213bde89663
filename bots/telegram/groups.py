"""The operators' groups: which Telegram chat serves which department (`core.routing`).

`OPERATORS_CHAT_ID` is the main group; `OPERATOR_GROUPS` names the others. Each group has
its own topics, its own queue and its own post budget.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from core.desk.routing import MAIN, Routing


@dataclass(frozen=True)
class Groups:
    main: int
    by_department: dict[str, int] = field(default_factory=dict)
    routing: Routing = field(default_factory=Routing)

    @classmethod
    def from_settings(cls, settings: Any, routing: Routing | None) -> Groups:
        chats = {MAIN: int(settings.operators_chat_id)}
        chats.update({k: int(v) for k, v in (settings.operator_groups or {}).items()})
        return cls(int(settings.operators_chat_id), chats, routing or Routing())

    @property
    def chats(self) -> frozenset[int]:
        return frozenset(self.by_department.values())

    def chat_for(self, department: str | None) -> int:
        """The group of a department (the main group for one without a group of its own)."""
        return self.by_department.get(department or MAIN, self.main)

    def department_of(self, chat_id: int) -> str:
        for department, chat in self.by_department.items():
            if chat == chat_id:
                return department
        return MAIN

    def title(self, department: str) -> str:
        return self.routing.title(department)

    def served(self, department: str) -> bool:
        return department in self.by_department
