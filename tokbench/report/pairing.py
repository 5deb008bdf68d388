"""Pair the results of two sets (new vs baseline, A vs B) by suite, dataset and resolution."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from tokbench.report.collect import Entry, collect, dedupe

Key = tuple[str, str, int]


@dataclass
class Pairing:
    pairs: list[tuple[str, Entry, Entry]] = field(default_factory=list)  # (label, a, b)
    only_a: list[Entry] = field(default_factory=list)
    only_b: list[Entry] = field(default_factory=list)
    ambiguous: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def load_side(paths: list[str | Path], notes: list[str]) -> list[Entry]:
    found = collect(paths)
    notes.extend(found.notes)
    return dedupe(found.entries, notes)


def key_of(e: Entry) -> Key:
    return (e.suite, e.dataset, e.resolution)


def label_of(key: Key, model: str | None = None) -> str:
    suite, dataset, res = key
    return f"{suite} / {dataset} @{res}" + (f" [{model}]" if model else "")


def pair(a: list[Entry], b: list[Entry], names: tuple[str, str] = ("A", "B"), by_model: bool = False) -> Pairing:
    """Model-agnostic pairing; a key held by several models on one side is ambiguous, unless
    ``by_model`` is set, in which case those keys pair model by model."""
    out = Pairing()
    ga: dict[Key, list[Entry]] = {}
    gb: dict[Key, list[Entry]] = {}
    for e in a:
        ga.setdefault(key_of(e), []).append(e)
    for e in b:
        gb.setdefault(key_of(e), []).append(e)
    for key in sorted(set(ga) | set(gb)):
        xs, ys = ga.get(key, []), gb.get(key, [])
        if not xs or not ys:
            out.only_a += xs
            out.only_b += ys
            continue
        if len(xs) == 1 and len(ys) == 1:
            out.pairs.append((label_of(key), xs[0], ys[0]))
            continue
        if by_model:
            mx, my = {e.model: e for e in xs}, {e.model: e for e in ys}
            for model in sorted(set(mx) & set(my)):
                out.pairs.append((label_of(key, model), mx[model], my[model]))
            out.only_a += [e for m, e in mx.items() if m not in my]
            out.only_b += [e for m, e in my.items() if m not in mx]
            continue
        for name, group in ((names[0], xs), (names[1], ys)):
            if len(group) > 1:
                models = ", ".join(sorted(e.model for e in group))
                out.ambiguous.append(
                    f"{name} has {len(group)} results for {label_of(key)} (models {models}); "
                    "pass one model's files or folder"
                )
    return out
