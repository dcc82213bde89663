"""Customers' personal data as 152-FZ asks: erasure on request (by the customer, an
operator's `/forget`, `supportbot forget`), export (`supportbot export`, `/export`),
retention (`RETENTION_DAYS`), the privacy line and the answer about what is stored.

    identity.py    the salted slow hash and the K-label an erased customer is known by
    detector.py    "удалите мои данные", "какие данные вы храните?" — phrase rules
    requests.py    the customer's side, hooked into the engine's turn
    erasure.py     erasing as one unit of work, with its act and the operators' side
    retention.py   the hourly pass: old texts, silent customers, operational rows
    export.py      everything stored about a customer, as JSON
    desk.py        `/forget` and `/export` for senior operators
    service.py     the parts wired together (`Privacy`)

The SQL is in `core.storage.privacy` (every table, and what erasure does to it).
"""
