"""Order numbers: `12345678-0001` (8 to 10 digits, a dash, 4 digits, optionally a
shipment suffix such as `-1`), also typed with a space or spaces around the dash."""

from __future__ import annotations

import re

_DASH_CHARS = "\\-\u2010\u2011\u2012\u2013\u2014"
_DASH = f"[{_DASH_CHARS}]"
ORDER_RE = re.compile(
    rf"(?<![\d{_DASH_CHARS}])(\d{{8,10}})\s*(?:{_DASH}\s*|\s)(\d{{4}})"
    rf"(?:\s*{_DASH}\s*(\d{{1,3}}))?(?![\d])"
)
# Twelve to fourteen digits in a row: the dash was left out (12345678 + 0001).
_GLUED_RE = re.compile(r"(?<!\d)(\d{8,10})(\d{4})(?!\d)")
# Something that looks like an attempt at an order number but is not one.
_ATTEMPT_RE = re.compile(rf"\d[\d\s{_DASH_CHARS}]{{3,}}\d")


def find_order_number(text: str) -> str | None:
    """The first valid order number in the text, in canonical form, or None."""
    match = ORDER_RE.search(text)
    if match:
        head, tail, suffix = match.groups()
        return f"{head}-{tail}" + (f"-{suffix}" if suffix else "")
    glued = _GLUED_RE.search(text)
    if glued:
        return f"{glued.group(1)}-{glued.group(2)}"
    return None


def looks_like_order_attempt(text: str) -> bool:
    """True when the text carries a run of digits that is not a valid order number."""
    return find_order_number(text) is None and bool(_ATTEMPT_RE.search(text))


def mask_order_numbers(text: str, token: str) -> str:
    """Replace order numbers with one token so the classifier sees that one was given."""
    text = ORDER_RE.sub(token, text)
    return _GLUED_RE.sub(token, text)


_DIGIT_GROUPS = re.compile(rf"\d+(?:\s*{_DASH}\s*\d+)*")


def bad_number_kind(text: str) -> str | None:
    """What is wrong with an attempt at an order number, for a precise hint:

    - `no_tail`: only the first part, 8 to 10 digits (`87654321`);
    - `tail`: the first part is right, the part after the dash is not 4 digits;
    - `head`: the part before the dash is not 8 to 10 digits;
    - None: no attempt, or nothing more specific to say.
    """
    if find_order_number(text) is not None:
        return None
    groups = [g for g in _DIGIT_GROUPS.findall(text) if len(re.sub(r"\D", "", g)) >= 4]
    if not groups:
        return None
    parts = [p for p in re.split(rf"\s*{_DASH}\s*", groups[0].strip()) if p]
    if len(parts) == 1:
        digits = parts[0]
        return "no_tail" if 8 <= len(digits) <= 10 else ("head" if len(digits) >= 5 else None)
    head, tail = parts[0], parts[1]
    if not 8 <= len(head) <= 10:
        return "head"
    if len(tail) != 4:
        return "tail"
    return None
