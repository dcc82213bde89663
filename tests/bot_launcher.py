"""A fork server for bot processes, so that a test can start many of them quickly.

It imports what a start of `python -m bots` imports (aiogram, the engine, scikit-learn:
about three seconds of CPU per process on this machine) and reads the read-only package
data every model needs (pymorphy3's dictionary, navec's word vectors), then waits for requests on
stdin, one JSON object a line: `{"id": …, "argv": [...], "env": {...}, "cwd": …,
"log": …}`. For each it forks a process of its own that takes that environment and
folder, sends stdout and stderr to `log`, and runs the same entry point as the command
line: `bots.main.main()` for `["run"]`, else `bots.cli.main(argv)`. Nothing of a bot's
start is shared but those modules and package data: each child reads its settings, opens its
database, loads or trains its model, writes in DATA_DIR and serves with its own pid,
event loop and connections. The launcher answers `{"id", "pid"}` when a child starts and
`{"id", "code"}` when it ends (a signal is a negative code). At the end of its input it
sends SIGTERM to the processes still running and exits when they have ended.

    python tests/bot_launcher.py   (with PYTHONPATH pointing at the repository)
"""

from __future__ import annotations

import importlib
import json
import os
import select
import signal
import sys
import traceback
from typing import Any

PRELOAD = (
    "bots.cli",
    "bots.main",
    "bots.telegram.channel",
    "core.app",
    "core.runtime.learning",
    "sklearn.feature_extraction.text",
    "sklearn.svm",  # the model's pickle refers to it
)


def preload() -> None:
    for name in PRELOAD:
        importlib.import_module(name)
    from core.nlu import lemmas, vectors

    lemmas._morph()  # the dictionary and the word vectors: read-only package data
    vectors.shared_vectors()


def child(request: dict[str, Any]) -> int:
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    log = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    argv = request["argv"]
    try:
        if argv == ["run"]:
            from bots.main import main

            return main()
        from bots.cli import main as cli

        return cli(argv)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        traceback.print_exc()
        return 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()


def answer(message: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def serve() -> None:
    children: dict[int, Any] = {}
    stdin = sys.stdin.fileno()
    buffered = b""
    open_input = True
    while open_input or children:
        ready, _, _ = select.select([stdin] if open_input else [], [], [], 0.05)
        if ready:
            chunk = os.read(stdin, 65536)
            open_input = bool(chunk)
            buffered += chunk
            if not open_input:  # the test is gone: so are the processes it started
                for pid in children:
                    os.kill(pid, signal.SIGTERM)
            while b"\n" in buffered:
                line, buffered = buffered.split(b"\n", 1)
                request = json.loads(line)
                pid = os.fork()
                if pid == 0:
                    os._exit(child(request))
                children[pid] = request["id"]
                answer({"id": request["id"], "pid": pid})
        while children:
            pid, status = os.waitpid(-1, os.WNOHANG)
            if pid == 0:
                break
            answer({"id": children.pop(pid), "code": os.waitstatus_to_exitcode(status)})


if __name__ == "__main__":
    preload()
    answer({"ready": True})
    serve()
