"""Top costs in py-spy's collapsed stacks (`py-spy record --format raw --nolineno`).

Each line of the input is `frame;frame;...;frame samples`, a frame `function (file)`;
py-spy records only threads that are running, so a share of samples is a share of the
process's CPU (samples ending in a known wait, which py-spy sometimes counts as running,
are left out). Printed: the functions of this repository (`core/`, `bots/`, `config/`) by
inclusive share (the function and everything it calls), and every function by own share
(its own lines, C calls included), and own share grouped by module.

    .venv/bin/python bench/profile_summary.py STACKS.txt [--top 25]
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

FRAME = re.compile(r"^(?P<function>.*) \((?P<file>[^()]*)\)$")
OURS = ("core/", "bots/", "config/")
# Leaves where a thread waits (for work, a lock or the network), sampled as active now
# and then: not CPU time.
WAITS = frozenset(
    {
        "concurrent/futures/thread.py:_worker",
        "threading.py:Condition.wait",
        "selectors.py:EpollSelector.select",
    }
)


def parse(text: str) -> list[tuple[str, list[str], int]]:
    """(thread, frames as `file:function`, samples) per distinct stack."""
    stacks = []
    for line in text.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = []
        thread = ""
        for frame in stack.split(";"):
            if frame.startswith("thread ("):  # py-spy --threads: "thread (tid): name"
                thread = frame.partition(": ")[2] or frame
                continue
            match = FRAME.match(frame)
            frames.append(f"{match['file']}:{match['function']}" if match else frame)
        if frames:
            stacks.append((thread, frames, int(count)))
    return stacks


def module(frame: str) -> str:
    """A project file as it is; a library or the standard library by its package."""
    path = frame.split(":", 1)[0]
    if path.startswith(OURS):
        return path
    top = path.split("/", 1)[0]
    return top.removesuffix(".py") if "/" not in path else top


def summarize(stacks_file: Path, top: int = 25) -> str:
    every = parse(stacks_file.read_text())
    stacks = [(frames, count) for _, frames, count in every if frames[-1] not in WAITS]
    waits = sum(count for *_, count in every) - sum(count for _, count in stacks)
    total = sum(count for _, count in stacks) or 1
    threads: Counter[str] = Counter()
    for thread, frames, count in every:
        if frames[-1] not in WAITS:
            threads[thread or "?"] += count
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    for frames, count in stacks:
        for frame in set(frames):
            inclusive[frame] += count
        own[frames[-1]] += count
    modules: Counter[str] = Counter()
    for frame, count in own.items():
        modules[module(frame)] += count

    def table(title: str, counts: Counter[str]) -> list[str]:
        rows = [f"{title}:"]
        rows += [f"  {100 * n / total:5.1f}%  {name}" for name, n in counts.most_common(top)]
        return rows

    ours = Counter({k: v for k, v in inclusive.items() if k.startswith(OURS)})
    lines = [
        f"{total} samples ({waits} more in a wait, left out: {', '.join(sorted(WAITS))}); "
        + ", ".join(f"{name} {100 * n / total:.1f}%" for name, n in threads.most_common())
    ]
    lines += table("this repository's functions, inclusive", ours)
    lines += table("own time by function", own)
    lines += table("own time by module", modules)
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("stacks", type=Path)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    print(summarize(args.stacks, top=args.top))


if __name__ == "__main__":
    main()
