"""Where an order is in its life, as one word the bot can reason with.

The shop's API may send it (`"state"`); otherwise it is read from the status words the
customer sees ("В пути: …", "Прибыл в пункт выдачи…"), first matching rule wins.
"""

from __future__ import annotations

import re

AWAITING_PAYMENT = "awaiting_payment"  # placed, not paid yet
CREATED = "created"  # placed (and paid, or paid on delivery), not yet picked
ASSEMBLING = "assembling"  # being picked and packed at the warehouse
IN_TRANSIT = "in_transit"  # handed to delivery, on its way
DELAYED = "delayed"  # on its way, late
COURIER = "courier"  # with the courier, arriving in the chosen slot
AT_PICKUP_POINT = "at_pickup_point"  # waiting for the customer at the pickup point
DELIVERED = "delivered"  # the customer got it
CANCELLED = "cancelled"
RETURN_REQUESTED = "return_requested"  # a return is open, the item not handed back yet
RETURNED = "returned"  # the item is back, the money is (being) refunded
UNKNOWN = "unknown"

STATES = frozenset(
    {
        AWAITING_PAYMENT,
        CREATED,
        ASSEMBLING,
        IN_TRANSIT,
        DELAYED,
        COURIER,
        AT_PICKUP_POINT,
        DELIVERED,
        CANCELLED,
        RETURN_REQUESTED,
        RETURNED,
        UNKNOWN,
    }
)

# Not yet handed to delivery: the order can still be cancelled or redirected.
NOT_SHIPPED = frozenset({AWAITING_PAYMENT, CREATED, ASSEMBLING})
# On the way to the customer.
ON_THE_WAY = frozenset({IN_TRANSIT, DELAYED, COURIER})
# The customer has (or could have) the parcel in hand.
RECEIVED = frozenset({DELIVERED})
CLOSED = frozenset({CANCELLED, RETURN_REQUESTED, RETURNED})

_RULES: tuple[tuple[str, str], ...] = (
    (r"возврат.*(принят|зачисл|вернул|возвращен)", RETURNED),
    (r"возврат", RETURN_REQUESTED),
    (r"отмен", CANCELLED),
    (r"ожида\w* оплат|не оплачен", AWAITING_PAYMENT),
    (r"задерж|опазд", DELAYED),
    (r"курьер\w* (привез|везет|едет)|передан курьеру|у курьера", COURIER),
    (r"пункт\w* выдачи|постамат|ожидает получения", AT_PICKUP_POINT),
    (r"доставлен|получен|вручен|выдан", DELIVERED),
    (r"в пути|отправлен|сортировочн|передан в (службу )?доставк", IN_TRANSIT),
    (r"собира|комплект|упаков", ASSEMBLING),
    (r"оформлен|оплачен|создан|принят", CREATED),
)


def state_from_status(status: str) -> str:
    """The state the status words describe, or `unknown`."""
    text = status.lower().replace("ё", "е")
    for pattern, state in _RULES:
        if re.search(pattern, text):
            return state
    return UNKNOWN
