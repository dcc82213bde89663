"""Reports: support KPIs — `kpi` computes them, `summary` words them for operators (/stats),
`export` renders them (table, CSV, JSON, chart) and `off_loop` runs the heavy reads away from
the event loop — and how well the bot understands customers — `nlu_outcomes` (the four
outcomes as the bot acts) and `nlu_traffic` (the model scored on the shop's own labelled
traffic)."""
