"""Support KPIs: `kpi` computes them, `export` renders them (table, CSV, JSON, chart) and
`off_loop` runs the heavy reads away from the event loop."""
