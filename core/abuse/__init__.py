"""Strangers cannot flood the desk (issue 17): per-customer limits, blocking, spam rules,
and real customers first when the operators' group's post budget is short.

    limits.py    messages a minute and new cases a day (pure figures)
    spam.py      the rules of config/spam.yaml, checked at start-up
    guard.py     the engine's hook: a customer's turn screened, written in its transaction
    screening.py what the guard found for a turn, carried on it to the transaction
    blocking.py  /ban, /unban, /spam, /link: operator actions, units of work
    lanes.py     the order of the group's post budget (verified customers first) and each
                 case's share of it
    report.py    the /stats line and `supportbot bans`

Nothing a customer writes is dropped: a limited, blocked or spam message is stored and
marked (`message_marks`), and counted (`supportbot_abuse_messages_total{kind}`).
"""
