"""Controlled scale sweeps: the smallest text a tokenizer keeps readable and the smallest face it keeps
recognisable, in pixels at the canvas, with intervals (the ``sweep`` suite, :mod:`suites.sweep`).

``layout`` places instances on the tokenizer's patch grid, ``text`` and ``faces`` draw them, ``dataset``
builds (and caches, verified by hash) the generated set, ``threshold`` fits logistic curves and bootstraps
thresholds, ``summary`` turns records into curves and thresholds, ``board`` renders the leaderboard table.
"""
