"""`make demo`: the whole system on one machine, from a fresh clone.

A real Prometheus fed by the simulator (backfilled history, then live scrapes with the
project's rules), the web app on SQLite with example accounts, tariffs and one user per role,
the previous month closed and exported, and collection running every hour. Everything lives
in var/demo/ so that a second run reuses it. `python -m simulator.demo --help` lists options.
"""
