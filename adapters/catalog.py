"""Registrations of the real tokenizer families (diffusers VAEs, clone-based repos)."""

from __future__ import annotations

from typing import Any


def register_real_families(models: Any) -> None:
    """Register every real-family adapter on ``models`` as lazy ``module:Class`` targets."""
