"""The operators' desk: cases (tickets) and what operators and the team do with them.

`escalation` opens a case and tells the customer their place; `action` runs an operator
action as one unit of work, and `operators.OperatorDesk` is every action an adapter
calls: replies, notes, take, close, reopen, the queue, and `marks` (VIP, personal manager,
intent labels); `team_actions` assigns, transfers and keeps shifts; `roles` says who may
do what; `routing`, `team`, `assignment`, `sla` and `hours` describe the team
(departments, shifts, service levels, working hours); `edits` relays edited messages;
`compensation` hands out promo codes; `housekeeping` is the periodic work on cases.
Everything an operator reads is worded in desk.yaml (`KnowledgeBase.desk`).
"""
