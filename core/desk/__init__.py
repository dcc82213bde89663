"""The operators' desk: cases (tickets) and what operators and the team do with them.

`escalation` opens a case and tells the customer their place; `operators.OperatorDesk` runs
every operator action as one unit of work; `team_actions` assigns, transfers and keeps
shifts; `roles` says who may do what; `routing`, `team`, `assignment`, `sla` and `hours`
describe the team (departments, shifts, service levels, working hours); `edits` relays edited
messages; `compensation` hands out promo codes; `housekeeping` is the periodic work on cases.
"""
