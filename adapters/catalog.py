"""Registrations of the real tokenizer families (diffusers VAEs, transformers VQ, clone-based repos).

Every entry is a lazy ``module:Class`` string built from the tables in :mod:`tokbench.upstream`
(stdlib only), so ``tokbench list`` imports neither torch nor any model code.
"""

from __future__ import annotations

from typing import Any


def register_real_families(models: Any) -> None:
    """Register every real-family adapter on ``models`` as lazy ``module:Class`` targets."""
    from tokbench.upstream import FAMILIES

    for name, fam in FAMILIES.items():
        variants = "|".join(fam.variants)
        where = "clone: source=PATH" if fam.source == "clone" else fam.source
        summary = f"{fam.summary} [variant={variants}; default {fam.default}; {where}]"
        models.register(name, fam.target, summary, family_name=name)
