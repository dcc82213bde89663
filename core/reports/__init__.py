"""Support KPIs: `kpi` computes them, `summary` words them for operators (/stats),
`export` renders them (table, CSV, JSON, chart) and `off_loop` runs the heavy reads away
from the event loop."""
