"""Issue 20: `supportbot report` speaks the operators' language, like `/stats`; its words
come from `desk.yaml` of the knowledge folder (a shop's own folder may reword them), and the
command line's own code holds no Russian text."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

from conftest import REPO


def report(tmp_path, knowledge=None) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "PYTHONIOENCODING": "utf-8",
        "DATA_DIR": str(tmp_path / "data"),
        "LOG_LEVEL": "WARNING",
    }
    if knowledge is not None:
        env["KNOWLEDGE_DIR"] = str(knowledge)
    args = ["report", "--since", "2026-01-01", "--until", "2026-01-02", "--all-days"]
    return subprocess.run(
        [sys.executable, "-m", "bots.cli", *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        cwd=tmp_path,
        env=env,
        timeout=120,
    )


def test_the_table_is_in_russian(tmp_path):
    result = report(tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "Период: 2026-01-01 — 2026-01-02 (Europe/Moscow)"
    assert lines[2].split()[:3] == ["срез", "обращений", "закрыто"]
    assert [line.split()[0] for line in lines if line.startswith("день:")] == [
        "день:2026-01-01",
        "день:2026-01-02",
    ]
    english = {"period", "tickets", "closed", "scope", "conversations", "waiting"}
    assert not english & set(re.findall(r"[a-z]+", result.stdout))


def test_a_shop_rewords_it_in_its_knowledge_folder(tmp_path):
    knowledge = tmp_path / "knowledge"
    shutil.copytree(REPO / "config" / "knowledge", knowledge)
    path = knowledge / "desk.yaml"
    path.write_text(
        path.read_text(encoding="utf-8").replace('"Период: ', '"Отчёт за период: '),
        encoding="utf-8",
    )
    result = report(tmp_path, knowledge)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Отчёт за период: 2026-01-01 — 2026-01-02")


def test_no_russian_text_in_the_command_line_code():
    for name in ("cli.py", "main.py", "startup.py"):
        code = (REPO / "bots" / name).read_text(encoding="utf-8")
        assert not re.search(r"[А-Яа-яЁё]", code), name
