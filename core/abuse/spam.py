"""Spam rules from `config/spam.yaml`: what makes a customer message spam.

`load_rules(path)` reads and checks the file (`SpamRulesError`, one line naming the file
and the rule, when it is malformed); `SpamRules.match(message, examples)` names the first
rule a message breaks, or None. The shop's own sites (`SHOP_DOMAINS`) and the file's
`allowed_domains` are never "another site", so a customer linking to the shop is not
spam. `known_spam` compares with the texts operators marked with `/spam`
(`normalize` gives the form they are stored in).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from core.knowledge import folding

FOREIGN_LINKS = "foreign_links"
PHONE_NUMBERS = "phone_numbers"
CRYPTO_WORDS = "crypto_words"
REPEATED_TEXT = "repeated_text"
NEW_ACCOUNT = "new_account"
FORWARDED_CHANNEL_POST = "forwarded_channel_post"
KNOWN_SPAM = "known_spam"
RULES = (
    FORWARDED_CHANNEL_POST,
    NEW_ACCOUNT,
    KNOWN_SPAM,
    FOREIGN_LINKS,
    PHONE_NUMBERS,
    CRYPTO_WORDS,
    REPEATED_TEXT,
)

# A link: with a scheme, starting with www., or a bare domain (not an e-mail's, not a
# file name's: "акт.pdf").
LINK = re.compile(
    r"(?:https?://|www\.)[^\s<>\"'«»]+"
    r"|(?<![\w@.-])"
    r"(?:(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,24}|(?:[а-яё0-9-]+\.)+рф)"
    r"(?![\w@-])(?:/[^\s<>\"'«»]*)?",
    re.IGNORECASE,
)
FILE_EXTENSIONS = frozenset(
    "pdf jpg jpeg png gif webp heic doc docx xls xlsx txt zip rar mp4 mov avi mp3 ogg csv".split()
)
# A Russian number (+7 / 8 / 7 and ten digits, with the usual separators) or an
# international one written with +.
PHONE = re.compile(
    r"(?<![\d-])(?:\+7|8|7)[\s(-]*\d{3}[\s)-]*\d{3}[\s-]*\d{2}[\s-]*\d{2}(?![\d-])"
    r"|(?<![\d+-])\+\d{1,3}[\s(-]*\d[\d\s()-]{7,}\d(?![\d-])"
)
WORD = re.compile(r"\w+")


class SpamRulesError(ValueError):
    """The rules file is malformed; the message names the file and what is wrong."""


# ---------------------------------------------------------------------------- the file
class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid")
    enabled: bool = True


class _FirstMessageRule(_Rule):
    first_message_only: bool = True


class _CryptoRule(_FirstMessageRule):
    words: list[str] = Field(default_factory=list)

    @field_validator("words")
    @classmethod
    def _words(cls, value: list[str]) -> list[str]:
        words = [fold(w).strip() for w in value]
        if any(not w for w in words):
            raise ValueError("expected non-empty words")
        return words


class _RepeatRule(_Rule):
    times: Annotated[int, Field(ge=2)] = 3
    within_minutes: Annotated[float, Field(gt=0)] = 10.0
    min_length: Annotated[int, Field(ge=0)] = 25


class _NewAccountRule(_Rule):
    younger_than_seconds: Annotated[float, Field(gt=0)] = 300.0


class _KnownSpamRule(_Rule):
    similarity: Annotated[float, Field(gt=0, le=1)] = 0.8


class _Rules(BaseModel):
    model_config = ConfigDict(extra="forbid")
    foreign_links: _FirstMessageRule = _FirstMessageRule()
    phone_numbers: _FirstMessageRule = _FirstMessageRule()
    crypto_words: _CryptoRule = _CryptoRule()
    repeated_text: _RepeatRule = _RepeatRule()
    new_account: _NewAccountRule = _NewAccountRule()
    forwarded_channel_post: _Rule = _Rule()
    known_spam: _KnownSpamRule = _KnownSpamRule()


class _RulesFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    allowed_domains: list[str] = Field(default_factory=list)
    rules: _Rules = _Rules()

    @field_validator("allowed_domains")
    @classmethod
    def _domains(cls, value: list[str]) -> list[str]:
        return [domain_name(d) for d in value]


def domain_name(value: str) -> str:
    """A site's domain as it is compared ("https://www.Shop.example/" → "shop.example");
    `ValueError` when it is not one."""
    text = str(value).strip().lower()
    host = urlsplit(text if "//" in text else f"//{text}").hostname or ""
    host = host.removeprefix("www.")
    if not re.fullmatch(r"(?:[\w-]+\.)+[\w-]{2,}", host):
        raise ValueError(f"expected a domain like shop.example; got '{value}'")
    return host


def load_rules(path: Path, shop_domains: Iterable[str] = ()) -> SpamRules:
    """The rules of `path` (the shop's own domains allowed too); `SpamRulesError` names
    the file and the first problem."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SpamRulesError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        line = f" at line {where.line + 1}" if where is not None else ""
        raise SpamRulesError(f"{path}: not valid YAML{line}") from None
    try:
        parsed = _RulesFile.model_validate(raw if raw is not None else {})
    except ValidationError as exc:
        error = exc.errors()[0]
        place = ".".join(str(part) for part in error["loc"]) or "the file"
        message = str(error["msg"]).removeprefix("Value error, ")
        raise SpamRulesError(f"{path}: {place}: {message}") from None
    allowed = frozenset(parsed.allowed_domains) | frozenset(domain_name(d) for d in shop_domains)
    return SpamRules(parsed.rules, allowed)


# ---------------------------------------------------------------------------- matching
@dataclass(frozen=True)
class Suspect:
    """A customer message as the rules see it."""

    text: str
    first: bool = False  # the customer's first message to the bot
    earlier: Sequence[tuple[float, str]] = ()  # their earlier messages (time, text)
    now: float = 0.0
    forwarded_from_channel: bool = False
    account_age: float | None = None  # seconds, where the messenger tells


class SpamRules:
    def __init__(self, rules: _Rules | None = None, allowed: frozenset[str] = frozenset()):
        self.rules = rules or _Rules()
        self.allowed = allowed
        words = self.rules.crypto_words.words
        self._crypto = (
            re.compile(r"(?<!\w)(?:" + "|".join(re.escape(w) for w in words) + ")")
            if words
            else None
        )

    @property
    def repeat_window(self) -> float:
        """Seconds of a customer's history the repeat rule looks at."""
        rule = self.rules.repeated_text
        return rule.within_minutes * 60.0 if rule.enabled else 0.0

    def looks_at_history(self, text: str) -> bool:
        """Whether the repeat rule needs the customer's earlier messages for `text`."""
        rule = self.rules.repeated_text
        return rule.enabled and len(text.strip()) >= rule.min_length

    def match(self, message: Suspect, examples: Sequence[frozenset[str]] = ()) -> str | None:
        """The first rule the message breaks, or None."""
        for name in RULES:
            rule = getattr(self.rules, name)
            if not rule.enabled:
                continue
            if getattr(rule, "first_message_only", False) and not message.first:
                continue
            if self._breaks(name, message, examples):
                return name
        return None

    def _breaks(self, name: str, message: Suspect, examples: Sequence[frozenset[str]]) -> bool:
        if name == FORWARDED_CHANNEL_POST:
            return message.forwarded_from_channel
        if name == NEW_ACCOUNT:
            age = message.account_age
            return age is not None and age < self.rules.new_account.younger_than_seconds
        if name == KNOWN_SPAM:
            share = self.rules.known_spam.similarity
            return bool(examples) and similar_to_any(message.text, examples, share)
        if name == FOREIGN_LINKS:
            return any(not self.is_allowed(host) for host in link_hosts(message.text))
        if name == PHONE_NUMBERS:
            return PHONE.search(message.text) is not None
        if name == CRYPTO_WORDS:
            return self._crypto is not None and self._crypto.search(fold(message.text)) is not None
        return self._repeated(message)

    def is_allowed(self, host: str) -> bool:
        return any(host == domain or host.endswith(f".{domain}") for domain in self.allowed)

    def _repeated(self, message: Suspect) -> bool:
        rule = self.rules.repeated_text
        if not message.earlier or len(message.text.strip()) < rule.min_length:
            return False
        text = normalize(message.text)
        since = message.now - rule.within_minutes * 60.0
        same = sum(
            1 for at, earlier in message.earlier if at > since and normalize(earlier) == text
        )
        return same + 1 >= rule.times


def link_hosts(text: str) -> list[str]:
    """The sites a text links to (lower case, without www.)."""
    hosts = []
    for match in LINK.finditer(text):
        link = match.group(0).rstrip(".,;:!?)")
        host = urlsplit(link if "//" in link else f"//{link}").hostname or ""
        host = host.removeprefix("www.")
        if not host or host.rsplit(".", 1)[-1] in FILE_EXTENSIONS:
            continue
        hosts.append(host)
    return hosts


def fold(text: str) -> str:
    """Lower case, ё as е, runs of spaces as one."""
    return " ".join(folding.fold(text).split())


def normalize(text: str) -> str:
    """A text as spam examples are stored and compared: its words, folded."""
    return " ".join(WORD.findall(fold(text)))[:1000]


def words_of(normalized: str) -> frozenset[str]:
    return frozenset(normalized.split())


def similar_to_any(text: str, examples: Sequence[frozenset[str]], share: float) -> bool:
    """Whether the text's words and an example's overlap by at least `share` of both
    (a short text must equal the example)."""
    words = words_of(normalize(text))
    if not words:
        return False
    for example in examples:
        if not example:
            continue
        if len(words) < 3 or len(example) < 3:
            if words == example:
                return True
            continue
        common = len(words & example)
        if common >= share * len(words) and common >= share * len(example):
            return True
    return False
