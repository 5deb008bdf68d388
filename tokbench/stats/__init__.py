"""Uncertainty of every number: bootstrap intervals of aggregates (``intervals``), paired tests between
two models (``paired``), resampled rFID / KID (``fid``), and what each aggregate estimates (``estimand``)."""
