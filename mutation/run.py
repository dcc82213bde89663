"""Mutation testing of the modules that carry the README's reliability guarantees.

    .venv/bin/python mutation/run.py                 # every target, then the scores
    .venv/bin/python mutation/run.py intake action   # some targets
    .venv/bin/python mutation/run.py --sample 30 --jobs 3   # bounded: ~30 mutants a target
    .venv/bin/python mutation/run.py --list          # targets, their code and their tests
    .venv/bin/python mutation/run.py --report        # scores of the last run, survivors

Each target is a module (or some functions of one) and the tests that cover it. The source
tree is copied to `mutation/.work/<target>/tree` (tracked files and uncommitted changes,
nothing else: one copy per target, so that targets can run side by side without one's
mutant in another's tests), then cosmic-ray (`pip install -e ".[mutation]"`) changes the
code one small mutation at a time — a condition negated, a comparison's boundary moved,
`and` for `or`, a number off by one, `break` for `continue`, an `except` that no longer
catches, a loop that never runs, a decorator dropped — and runs only that target's tests
against it, stopping at the first failure. A mutant the tests fail on is killed; one they
pass with survives: either it changes nothing anyone could observe (an equivalent mutant),
or it is a gap in the tests. The score is killed / (killed + survived); the survivors'
diffs are written to `mutation/.work/<target>.survivors.txt`.

Slow by nature (a pytest start per mutant, 10–60 s each on a loaded machine): run it by
hand after changing a guarantee module, not in CI. `--sample N` bounds a run: N mutants a
target, drawn with a fixed seed (the same N mutants each time for unchanged code), the
rest skipped; the score is then an estimate from the sample, and the report says so.
The intent model is trained once and kept in `mutation/.work/models`. Offline: nothing is
downloaded (cosmic-ray comes with the `mutation` extra).
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import random
import shlex
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
WORK = REPO / "mutation" / ".work"
PER_MUTANT_TIMEOUT = 180  # seconds; a mutant that hangs the tests this long is killed


@dataclass(frozen=True)
class Target:
    module: str
    tests: tuple[str, ...]
    # Only these functions (`Class.method` or `function`) are mutated; empty: all of it.
    functions: tuple[str, ...] = ()
    # A pytest -k expression narrowing the tests: SQLite only unless the module's SQL
    # differs by database (PostgreSQL starts a server per mutant).
    select: str = "not postgresql"
    why: str = ""


TARGETS: dict[str, Target] = {
    "intake": Target(
        "core/runtime/intake.py",
        ("tests/test_intake_guarantees.py",),
        select="not postgresql and not fetched and not webhook",
        why="stored before acknowledged; applied in order, by one process, once",
    ),
    "telegram-intake": Target(
        "bots/telegram/intake.py",
        ("tests/test_intake_guarantees.py",),
        why="a getUpdates offset confirmed only after the batch is stored; webhook 503",
    ),
    "delivery": Target(
        "core/runtime/delivery.py",
        ("tests/test_core_delivery.py", "tests/test_outbox_events.py"),
        why="the outbox: in order per recipient, retries, checkpoints, give-up notices",
    ),
    "outbox": Target(
        "core/storage/outbox.py",
        (
            "tests/test_outbox_claims.py",
            "tests/test_core_delivery.py",
            "tests/test_outbox_events.py",
        ),
        select="",
        why="claims of a live worker, order per recipient, checkpoints stored",
    ),
    "engine-commit": Target(
        "core/conversation/engine.py",
        (
            "tests/test_engine_hand_over.py",
            "tests/test_core_unit_of_work.py",
            "tests/test_desk_repeats.py",
            "tests/test_privacy_requests.py",
        ),
        functions=("Engine.handle", "Engine._commit", "Engine._queue_replies", "Engine._hand_over"),
        # The retry after a unique violation is reachable only between concurrent writers.
        select="not postgresql or meanwhile",
        why="claim, decide, commit once; a conflict decides again",
    ),
    "action": Target(
        "core/desk/action.py",
        (
            "tests/test_desk_repeats.py",
            "tests/test_desk_action.py",
            "tests/test_core_unit_of_work.py",
            "tests/test_core_operators.py",
        ),
        why="an operator action claimed by its update, on the case read fresh",
    ),
    "selfservice": Target(
        "core/conversation/selfservice.py",
        ("tests/test_selfservice.py",),
        functions=(
            "SelfService.handle",
            "SelfService._start",
            "SelfService._pick",
            "SelfService._confirm",
        ),
        why="an offer confirmed acts once, with a key from the offer, never the update",
    ),
    "roles": Target(
        "core/desk/roles.py",
        ("tests/test_desk_roles.py", "tests/test_roles_policy.py"),
        why="outsider, operator, senior: who may do what",
    ),
    "gate": Target(
        "bots/telegram/operators/gate.py",
        ("tests/test_desk_roles.py",),
        why="nothing an outsider does in the group reaches a customer",
    ),
    "budget": Target(
        "core/storage/budget.py",
        ("tests/test_post_budget.py",),
        why="the group's posts reserved in the database for every replica",
    ),
}


def copy_tree(tree: Path) -> None:
    """The checkout as it is now (tracked and new files, ignored ones left out)."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=REPO,
        check=True,
        capture_output=True,
    ).stdout.decode()
    if tree.exists():
        shutil.rmtree(tree)
    for name in filter(None, listed.split("\0")):
        source = REPO / name
        if source.is_file() and not name.startswith("mutation/.work"):
            (tree / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, tree / name)


def test_command(target: Target) -> list[str]:
    command = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider"]
    command += ["--timeout", str(PER_MUTANT_TIMEOUT // 3), *target.tests]
    return [*command, "-k", target.select] if target.select else command


def config_text(name: str, target: Target) -> str:
    keep = "|".join(KEPT_REPLACEMENTS)
    return f"""[cosmic-ray]
module-path = "{target.module}"
timeout = {PER_MUTANT_TIMEOUT}
excluded-modules = []
test-command = {json.dumps(shlex.join(test_command(target)))}

[cosmic-ray.distributor]
name = "local"

[cosmic-ray.filters.operators-filter]
exclude-operators = [
    "core/Variable.*",
    "core/ReplaceBinaryOperator_(?!({keep})$).*",
    "core/ReplaceComparisonOperator_(?!({keep})$).*",
    "core/ReplaceUnaryOperator_(?!(Delete_Not|USub_UAdd)$).*",
]
"""


# Binary and comparison replacements kept: the ones that flip a result or move a boundary
# (the rest, such as `==` into `<` or `+` into `<<`, mostly crash at once and would only
# flatter the score). Variable replacers are left out: they pick names at random.
KEPT_REPLACEMENTS = (
    "Add_Sub",
    "Sub_Add",
    "Mul_Div",
    "Div_Mul",
    "Eq_NotEq",
    "NotEq_Eq",
    "Lt_LtE",
    "LtE_Lt",
    "Gt_GtE",
    "GtE_Gt",
    "Lt_GtE",
    "GtE_Lt",
    "Gt_LtE",
    "LtE_Gt",
    "Is_IsNot",
    "IsNot_Is",
    "In_NotIn",
    "NotIn_In",
)


def function_lines(module: Path, names: tuple[str, ...]) -> list[tuple[int, int]]:
    """Line ranges (first, last) of the named functions and methods."""
    found: list[tuple[int, int]] = []
    tree = ast.parse(module.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if not isinstance(node, ast.ClassDef | ast.Module):
            continue
        prefix = f"{node.name}." if isinstance(node, ast.ClassDef) else ""
        for child in node.body:
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                if prefix + child.name in names:
                    found.append((child.lineno, child.end_lineno or child.lineno))
    if len(found) != len(names):
        raise SystemExit(f"{module}: some of {names} not found")
    return found


def signature_lines(module: Path) -> set[int]:
    """The lines of every function's signature (from `def` to the line before its body):
    a default value there is a knob, and the keyword-only `*` that cosmic-ray turns into
    `/` is no operator."""
    lines: set[int] = set()
    for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            lines.update(range(node.lineno, node.body[0].lineno))
    return lines


def skip_outside(
    session: Path, module: Path, names: tuple[str, ...], sample: int | None, seed: str
) -> int:
    """Mark as skipped the mutations of function signatures, those outside the named
    functions when there are any, and — with a sample size — all but `sample` of the
    rest, drawn with a seed of the target's name; returns how many were skipped."""
    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import WorkerOutcome, WorkResult

    ranges = function_lines(module, names) if names else [(1, 1 << 30)]
    signatures = signature_lines(module)
    skipped = 0
    with use_db(str(session), WorkDB.Mode.open) as db:
        kept = []
        for item in sorted(db.pending_work_items, key=lambda item: item.job_id):
            line = item.mutations[0].start_pos[0]
            inside = any(first <= line <= last for first, last in ranges)
            if line in signatures or not inside:
                db.set_result(
                    item.job_id,
                    WorkResult(output="outside", worker_outcome=WorkerOutcome.SKIPPED),
                )
                skipped += 1
            else:
                kept.append(item)
        if sample is not None and len(kept) > sample:
            # Ordered by what each mutation is (job ids are drawn afresh by every `init`),
            # so that a rerun of unchanged code samples the same mutants.
            order = sorted(kept, key=lambda item: mutation_key(item.mutations[0]))
            chosen = {item.job_id for item in random.Random(seed).sample(order, sample)}
            for item in kept:
                if item.job_id not in chosen:
                    db.set_result(
                        item.job_id,
                        WorkResult(output="not sampled", worker_outcome=WorkerOutcome.SKIPPED),
                    )
                    skipped += 1
    return skipped


def mutation_key(spec: object) -> tuple[object, ...]:
    """What a mutation is: where, which operator, which of its occurrences."""
    return (spec.start_pos, spec.operator_name, spec.occurrence)  # type: ignore[attr-defined]


def tool(name: str) -> str:
    return str(Path(sys.executable).parent / name)


def run_target(name: str, target: Target, sample: int | None) -> None:
    config, session = WORK / f"{name}.toml", WORK / f"{name}.sqlite"
    tree = WORK / name / "tree"
    copy_tree(tree)
    config.write_text(config_text(name, target), encoding="utf-8")
    print(f"== {name}: {target.module} — tests: {' '.join(target.tests)}", flush=True)
    started = time.monotonic()
    command = shlex.split(shlex.join(test_command(target)))  # as cosmic-ray will run it
    baseline = subprocess.run(command, cwd=tree, capture_output=True, text=True)
    if baseline.returncode != 0:
        print(baseline.stdout[-3000:], baseline.stderr[-2000:])
        raise SystemExit(f"{name}: the tests fail on the unmutated code; nothing to measure")
    print(f"   {name}: baseline passes in {time.monotonic() - started:.0f} s", flush=True)
    session.unlink(missing_ok=True)
    quiet = {"cwd": tree, "check": True, "stdout": subprocess.DEVNULL}
    subprocess.run([tool("cosmic-ray"), "init", str(config), str(session)], **quiet)
    subprocess.run([tool("cr-filter-operators"), str(session), str(config)], **quiet)
    skip_outside(session, tree / target.module, target.functions, sample, name)
    subprocess.run([tool("cosmic-ray"), "exec", str(config), str(session)], **quiet)
    print(f"   {name}: done in {(time.monotonic() - started) / 60:.1f} min", flush=True)


def report(names: list[str]) -> None:
    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import TestOutcome, WorkerOutcome

    print(f"{'target':<16} {'module':<34} {'killed':>6} {'survived':>8} {'score':>6}")
    for name in names:
        session = WORK / f"{name}.sqlite"
        if not session.exists():
            print(f"{name:<16} (not run)")
            continue
        killed, survivors, pending, unsampled = 0, [], 0, 0
        with use_db(str(session), WorkDB.Mode.open) as db:
            results = dict(db.results)
            for item in db.work_items:
                result = results.get(item.job_id)
                if result is None:
                    pending += 1
                elif result.worker_outcome == WorkerOutcome.SKIPPED:
                    unsampled += result.output == "not sampled"
                elif result.test_outcome == TestOutcome.SURVIVED:
                    survivors.append((item, result))
                elif "no tests ran" in (result.output or ""):
                    raise SystemExit(f"{name}: a mutant ran no test; fix the target's tests")
                elif result.test_outcome in (TestOutcome.KILLED, TestOutcome.INCOMPETENT):
                    killed += 1
        total = killed + len(survivors)
        score = f"{100 * killed / total:.0f}%" if total else "-"
        note = f"  ({pending} not run yet)" if pending else ""
        if unsampled:
            note += f"  (a sample: {total} of {total + pending + unsampled} mutants)"
        module = TARGETS[name].module
        print(f"{name:<16} {module:<34} {killed:>6} {len(survivors):>8} {score:>6}{note}")
        with (WORK / f"{name}.survivors.txt").open("w", encoding="utf-8") as out:
            for item, result in survivors:
                spec = item.mutations[0]
                out.write(f"# {spec.operator_name} at line {spec.start_pos[0]}\n")
                out.write((result.diff or "") + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("targets", nargs="*", metavar="TARGET", help=", ".join(TARGETS))
    parser.add_argument("--list", action="store_true", help="the targets and their tests")
    parser.add_argument("--report", action="store_true", help="scores of the last run")
    parser.add_argument("--sample", type=int, metavar="N", help="N mutants a target, no more")
    parser.add_argument("--jobs", type=int, default=1, help="targets run side by side")
    args = parser.parse_args()
    names = args.targets or list(TARGETS)
    unknown = [name for name in names if name not in TARGETS]
    if unknown:
        parser.error(f"unknown targets {unknown}; known: {', '.join(TARGETS)}")
    if args.list:
        for name, target in TARGETS.items():
            only = f" ({', '.join(target.functions)})" if target.functions else ""
            print(f"{name}: {target.module}{only} — {target.why}\n    {' '.join(target.tests)}")
        return
    if not args.report:
        WORK.mkdir(parents=True, exist_ok=True)
        os.environ["SUPPORTBOT_TEST_MODEL_DIR"] = str(WORK / "models")
        with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            runs = [pool.submit(run_target, n, TARGETS[n], args.sample) for n in names]
            for run in runs:
                run.result()
    report(names)


if __name__ == "__main__":
    main()
