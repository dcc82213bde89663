"""Which follow-up topics fit an order where it is: the buttons under an answer about it.

An answer's related topics (answers.yaml) suit the question in general; about one order,
some make no sense — "change the delivery" or "cancel" for a cancelled order, "return it"
before it arrived — and some fit better, such as the refund of a cancelled order.
"""

from __future__ import annotations

from collections.abc import Sequence

from core.orders import states as st

_NOT_YET_RECEIVED = frozenset({"return_item", "damaged_item", "not_received", "courier_complaint"})
_OVER = frozenset({"order_cancel", "delivery_change", "not_received", "courier_complaint"})

# Topics that do not fit an order in the state.
UNFIT: dict[str, frozenset[str]] = {
    **{state: _NOT_YET_RECEIVED for state in st.NOT_SHIPPED},
    st.IN_TRANSIT: frozenset({"return_item", "damaged_item", "courier_complaint"}),
    st.DELAYED: frozenset({"return_item", "damaged_item", "courier_complaint"}),
    st.COURIER: frozenset({"return_item", "damaged_item"}),
    st.AT_PICKUP_POINT: _NOT_YET_RECEIVED,
    st.DELIVERED: frozenset({"order_cancel", "delivery_change"}),
    st.CANCELLED: _OVER | {"return_item", "damaged_item"},
    st.RETURN_REQUESTED: _OVER | {"damaged_item"},
    st.RETURNED: _OVER | {"damaged_item"},
}
# Topics that fit an order in the state whatever the question, offered after the related.
FITTING: dict[str, tuple[str, ...]] = {
    st.DELIVERED: ("return_item",),
    st.CANCELLED: ("refund",),
    st.RETURN_REQUESTED: ("refund",),
    st.RETURNED: ("refund",),
}
MAX_TOPICS = 3


def follow_ups(related: Sequence[str], state: str, asked: str = "") -> tuple[str, ...]:
    """The topics to offer under an answer to `asked` about an order in `state`: the
    question's related topics that fit it, then the state's own, at most three."""
    unfit = UNFIT.get(state, frozenset())
    topics = [t for t in related if t not in unfit]
    topics += [t for t in FITTING.get(state, ()) if t not in topics]
    return tuple(t for t in topics if t != asked)[:MAX_TOPICS]
