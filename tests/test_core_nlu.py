"""The classifier: wrong-layout repair, slang, the fast path against scikit-learn's own,
messages without letters, and a saved model."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import REPO, Customer, make_settings

from core.app import classifier_for
from core.knowledge.intents import INTENTS
from core.nlu import IntentClassifier, load_classifier
from core.nlu.classifier import fingerprint
from core.nlu.dataset import load_training, load_tsv
from core.nlu.evaluate import evaluate, format_report
from core.nlu.layout import convert, fix_layout
from core.nlu.normalize import ORDER_TOKEN, Normalizer, load_slang


@pytest.mark.parametrize(
    ("typed", "intent"),
    [
        ("ghbdtn", "greeting"),
        ("cgfcb,j", "thanks"),
        ("ult vjq pfrfp", "order_status"),
        ("Ghbdtn", "greeting"),
        ("cgfcb,j ,jkmijt", "thanks"),
        ("ult vjq pfrfp 12345678-0001", "order_status"),
        ("jgthfnjh", "operator"),
        ("rfr dthyenm njdfh", "return_item"),
    ],
)
def test_wrong_layout_is_repaired(classifier, typed, intent):
    prediction = classifier.predict(typed)
    assert prediction.intent == intent
    assert not any("a" <= ch <= "z" for ch in prediction.normalized.replace(ORDER_TOKEN, ""))


def test_layout_conversion():
    assert convert("ghbdtn") == "привет"
    assert convert("cgfcb,j") == "спасибо"
    known = {"привет", "где", "мой", "заказ"}.__contains__
    assert fix_layout("ult vjq pfrfp", known) == "где мой заказ"
    # English words and brands stay as they are.
    assert fix_layout("iphone 15 pro", known) == "iphone 15 pro"
    assert fix_layout("где мой iphone", known) == "где мой iphone"
    assert fix_layout("заказ vjq iphone", known) == "заказ мой iphone"
    # No Cyrillic and most words known: the whole message was typed on the wrong layout.
    assert fix_layout("ult vjq pfrfp7", known) == "где мой заказ7"


@pytest.mark.parametrize(
    ("typed", "intent"),
    [
        ("спс большое", "thanks"),
        ("есть рабочий промик?", "promo_code"),
        ("хочу сменить пвз", "delivery_change"),
        ("прив", "greeting"),
        ("приииивет", "greeting"),
        ("СПАСИБО!!!", "thanks"),
    ],
)
def test_slang_and_typing_habits(classifier, typed, intent):
    assert classifier.predict(typed).intent == intent


def test_slang_is_expanded(classifier):
    assert classifier.predict("спс").normalized == "спасибо"
    assert "пожалуйста" in classifier.predict("пжл помогите").normalized.split()


@pytest.mark.parametrize(
    "text",
    [
        "где мой заказ",
        "cgfcb,j",
        "курьер нахамил мне по телефону",
        "ваза треснула, коробка мятая",
        "номер 12345678-0001 где он",
        "a",
    ],
)
def test_fast_path_equals_scikit_learn(classifier, text):
    normalized = classifier.predict(text).normalized
    fast = classifier.probabilities(normalized)
    reference = classifier.reference_probabilities([normalized])[0]
    assert fast.shape == (len(classifier.intents),)
    assert np.allclose(fast, reference, atol=1e-9)
    assert fast.sum() == pytest.approx(1.0)


def test_reference_probabilities_batch(classifier):
    texts = [classifier.normalizer.normalize(t) for t in ("привет", "где заказ", "промокод")]
    batch = classifier.reference_probabilities(texts)
    for row, text in zip(batch, texts, strict=True):
        assert np.allclose(row, classifier.probabilities(text))


@pytest.mark.parametrize("text", ["", "   ", "12345", "😀😀", "!!!", "+7 (999) 123-45-67", "\x00"])
def test_no_letters_is_out_of_scope_with_zero_confidence(classifier, text):
    prediction = classifier.predict(text)
    assert prediction.intent == "out_of_scope"
    assert prediction.confidence == 0.0


def test_predict_many_keeps_the_order(classifier):
    texts = ["привет", "", "спасибо", "123", "где мой заказ"]
    intents = [p.intent for p in classifier.predict_many(texts)]
    assert intents == ["greeting", "out_of_scope", "thanks", "out_of_scope", "order_status"]
    assert [p.intent for p in classifier.predict_many([])] == []


def test_intents_are_the_taxonomy(classifier):
    assert sorted(classifier.intents) == sorted(INTENTS)


def test_confidence_is_a_probability(classifier):
    for text in ("привет", "абракадабра", "где мой заказ и почему курьер грубит"):
        assert 0.0 < classifier.predict(text).confidence <= 1.0


def test_saved_model_predicts_the_same(classifier, tmp_path):
    path = tmp_path / "model.pkl"
    classifier.save(path)
    loaded = IntentClassifier.load(path)
    assert loaded is not None
    texts = ["ghbdtn", "где мой заказ 12345678-0001", "спс", "курьер хамил", "qwerty", ""]
    before = classifier.predict_many(texts)
    after = loaded.predict_many(texts)
    assert [(p.intent, p.normalized) for p in before] == [(p.intent, p.normalized) for p in after]
    assert np.allclose([p.confidence for p in before], [p.confidence for p in after])
    assert loaded.temperature == classifier.temperature


def test_broken_model_file_is_ignored(tmp_path):
    path = tmp_path / "model.pkl"
    path.write_bytes(b"not a pickle")
    assert IntentClassifier.load(path) is None
    assert IntentClassifier.load(tmp_path / "missing.pkl") is None


def test_model_is_cached_by_what_it_was_trained_from(tmp_path, kb):
    settings = make_settings(tmp_path)
    first = classifier_for(settings, kb)
    cached = list((tmp_path / "data" / "models").glob("intent-model-*.pkl"))
    assert len(cached) == 1
    second = classifier_for(settings, kb)  # loaded from the cache
    assert second.predict("ghbdtn").intent == first.predict("ghbdtn").intent == "greeting"
    # Extra examples change the fingerprint: a second cached file, the first one kept
    # (a running bot may still use it until a model is published).
    nlu_dir = settings.nlu_dir
    extra = [("хочу пиццу с ананасами", "out_of_scope")]
    load_classifier(nlu_dir, cache_dir=tmp_path / "data" / "models", extra_examples=extra)
    now_cached = list((tmp_path / "data" / "models").glob("intent-model-*.pkl"))
    assert len(now_cached) == 2 and set(cached) < set(now_cached)


def test_fingerprint_changes_with_data():
    base = fingerprint([("привет", "greeting")], {})
    assert base == fingerprint([("привет", "greeting")], {})
    assert base != fingerprint([("привет", "thanks")], {})
    assert base != fingerprint([("привет", "greeting")], {"прив": "привет"})


def test_training_data_covers_every_intent():
    examples = load_training(REPO / "config" / "nlu" / "training.yaml")
    assert {intent for _, intent in examples} == set(INTENTS)
    assert load_slang(REPO / "config" / "nlu" / "slang.yaml")["спс"] == "спасибо"


def test_evaluate_report(classifier):
    examples = [("привет", "greeting"), ("спасибо", "thanks"), ("где мой заказ", "thanks")]
    result = evaluate(classifier, examples)
    assert result.total == 3
    assert result.accuracy == pytest.approx(2 / 3)
    assert result.confused == [("thanks", "order_status", 1)]
    report = format_report(result)
    assert "accuracy: 0.667" in report
    assert "most confused" in report and "thanks → order_status: 1" in report


def test_load_tsv(tmp_path):
    path = tmp_path / "x.tsv"
    path.write_text("# comment\n\ngreeting\tпривет\nthanks\tспс\n", encoding="utf-8")
    assert load_tsv(path) == [("привет", "greeting"), ("спс", "thanks")]
    path.write_text("greeting привет\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"x\.tsv:1"):
        load_tsv(path)


def test_load_training_refuses_a_phrase_read_as_a_mapping(tmp_path):
    path = tmp_path / "t.yaml"
    path.write_text(
        "intents:\n  refund:\n    - деньги не пришли\n    - жду возврат: уже месяц\n",
        encoding="utf-8",
    )
    with pytest.raises(ValueError, match=r"refund: not a phrase \(quote it\)"):
        load_training(path)
    path.write_text('intents:\n  refund:\n    - "жду возврат: уже месяц"\n', encoding="utf-8")
    assert load_training(path) == [("жду возврат: уже месяц", "refund")]


async def test_layout_phrase_through_the_engine(core):
    replies = await Customer(core).say("ult vjq pfrfp")
    assert replies[0].text == core.kb.texts.get("ask_order.order_status")


# ---------------------------------------------------------------------------- model cache
# `supportbot classify` / `eval` / `unrecognized` call `classifier_for(settings)` with no
# knowledge base and no operators' labels; the bots call it with both. Both share
# DATA_DIR/models, where the cache file name ignores the vocabulary texts.


def test_bot_model_has_the_knowledge_base_vocabulary_after_a_cli_run(tmp_path, kb, classifier):
    # Words that only the answers have (layout repair needs them); the session's model,
    # trained as build_core does, knows them.
    nlu_dir = REPO / "config" / "nlu"
    phrases = [text for text, _ in load_training(nlu_dir / "training.yaml")]
    slang = load_slang(nlu_dir / "slang.yaml")
    plain = Normalizer.from_texts(phrases, slang).vocabulary.words
    kb_only = Normalizer.from_texts(phrases + kb.all_texts(), slang).vocabulary.words - plain
    assert kb_only
    assert kb_only <= classifier.normalizer.vocabulary.words
    settings = make_settings(tmp_path)
    classifier_for(settings)  # `supportbot eval` on a fresh install
    bot = classifier_for(settings, kb)  # then the bot starts
    assert kb_only <= bot.normalizer.vocabulary.words


def test_cli_run_does_not_replace_the_bots_labelled_model(tmp_path, kb):
    from core.app import models_dir
    from core.nlu import published

    settings = make_settings(tmp_path)
    labelled = [("хочу пиццу с ананасами", "out_of_scope")]
    classifier_for(settings, kb, labelled, publish_model=True)  # the bot, with labels
    key = published(models_dir(settings))
    assert key is not None
    classifier_for(settings)  # `supportbot classify`
    assert published(models_dir(settings)) == key
    assert (models_dir(settings) / f"intent-model-{key}.pkl").exists()
