"""From run summaries to the rd file's sections: per metric, each codec's curve and envelope, each
model at each of its rates with its codec-equivalent rate and rate saving, and the Bjøntegaard
deltas between codecs and between model sweeps."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from tokbench.rd.bjontegaard import bd_metric, bd_rate
from tokbench.rd.equivalent import envelope, equivalent_rate
from tokbench.rd.grid import Measured, choose
from tokbench.rd.rate import model_rates

if TYPE_CHECKING:
    from tokbench.rd.runner import RdConfig

# the metrics placed on curves, per suite: TokBench's by bucket and Mean, and the pixel/feature ones
RD_METRICS: dict[str, list[str]] = {
    "recon": ["psnr", "ms_ssim"],
    "text": [f"{m}{b}" for m in ("t_acc", "t_ned") for b in ("_small", "_medium", "_large", "")],
    "face": ["f_sim"],
    "fid": ["rfid"],
}


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and math.isfinite(value) else None


def _spec(summary: dict[str, Any], name: str) -> dict[str, Any] | None:
    from tokbench.metric_spec import MetricSpec, MetricSpecs

    found = MetricSpecs(MetricSpec.from_dict(s) for s in summary.get("metric_specs") or []).find(name)
    return None if found is None else found.to_dict()


def _max_drop(curve: list[tuple[float, float]], higher: bool) -> float:
    """Largest fall of the metric below its best at a lower rate (0 for a monotone curve)."""
    sign = 1.0 if higher else -1.0
    best, drop = -math.inf, 0.0
    for _, v in sorted(curve):
        best = max(best, sign * v)
        drop = max(drop, best - sign * v)
    return drop


def build_sections(cfg: RdConfig, models: list[dict[str, Any]], points: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [_section(cfg, str(res), models, points) for res in cfg.base.resolutions]


def _section(cfg: RdConfig, res: str, models: list[dict[str, Any]], points: list[dict[str, Any]]) -> dict[str, Any]:
    notes: list[str] = []
    placed = {m["spec"]: _rates(m, res) for m in models}
    unplaced = [
        {"spec": m["spec"], "kind": m["kind"], "reason": "no rate: continuous without latent_bits, or identity"}
        for m in models
        if not placed[m["spec"]]
    ]
    metrics: dict[str, Any] = {}
    for suite in [s for s in cfg.base.suites if s in RD_METRICS]:
        for name in RD_METRICS[suite]:
            block = _metric(cfg, res, suite, name, models, placed, points, notes)
            if block is not None:
                metrics[name] = block
    return {"resolution": int(res), "metrics": metrics, "model_rates": placed, "unplaced": unplaced, "notes": notes}


def _rates(model: dict[str, Any], res: str) -> dict[str, dict[str, Any]]:
    suites = model["results"].get(res, {})
    bpp_mean = next((s["bpp_mean"] for s in suites.values() if s.get("bpp_mean") is not None), None)
    language = (suites.get("language") or {}).get("metrics")
    declared = None
    if model.get("latent_bits") and model.get("latent_bits_in_adapter"):
        declared = bpp_mean  # the adapter counted latent values x latent_bits itself
    elif model.get("latent_bits") and model.get("latent_values_per_image"):
        size = next(s["canvas_size"] for s in suites.values())
        declared = model["latent_values_per_image"][res] * model["latent_bits"] / (size * size)
    return model_rates(model["kind"], bpp_mean, language, declared)


def _metric(
    cfg: RdConfig,
    res: str,
    suite: str,
    name: str,
    models: list[dict[str, Any]],
    placed: dict[str, dict[str, dict[str, Any]]],
    points: list[dict[str, Any]],
    notes: list[str],
) -> dict[str, Any] | None:
    summaries = [p["results"].get(res, {}).get(suite) for p in points]
    spec = next((s for x in summaries if x and (s := _spec(x, name))), None)
    if spec is None or not any(x and name in x["metrics"] for x in summaries):
        return None
    if spec.get("direction") not in ("higher", "lower"):
        notes.append(f"{name}: no better side declared, left off the curves")
        return None
    higher = spec["direction"] == "higher"
    codecs: dict[str, Any] = {}
    for codec in cfg.codecs:
        measured = []
        for p, x in zip(points, summaries, strict=True):
            if p["codec"] != codec or not x:
                continue
            bpp = _number(x.get("bpp_mean"))
            if bpp is None or bpp <= 0:
                notes.append(f"{p['spec']} @{res}: no measured rate, left off the {codec} curve")
                continue
            measured.append(Measured(p["target_bpp"], p["down"], bpp, _number(x["metrics"].get(name))))
        choices = choose(measured, higher)
        curve = [(c["chosen"]["bpp"], c["chosen"]["value"]) for c in choices if c["chosen"]]
        codecs[codec] = {
            "choices": choices,
            "curve": [list(p) for p in sorted(curve)],
            "envelope": [list(p) for p in envelope([r for r, _ in curve], [v for _, v in curve], higher)],
            "max_drop": _max_drop(curve, higher),
        }
    out: dict[str, Any] = {
        "suite": suite,
        "label": spec.get("label") or name,
        "direction": spec["direction"],
        "unit": spec.get("unit") or "",
        "codecs": codecs,
        "models": [_place(m, res, suite, name, placed[m["spec"]], codecs, higher) for m in models],
    }
    out["bd_codecs"] = _bd_codecs(codecs, higher)
    out["sweeps"] = _sweeps(out["models"], models, codecs, higher)
    return out


def _place(
    model: dict[str, Any],
    res: str,
    suite: str,
    name: str,
    rates: dict[str, dict[str, Any]],
    codecs: dict[str, Any],
    higher: bool,
) -> dict[str, Any]:
    value = _number(((model["results"].get(res, {}).get(suite) or {}).get("metrics") or {}).get(name))
    entry: dict[str, Any] = {"spec": model["spec"], "value": value, "rates": rates, "equivalent": {}}
    if value is None:
        entry["reason"] = "metric missing in the model's result"
        return entry
    for kind, rate in rates.items():
        entry["equivalent"][kind] = {
            codec: equivalent_rate([tuple(p) for p in c["envelope"]], value, higher).to_dict(rate["bpp"])
            for codec, c in codecs.items()
            if c["envelope"]
        }
    return entry


def _delta(a: list[list[float]], b: list[list[float]], higher: bool) -> dict[str, Any]:
    ref = ([p[0] for p in a], [p[1] for p in a])
    test = ([p[0] for p in b], [p[1] for p in b])
    return {
        "bd_rate_percent": bd_rate(ref, test, higher).to_dict(),
        "bd_metric": bd_metric(ref, test, higher).to_dict(),
    }


def _bd_codecs(codecs: dict[str, Any], higher: bool) -> dict[str, Any]:
    """Every codec against the first one whose curve has two points (the reference)."""
    usable = [c for c, v in codecs.items() if len(v["envelope"]) >= 2]
    if not usable:
        return {"reference": None, "against": {}}
    ref = usable[0]
    return {
        "reference": ref,
        "against": {c: _delta(codecs[ref]["curve"], codecs[c]["curve"], higher) for c in codecs if c != ref},
    }


def _sweeps(
    placed: list[dict[str, Any]], models: list[dict[str, Any]], codecs: dict[str, Any], higher: bool
) -> list[dict[str, Any]]:
    """Models of one name (a family's variants, ``kmeans-vq:K=...``) as curves, per rate kind; each
    against every codec and against the first sweep of the same rate kind."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for model, entry in zip(models, placed, strict=True):
        if entry["value"] is not None:
            groups.setdefault(model["name"], []).append(entry)
    out: list[dict[str, Any]] = []
    first: dict[str, list[list[float]]] = {}
    for name, members in groups.items():
        if len(members) < 2:
            continue
        for kind in sorted({k for m in members for k in m["rates"]}):
            if not all(kind in m["rates"] for m in members):
                continue
            curve = sorted([m["rates"][kind]["bpp"], m["value"]] for m in members)
            sweep = {
                "name": name,
                "rate": kind,
                "members": [m["spec"] for m in members],
                "curve": curve,
                "against_codecs": {c: _delta(v["curve"], curve, higher) for c, v in codecs.items() if v["curve"]},
            }
            if kind in first:
                sweep["against_first_sweep"] = _delta(first[kind], curve, higher)
            else:
                first[kind] = curve
            out.append(sweep)
    return out
