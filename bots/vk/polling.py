"""Bots Long Poll without vkbottle's state file in the current directory.

vkbottle's `BotPolling` writes `./.vkbottle/bot-polling/<group>.json` after every
long-poll answer. `StatePolling` keeps that state in `VK_POLLING_STATE_DIR` when it is
set (and then resumes from the saved `ts` after a restart, so messages sent while the
bot was down are still answered), and keeps no state at all otherwise (then a restart
starts from VK's current `ts`). The file is replaced in one rename, so several processes
may share the folder.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from vkbottle import BotPolling

from core.atomic import write_atomically

log = logging.getLogger(__name__)


class StatePolling(BotPolling):
    def __init__(
        self, state_dir: Path | None, *, group_id: int | None = None, wait: int = 25
    ) -> None:
        super().__init__(group_id=group_id, wait=wait, skip_old_events=state_dir is None)
        self.state_dir = Path(state_dir) if state_dir is not None else None

    @property
    def resumes(self) -> bool:
        return self.state_dir is not None

    @property
    def ts_state_path(self) -> Path:
        if self.state_dir is None:
            raise RuntimeError("no VK polling state directory is configured")
        if self.group_id is None:
            raise RuntimeError("the polling state path needs the group id")
        return self.state_dir / f"{self.group_id}.json"

    def restore_server_ts(self, server: dict[str, Any]) -> dict[str, Any]:
        if self.state_dir is None:
            return server
        self.skip_old_events = False  # vkbottle's Bot may have reset it
        return super().restore_server_ts(server)

    def save_server_ts(self, server: dict[str, Any]) -> None:
        """Written through a temporary file of its own and renamed into place (vkbottle's
        one fixed temporary name breaks when two processes share the folder). Processes
        polling one community share the file safely: each write is whole, a restart
        resumes from the last one, and updates seen twice are dropped by their id."""
        if self.state_dir is None:
            return
        try:
            write_atomically(self.ts_state_path, json.dumps({"ts": server["ts"]}))
        except OSError as exc:
            log.warning("VK long-poll position not saved in %s: %s", self.state_dir, exc)
