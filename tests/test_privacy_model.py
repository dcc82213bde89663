"""Issue 18: the intent model keeps words of the labelled messages it was trained on (an
operator's /intent, a customer's pick), so after an erasure that removed labels the
retention pass trains it again without them, publishes it, and deletes the models trained
with them — from the database and from this machine's cache (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest

from core.app import models_dir
from core.privacy.requests import ERASE
from core.types import Inbound
from tests.case_helpers import small_nlu_dir
from tests.privacy_helpers import dump, found_in, live_history


@pytest.fixture
def settings_overrides(tmp_path):
    return {"nlu_dir": small_nlu_dir(tmp_path)}


def cached_models_hold(settings, word: str) -> bool:
    return any(
        word in path.read_bytes().decode("utf-8", errors="replace")
        for path in models_dir(settings).glob("intent-model-*.pkl")
    )


async def test_model_trained_again_without_erased_labels(core, clock, settings):
    anna = await live_history(core, clock, "987654331", "telegram", "31")
    word = "кодовоеслово31"  # in her first message, which an operator labelled
    await core.privacy.retention.retrain()  # what `supportbot train` would publish
    assert "intent_models" in found_in(dump(settings), [word])[word]  # the model holds it
    assert cached_models_hold(settings, word)

    await core.engine.handle(Inbound("telegram", anna.user_id, text="удалите мои данные"))
    await core.engine.handle(Inbound("telegram", anna.user_id, payload=ERASE))
    assert found_in(dump(settings), [word]) == {"кодовоеслово31": ["intent_models"]}
    assert await core.storage.privacy.model_stale() is not None

    removed = await core.privacy.retention.run()
    assert removed["model_retrained"] == 1
    assert found_in(dump(settings), [word]) == {}
    assert not cached_models_hold(settings, word)
    assert await core.storage.privacy.model_stale() is None
    [published] = await core.storage.db.fetchall("SELECT fingerprint FROM intent_models")
    assert (models_dir(settings) / f"intent-model-{published['fingerprint']}.pkl").exists()
    assert "model_retrained" not in await core.privacy.retention.run()  # once
