"""Issue 23, the pieces: files in DATA_DIR written by several processes at once.

`publish` wrote the model pointer through one fixed temporary name (`current-model.tmp`),
so two processes publishing together renamed each other's file away (FileNotFoundError
at start); and it removed every cached model but two, among them one another process had
just trained and was about to publish. The VK long-poll position had the same fixed
temporary name (vkbottle's). Here each is hammered from many workers at once.
"""

from __future__ import annotations

import json
import os
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

from core.atomic import filesystem_now, read_and_touch, remove_stale, write_atomically
from core.nlu import CURRENT, MODEL_GRACE_SECONDS, publish, published

ROUNDS = 300


def publish_many(folder: str, worker: int) -> int:
    for n in range(ROUNDS):
        publish(Path(folder), f"key{worker}-{n}")
    return worker


def test_many_processes_publish_at_once(tmp_path):
    """Four processes × 300 publishes into one folder: no error, a whole pointer, no
    temporary file left behind."""
    with ProcessPoolExecutor(4) as pool:
        done = list(pool.map(publish_many, [str(tmp_path)] * 4, range(4)))
    assert done == [0, 1, 2, 3]
    key = published(tmp_path)
    assert key is not None and key.endswith(f"-{ROUNDS - 1}")
    assert sorted(p.name for p in tmp_path.iterdir()) == [CURRENT]


def test_threads_write_one_file_at_once(tmp_path):
    target = tmp_path / "state.json"

    def write(worker: int) -> None:
        for n in range(ROUNDS):
            write_atomically(target, json.dumps({"ts": f"{worker}-{n}"}))
            json.loads(target.read_text())  # always whole

    with ThreadPoolExecutor(6) as pool:
        list(pool.map(write, range(6)))
    assert list(tmp_path.iterdir()) == [target]


def test_a_fresh_model_of_another_process_is_kept(tmp_path):
    """Process A trained model K and is about to publish it; B publishes J meanwhile."""
    trained = tmp_path / "intent-model-K.pkl"
    trained.write_bytes(b"K")
    for key in ("I", "J"):
        (tmp_path / f"intent-model-{key}.pkl").write_bytes(key.encode())
        publish(tmp_path, key)
    assert trained.exists()  # before: removed as "neither current nor previous"
    assert read_and_touch(trained) == b"K"


def test_models_unused_for_the_grace_period_are_removed(tmp_path):
    names = ["old", "previous", "read-lately"]
    for name in names:
        (tmp_path / f"intent-model-{name}.pkl").write_bytes(name.encode())
    long_ago = filesystem_now(tmp_path) - MODEL_GRACE_SECONDS - 60  # the files' own clock
    for name in names:
        os.utime(tmp_path / f"intent-model-{name}.pkl", (long_ago, long_ago))
    read_and_touch(tmp_path / "intent-model-read-lately.pkl")  # a process loading it now
    (tmp_path / ".current-model.txt.x1.partial").write_text("left by a crash")
    os.utime(tmp_path / ".current-model.txt.x1.partial", (long_ago, long_ago))
    publish(tmp_path, "previous")
    (tmp_path / "intent-model-current.pkl").write_bytes(b"current")
    publish(tmp_path, "current")
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == [
        CURRENT,
        "intent-model-current.pkl",
        "intent-model-previous.pkl",
        "intent-model-read-lately.pkl",
    ]


def test_remove_stale_leaves_what_is_gone_or_fresh(tmp_path):
    fresh = tmp_path / "fresh"
    fresh.write_text("x")
    remove_stale([fresh, tmp_path / "gone"], older_than=60)
    assert fresh.exists()


def test_ages_are_read_on_the_filesystems_clock(tmp_path, monkeypatch):
    """A file is as old as the filesystem says, whatever the process's clock: a process
    whose clock runs days ahead (a fake time, a skewed machine on a shared folder) does
    not take a file another process has just written for a stale one."""
    fresh = tmp_path / "fresh"
    fresh.write_text("x")
    assert abs(filesystem_now(tmp_path) - fresh.stat().st_mtime) < 60
    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() + 4 * 86400)  # this process's clock
    remove_stale([fresh], older_than=60)
    assert fresh.exists()
    monkeypatch.undo()
    remove_stale([fresh], older_than=60, now=fresh.stat().st_mtime + 4 * 86400)
    assert not fresh.exists()  # the same file, judged by a clock four days ahead
    assert not list(tmp_path.glob("*.probe"))  # the probe is not left behind


def test_vk_position_written_by_several_pollers(tmp_path):
    """Two pollers of one community sharing DATA_DIR/vk-polling: whole writes, no error."""
    from bots.vk.polling import StatePolling

    pollers = [StatePolling(tmp_path, group_id=1001) for _ in range(4)]

    def poll(worker: int) -> None:
        for n in range(ROUNDS):
            pollers[worker].save_server_ts({"ts": str(n)})

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(poll, range(4)))
    state = json.loads((tmp_path / "1001.json").read_text())
    assert state == {"ts": str(ROUNDS - 1)}
    assert pollers[0].restore_server_ts({"ts": "0"}) == {"ts": str(ROUNDS - 1)}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["1001.json"]
