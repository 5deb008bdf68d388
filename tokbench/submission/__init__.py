"""``tokbench validate``: is a submitted result folder fit for a published leaderboard?

Each check is one module: ``fields`` (schema, the fields the report reads, provenance), ``names``
(text that would break a table or a page), ``official`` (registered data, protocol presets),
``recompute`` (every aggregate and interval again from the per-instance records); ``validate``
runs them over folders and ``view`` prints the verdict as text, JSON or GitHub annotations.
"""
