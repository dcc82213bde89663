"""Issue 18 on the command line: `supportbot export` prints everything stored about one
customer and nothing about another; `supportbot forget` erases them as the customer's own
request would (the act names who asked); `supportbot erasures` lists the acts; a malformed
customer is one line and exit code 2 (SQLite and PostgreSQL)."""

from __future__ import annotations

import json

from tests.case_helpers import run_cli
from tests.privacy_helpers import dump, found_in, live_history


async def test_export_then_forget(core, clock, settings, tmp_path):
    anna = await live_history(core, clock, "987654331", "telegram", "31")
    boris = await live_history(core, clock, "987654342", "telegram", "42")

    exported = run_cli(["export", "telegram:987654331"], settings, tmp_path)
    assert exported.returncode == 0, exported.stderr
    data = json.loads(exported.stdout)
    text = exported.stdout
    missing = [needle for needle in anna.needles if needle not in text]
    assert missing == []  # everything stored about her…
    assert [needle for needle in boris.needles if needle in text] == []  # …and nobody else
    stored = data["stored"]
    assert {row["id"] for row in stored["tickets"]} == set(anna.cases)
    assert stored["operator_threads"][0]["thread_id"] == "931"
    assert any(row.get("rating_comment") for row in stored["tickets"])

    forgot = run_cli(["forget", "telegram:987654331", "--yes"], settings, tmp_path)
    assert forgot.returncode == 0, forgot.stderr
    assert "act 1, customer K" in forgot.stdout
    after = dump(settings)
    assert found_in(after, anna.needles) == {"987654331": ["outbox"]}  # the message to her
    assert found_in(after, boris.needles).keys() == set(boris.needles)
    [act] = await core.storage.privacy.acts()
    assert act.reason == "command" and act.requested_by.startswith("command (")
    rows = await core.storage.db.fetchall("SELECT * FROM outbox WHERE kind = 'customer_erased'")
    assert len(rows) == 1

    again = run_cli(["forget", "telegram:987654331", "--yes"], settings, tmp_path)
    assert again.returncode == 0
    assert "Nothing is stored about telegram:987654331" in again.stdout
    assert "Erased before: act 1" in again.stdout
    assert len(await core.storage.privacy.acts()) == 1

    listed = run_cli(["erasures", "--format", "json"], settings, tmp_path)
    [row] = json.loads(listed.stdout)
    assert row["customer"] == act.label and row["removed"]["cases"] == 2
    nothing = json.loads(run_cli(["export", "telegram:987654331"], settings, tmp_path).stdout)
    assert "stored" not in nothing and nothing["erased_before"][0]["act"] == 1


async def test_bad_customer_is_one_line(settings, tmp_path):
    for args in (["forget", "987654331", "--yes"], ["export", "max:12"], ["forget", "vk:abc"]):
        result = run_cli(args, settings, tmp_path)
        assert result.returncode == 2
        assert result.stderr.strip().count("\n") == 0 and "telegram:ID or vk:ID" in result.stderr
    refused = run_cli(["forget", "vk:5"], settings, tmp_path)  # no --yes, no terminal
    assert refused.returncode == 1 and "add --yes" in refused.stderr
