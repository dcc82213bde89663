"""Start-up time: from launching `python -m bots` to its first getUpdates call, measured at
the fake Bot API (127.0.0.1), in polling mode with the intent model already cached (as on
every restart after the first). Each run starts a fresh process on the same data folder,
waits for its first poll, then stops it with SIGTERM (and checks it exits 0).

    .venv/bin/python bench/startup_bench.py [--runs 7] [--repo PATH] [--repo-b PATH]

`--repo PATH` runs the bot from another source tree (e.g. an older commit unpacked with
`git archive`) with this venv; with `--repo-b` the two trees run in turn (A B A B …) and
the per-pair ratio A/B is printed as well — both measured side by side in one run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fakes.telegram_api import FakeTelegramAPI  # noqa: E402

TOKEN = "123456789:AAHk-startup_bench_token_0000000000"
OPS = -1009000000001  # the operators' group: a Telegram bot does not start without one


async def one_start(fake: FakeTelegramAPI, repo: Path, data: Path) -> float:
    """Seconds from spawning the process to its first getUpdates request."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TELEGRAM_", "VK_", "DATABASE_", "DATA_", "HEALTH_"))
    }
    env.update(
        PYTHONPATH=str(repo),
        TELEGRAM_BOT_TOKEN=fake.token,
        TELEGRAM_API_URL=fake.base_url,
        OPERATORS_CHAT_ID=str(OPS),
        DATABASE_URL=f"sqlite:///{data}/support.db",
        DATA_DIR=str(data),
        LOG_LEVEL="WARNING",
    )
    before = len(fake.calls("getUpdates"))
    started = time.perf_counter()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bots",
        cwd=data,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        await fake.wait_for("getUpdates", count=before + 1, timeout=180)
        elapsed = time.perf_counter() - started
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(process.communicate(), 60)
    if process.returncode != 0:
        raise SystemExit(f"the bot exited with {process.returncode}:\n{err.decode()}")
    return elapsed


def summary(name: str, values: list[float]) -> str:
    return (
        f"{name}: median {statistics.median(values):.2f} s "
        f"(min {min(values):.2f}, max {max(values):.2f}, {len(values)} runs)"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--repo", type=Path, default=ROOT, help="source tree A (default: this)")
    parser.add_argument("--repo-b", type=Path, help="source tree B, run in turn with A")
    args = parser.parse_args()
    trees = [args.repo.resolve()] + ([args.repo_b.resolve()] if args.repo_b else [])
    results: dict[Path, list[float]] = {tree: [] for tree in trees}
    async with FakeTelegramAPI(token=TOKEN) as fake:
        fake.add_chat(OPS, is_forum=True)
        with tempfile.TemporaryDirectory() as tmp:
            folders = {tree: Path(tmp) / f"tree{i}" for i, tree in enumerate(trees)}
            for tree, folder in folders.items():
                folder.mkdir()
                await one_start(fake, tree, folder)  # warm-up: trains and caches the model
            for _ in range(args.runs):
                for tree in trees:
                    results[tree].append(await one_start(fake, tree, folders[tree]))
    print("launch → first getUpdates (Telegram polling, model cached, fake Bot API):")
    for index, tree in enumerate(trees):
        print("  " + summary(f"{'AB'[index]} {tree}", results[tree]))
    if args.repo_b:
        a, b = results[trees[0]], results[trees[1]]
        ratios = [x / y for x, y in zip(a, b, strict=True)]
        print(
            f"  ratio A/B per pair: median {statistics.median(ratios):.2f} "
            f"(min {min(ratios):.2f}, max {max(ratios):.2f})"
        )


if __name__ == "__main__":
    asyncio.run(main())
