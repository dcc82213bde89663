"""`supportbot classify`, `supportbot eval` and configuration errors, run as real
subprocesses with their database and data folder under a temporary directory."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO

from core.knowledge.intents import INTENTS

SUPPORTBOT = REPO / ".venv" / "bin" / "supportbot"
EVAL = REPO / "tests" / "data" / "nlu_eval.tsv"


@pytest.fixture(scope="session")
def cli_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One data folder for every CLI run: the first run trains and caches the model."""
    return tmp_path_factory.mktemp("cli-data")


def run_cli(
    args: list[str],
    data_dir: Path,
    cwd: Path,
    stdin: str = "",
    env: dict[str, str] | None = None,
    script: bool = False,
) -> subprocess.CompletedProcess[str]:
    environment = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{cwd}/cli.db",
        "DATA_DIR": str(data_dir),
        "PYTHONPATH": str(REPO),
        "PYTHONIOENCODING": "utf-8",
        "OMP_NUM_THREADS": "1",
        "LOG_LEVEL": "WARNING",
    }
    environment.update(env or {})
    command = [str(SUPPORTBOT)] if script else [sys.executable, "-m", "bots.cli"]
    return subprocess.run(
        [*command, *args],
        input=stdin,
        capture_output=True,
        text=True,
        encoding="utf-8",
        cwd=cwd,  # not the repository: no stray .env is read
        env=environment,
        timeout=120,
    )


def test_classify_prints_one_line_per_input_line(cli_data, tmp_path):
    lines = ["привет", "", "где мой заказ", "ghbdtn", "спс", "😀", "курьер нахамил мне"]
    result = run_cli(["classify"], cli_data, tmp_path, stdin="\n".join(lines) + "\n")
    assert result.returncode == 0, result.stderr
    out = result.stdout.splitlines()
    assert len(out) == len(lines)
    parsed = []
    for line in out:
        intent, tab, confidence = line.partition("\t")
        assert tab == "\t"
        assert intent in INTENTS
        assert re.fullmatch(r"[01]\.\d{3}", confidence)
        parsed.append((intent, float(confidence)))
    assert [intent for intent, _ in parsed] == [
        "greeting",
        "out_of_scope",
        "order_status",
        "greeting",
        "thanks",
        "out_of_scope",
        "courier_complaint",
    ]
    assert parsed[1][1] == 0.0 and parsed[5][1] == 0.0
    assert parsed[0][1] > 0.5
    assert "Traceback" not in result.stderr
    # The model is cached in DATA_DIR for the next run.
    assert list((cli_data / "models").glob("intent-model-*.pkl"))


def test_classify_with_the_installed_script(cli_data, tmp_path):
    if not SUPPORTBOT.exists():
        pytest.skip("the supportbot script is not installed in .venv")
    result = run_cli(["classify"], cli_data, tmp_path, stdin="cgfcb,j\n", script=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\t")[0] == "thanks"


def test_classify_empty_stdin(cli_data, tmp_path):
    result = run_cli(["classify"], cli_data, tmp_path, stdin="")
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""


def test_eval_prints_the_report(cli_data, tmp_path):
    result = run_cli(["eval", str(EVAL)], cli_data, tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    total = sum(1 for line in EVAL.read_text(encoding="utf-8").splitlines() if line.strip())
    assert f"messages: {total}" in out
    accuracy = float(re.search(r"^accuracy: ([01]\.\d{3})$", out, re.M).group(1))
    macro_f1 = float(re.search(r"^macro-F1: ([01]\.\d{3})$", out, re.M).group(1))
    assert accuracy >= 0.9 and macro_f1 >= 0.9
    score = r"\s+[01]\.\d{3}"
    for intent in INTENTS:
        assert re.search(rf"^{intent}{score}{score}{score}\s+\d+$", out, re.M), intent
    assert "most confused" in out
    assert "errors (" not in out


def test_eval_lists_errors_on_request(cli_data, tmp_path):
    bad = tmp_path / "bad.tsv"
    bad.write_text("thanks\tгде мой заказ\ngreeting\tпривет\n", encoding="utf-8")
    result = run_cli(["eval", str(bad), "--errors"], cli_data, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "accuracy: 0.500" in result.stdout
    assert "thanks → order_status: где мой заказ" in result.stdout
    # One of two is wrong; with a confidence above the answer threshold it was answered.
    wrong = float(
        re.search(
            r"^answered wrongly \(confidence >= 0\.50\): ([\d.]+)%$", result.stdout, re.M
        ).group(1)
    )
    asked = float(
        re.search(
            r"^sent to clarification \(confidence < 0\.50\): ([\d.]+)%$", result.stdout, re.M
        ).group(1)
    )
    assert wrong + asked <= 100.0 and wrong in (0.0, 50.0)
    # Every message counted once: right-and-answered + wrong-and-answered + asked = 100%.
    right = float(
        re.search(
            r"^answered rightly \(confidence >= 0\.50\): ([\d.]+)%$", result.stdout, re.M
        ).group(1)
    )
    assert right + wrong + asked == pytest.approx(100.0)


def test_eval_threshold_option(cli_data, tmp_path):
    two = tmp_path / "two.tsv"
    two.write_text("thanks\tгде мой заказ\ngreeting\tпривет\n", encoding="utf-8")
    result = run_cli(["eval", str(two), "--threshold", "0"], cli_data, tmp_path)
    assert result.returncode == 0, result.stderr
    # At threshold 0 every message is answered: the wrong one counts as answered wrongly.
    assert "answered wrongly (confidence >= 0.00): 50.0%" in result.stdout
    assert "sent to clarification (confidence < 0.00): 0.0%" in result.stdout


@pytest.mark.parametrize("content", [None, "greeting привет без табуляции\n"])
def test_eval_unreadable_file(cli_data, tmp_path, content):
    path = tmp_path / "eval.tsv"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    result = run_cli(["eval", str(path)], cli_data, tmp_path)
    assert result.returncode == 2
    assert "Cannot read" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("OPERATORS_CHAT_ID", "abc"),
        ("NLU_MIN_CONFIDENCE", "7"),
        ("DATABASE_URL", "mysql://localhost/support"),
        ("ORDERS_API_TIMEOUT", "-1"),
        ("WORK_HOURS_START", "25:00"),
        ("DELIVERY_MAX_ATTEMPTS", "0"),
    ],
)
def test_malformed_setting_exits_2_with_one_line(cli_data, tmp_path, variable, value):
    result = run_cli(["classify"], cli_data, tmp_path, stdin="привет\n", env={variable: value})
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert variable in lines[0]
    assert "Traceback" not in result.stderr


def test_help(cli_data, tmp_path):
    result = run_cli(["--help"], cli_data, tmp_path)
    assert result.returncode == 0
    for command in ("chat", "classify", "eval"):
        assert command in result.stdout
