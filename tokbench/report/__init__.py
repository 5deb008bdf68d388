"""Leaderboards and release gates, built from result files only (never recomputed).

``collect`` reads and compares results, ``tables`` builds pandas tables, ``render`` / ``html`` /
``svg`` / ``plots`` / ``examples`` write them, ``published`` loads transcribed reference rows,
``gate`` + ``gate_view`` are ``tokbench check``, ``compare`` is ``tokbench compare``, and
``commands`` holds the three CLI entry points. Importing this package imports nothing heavy.
"""
