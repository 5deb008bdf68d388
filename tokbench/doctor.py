"""Help for users: what models exist, what this machine has for them, and what one model lacks.

``list_models()`` describes every real family and variant (resolution, kind, bits per pixel,
licence) and whether its package, clone and weights are here, without importing any of them.
``doctor("gigatok:variant=XLXXL,source=...")`` checks one model end to end: packages, clone,
config, weights, build, and an encode/decode of a random image; each failing check carries
the command or step that fixes it.
"""

from __future__ import annotations

import importlib.util
import os
import textwrap
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from tokbench.families.catalog import Family, Variant, families
from tokbench.families.hub import fetch_command, hub_cached
from tokbench.families.source import pip_name
from tokbench.tokenizer import WeightsUnavailable


@dataclass
class Check:
    """One doctor check: ``fix`` says what to run or do when ``ok`` is False."""

    name: str
    ok: bool
    message: str
    fix: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


EXTRAS = {"pypi:diffusers": "diffusers", "pypi:transformers": "transformers"}


# --------------------------------------------------------------------------------------------
# models
# --------------------------------------------------------------------------------------------


def list_models() -> list[dict[str, Any]]:
    """One row per (family, variant), with what this machine has for it. Imports no model code."""
    rows = []
    for fam in families().values():
        missing = missing_packages(fam)
        clone = _clone_dir(fam, None) if fam.source == "clone" else None
        for v in fam.variants.values():
            rows.append(
                {
                    "model": fam.name,
                    "variant": v.name,
                    "default": v.name == fam.default,
                    "spec": f"{fam.name}:variant={v.name}",
                    "summary": fam.summary,
                    "source": fam.source,
                    "route": fam.route,
                    "kind": fam.kind_of(v),
                    "layout": fam.layout_of(v),
                    "input_range": fam.input_range,
                    "native_size": v.native_size,
                    "size_multiple": v.size_multiple,
                    "downsample": v.downsample,
                    "codebook_sizes": list(v.codebook_sizes),
                    "tokens": sum(v.tokens) if v.tokens else None,
                    "bits_per_image": v.bits_per_image(),
                    "bpp": v.bpp(),
                    "latent_channels": v.latent_channels,
                    "params": v.params,
                    "license": fam.license_of(v),
                    "noncommercial": _restricted(fam, v),
                    "weights": v.weights.describe() if v.weights.repo else (v.weights.filename or "?"),
                    "has_package": not missing,
                    "missing_packages": missing,
                    "has_clone": None if fam.source != "clone" else clone is not None,
                    "clone_env": fam.env if fam.source == "clone" else None,
                    "has_weights": weights_present(fam, v),
                }
            )
    return rows


def render_models(rows: list[dict[str, Any]], width: int = 80) -> str:
    """``list_models`` rows as text, one block per family; a spec is never cut, whatever ``width``."""
    head = ["spec", "kind", "size", "bpp", "weights"]
    cells = [
        [
            r["spec"] + (" (default)" if r["default"] else ""),
            r["kind"],
            str(r["native_size"] or f"x{r['size_multiple']}"),
            f"{r['bpp']:.4f}" if isinstance(r["bpp"], float) else "-",
            "yes" if r["has_weights"] else "no",
        ]
        for r in rows
    ]
    widths = [max(len(c[i]) for c in [head, *cells]) for i in range(len(head))]

    def line(cell: list[str]) -> str:
        spec, rest = cell[0], "  ".join(c.ljust(w) for c, w in zip(cell[1:], widths[1:], strict=True)).rstrip()
        if 2 + widths[0] + 2 + len(rest) <= width:
            return f"  {spec.ljust(widths[0])}  {rest}"
        return f"  {spec}\n      {rest}"  # too narrow for one line: the spec keeps a line of its own

    groups: dict[str, list[tuple[dict[str, Any], list[str]]]] = {}
    for row, cell in zip(rows, cells, strict=True):
        groups.setdefault(row["model"], []).append((row, cell))
    out = [
        *_wrap(
            "Tokenizer families, with what this machine has for each. A family's name alone is its "
            "default variant; `tokbench doctor --model SPEC` checks one end to end.",
            width,
            "",
            "",
        ),
        "",
    ]
    for name, group in groups.items():
        out += _wrap(f"{name}: {group[0][0]['summary']}", width, "")
        out += _wrap(_family_status([row for row, _ in group]), width, "  ")
        out += [line(head), *(line(cell) for _, cell in group), ""]
    return "\n".join(out).rstrip() + "\n"


def _wrap(text: str, width: int, indent: str, hang: str = "    ") -> list[str]:
    # names are never split: no breaks at hyphens (open-magvit2) nor inside long words
    return textwrap.wrap(
        text,
        width,
        initial_indent=indent,
        subsequent_indent=indent + hang,
        break_on_hyphens=False,
        break_long_words=False,
    )


def _family_status(group: list[dict[str, Any]]) -> str:
    """Route, licence(s), packages and clone of one family, as one sentence."""
    first = group[0]
    licences: dict[str, list[str]] = {}
    for r in group:
        licences.setdefault(r["license"], []).append(r["variant"])
    licence = (
        first["license"]
        if len(licences) == 1
        else "; ".join(f"{lic} ({', '.join(variants)})" for lic, variants in licences.items())
    )
    missing = first["missing_packages"]
    parts = [
        f"route: {first['route']}",
        f"licence: {licence}",
        f"packages: missing {', '.join(missing)}" if missing else "packages: ok",
    ]
    if first["has_clone"] is not None:
        where = f"source=PATH or ${first['clone_env']}"
        parts.append("clone: found" if first["has_clone"] else f"clone: not found ({where})")
    return " | ".join(parts)


def _restricted(fam: Family, v: Variant) -> bool:
    lic = fam.license_of(v).lower()
    return fam.noncommercial or "non-commercial" in lic or "research" in lic


def missing_packages(fam: Family) -> list[str]:
    """Importable modules the family needs that are not installed (checked without importing)."""
    needed = [
        "torch",
        *([fam.source.split(":", 1)[1]] if fam.source.startswith("pypi:") else []),
        *fam.packages,
    ]
    return [m for m in dict.fromkeys(needed) if importlib.util.find_spec(m) is None]


def _clone_dir(fam: Family, source: str | None) -> Path | None:
    given = source or os.environ.get(fam.env)
    return Path(given).expanduser() if given and Path(given).expanduser().is_dir() else None


def weights_present(fam: Family, v: Variant, ckpt: str | None = None) -> bool:
    """Whether the variant's weights are on this machine (ckpt=, $TOKBENCH_WEIGHTS or HF cache)."""
    if ckpt:
        return Path(ckpt).expanduser().exists()
    w = v.weights
    if w.filename:
        from tokbench.paths import weights_dir

        if (weights_dir() / fam.name / w.filename).exists():
            return True
    if not w.repo:
        return False
    if w.include:
        return all(hub_cached(w, f) for f in w.include)
    if w.filename:
        return hub_cached(w, w.filename) is not None
    if fam.source == "pypi:transformers":
        return hub_cached(w, "config.json") is not None and (
            hub_cached(w, "model.safetensors.index.json") is not None or hub_cached(w, "model.safetensors") is not None
        )
    if fam.name == "titok":
        return hub_cached(w, "config.json") is not None
    return hub_cached(w, "config.json") is not None and any(
        hub_cached(w, f) for f in ("diffusion_pytorch_model.safetensors", "diffusion_pytorch_model.bin")
    )


# --------------------------------------------------------------------------------------------
# doctor
# --------------------------------------------------------------------------------------------


def doctor(model_spec_text: str, size: int | None = None, device: str = "cpu", echo: bool = False) -> list[Check]:
    """Check one model end to end; returns the checks (and prints them when ``echo``)."""
    from tokbench.registry import MODELS, UnknownName, parse_model_spec

    checks: list[Check] = []
    try:
        spec = parse_model_spec(model_spec_text)
        if not spec.path_target:
            # an alias of a family's variant (``taef2`` = ``tae:variant=taef2``) is checked as that family
            defaults = MODELS.entry(spec.name).defaults
            if defaults.get("family_name"):
                spec = replace(spec, name=defaults["family_name"], options={**defaults, **spec.options})
    except (UnknownName, ValueError) as e:
        checks.append(Check("model name", False, str(e), "tokbench models  # lists every model and variant"))
        return _done(checks, echo)
    checks.append(
        Check(
            "model name",
            True,
            f"{spec.name} is registered" if not spec.path_target else f"adapter file {spec.path_target}",
        )
    )
    fam = families().get(spec.name)
    ready = True
    if fam is not None:
        try:
            variant = fam.variant(spec.options.get("variant"))
        except ValueError as e:
            checks.append(Check("variant", False, str(e), f"pick one of: {', '.join(fam.variants)}"))
            return _done(checks, echo)
        checks.append(Check("variant", True, f"{variant.name} ({_geometry(fam, variant)})"))
        for check in [*_package_checks(fam), *_requirement_checks(fam)]:
            checks.append(check)
            ready &= check.ok
        if fam.source == "clone":
            clone = _clone_check(fam, variant, spec.options)
            checks += clone
            ready &= all(c.ok for c in clone)
        weights = _weights_check(fam, variant, spec.options)
        checks.append(weights)
        ready &= weights.ok
    if not ready:
        checks.append(Check("build", False, "skipped: fix the checks above first", ""))
        return _done(checks, echo)
    checks += _build_and_run(spec, size, device)
    return _done(checks, echo)


def _geometry(fam: Family, v: Variant) -> str:
    size = f"{v.native_size}x{v.native_size}" if v.native_size else f"any multiple of {v.size_multiple}"
    if fam.kind_of(v) == "continuous":
        return f"continuous latent, {size}, licence {fam.license_of(v)}"
    return (
        f"{sum(v.tokens)} tokens, codebook {'/'.join(map(str, sorted(set(v.codebook_sizes))))}, "
        f"{v.bpp():.3f} bpp at {v.native_size or 256}px, {size}, licence {fam.license_of(v)}"
    )


def _package_checks(fam: Family) -> list[Check]:
    out: list[Check] = []
    extra = EXTRAS.get(fam.source)
    for module in ["torch", *([extra] if extra else []), *fam.packages]:
        if module in {c.name.split(" ", 1)[1] for c in out}:
            continue
        ok = importlib.util.find_spec(module) is not None
        fix = ""
        if not ok:
            bounded = [r for r in fam.requirements if _requirement_name(r) == pip_name(module)]
            target = f"'{bounded[0]}'" if bounded else pip_name(module)  # timm<=1.0.12, not the newest
            fix = f"pip install 'tokbench[{extra}]'" if module == extra else f"pip install {target}"
            if fam.source == "clone" and module != "torch":
                fix += f"  (or: pip install -r <clone of {fam.repo}>/requirements.txt)"
        out.append(Check(f"package {module}", ok, "importable" if ok else f"{module} is not installed", fix))
    return out


def _requirement_name(requirement: str) -> str:
    from packaging.requirements import Requirement

    return Requirement(requirement).name


def _requirement_checks(fam: Family) -> list[Check]:
    """Version bounds of the upstream code (e.g. UniTok's timm<=1.0.12)."""
    from tokbench.families.upstream import unmet_requirements

    unmet = {u.requirement: u for u in unmet_requirements(fam)}
    return [
        Check(
            f"requirement {r}",
            r not in unmet,
            unmet[r].message if r in unmet else "met",
            unmet[r].fix if r in unmet else "",
        )
        for r in fam.requirements
    ]


def _clone_check(fam: Family, v: Variant, options: dict[str, Any]) -> list[Check]:
    from tokbench.families.source import resolve_source
    from tokbench.families.upstream import clone_commit, missing_clone_files

    clone = f"git clone https://github.com/{fam.repo} PATH"
    use = f"--model {fam.name}:variant={v.name},source=PATH  (or export {fam.env}=PATH)"
    try:
        root = resolve_source(fam, options.get("source"))
    except WeightsUnavailable as e:
        return [Check("clone", False, str(e).split(". Fix:")[0], f"{clone}; then {use}")]
    commit = clone_commit(root)
    checked = fam.checked_commit or "none recorded"
    at = f"commit {commit}" if commit else "commit unknown (not a git clone)"
    # a different commit is not an error: it is named so a failure further on can be traced to it
    checks = [Check("clone", True, f"{fam.repo} at {root}, {at}; tokbench's adapter was checked against {checked}")]
    for path in missing_clone_files(fam, root):
        checks.append(
            Check(
                f"clone file {path.relative_to(root)}",
                False,
                f"{path} not found (the upstream code opens it on import)",
                f"use a full clone: {clone}",
            )
        )
    if options.get("config") or _uses_clone_config(fam, v, options):
        path = Path(str(options["config"])).expanduser() if options.get("config") else root / str(v.config)
        ok = path.is_file()
        checks.append(
            Check(
                "config",
                ok,
                str(path) if ok else f"{path} not found in the clone",
                "" if ok else f"update the clone (git -C {root} pull) or pass config=PATH",
            )
        )
    return checks


def _uses_clone_config(fam: Family, v: Variant, options: dict[str, Any]) -> bool:
    """Whether building reads the variant's config file from the clone."""
    if not v.config:
        return False
    ckpt = options.get("ckpt")
    if fam.name == "titok":  # hub weights carry their config; only a bare .bin needs the yaml
        return bool(ckpt) and Path(str(ckpt)).expanduser().is_file()
    if fam.name == "bsq-vit" and v.extra.get("hub_config"):
        return bool(ckpt)
    return True


def _weights_check(fam: Family, v: Variant, options: dict[str, Any]) -> Check:
    if options.get("config") is not None and fam.source.startswith("pypi:"):
        return Check("weights", True, "config= given: random weights (no download)")
    ckpt = options.get("ckpt") or options.get("path")
    if fam.source == "clone" and not v.weights.repo and v.weights.include:
        # weights that live in the clone itself (madebyollin/taesd's .pth files)
        clone = _clone_dir(fam, options.get("source"))
        missing = [f for f in v.weights.include if clone is None or not (clone / f).is_file()]
        if not missing:
            return Check("weights", True, f"{', '.join(v.weights.include)} in {clone}")
        return Check("weights", False, f"{', '.join(missing)} not found", v.weights.manual or "")
    if weights_present(fam, v, ckpt):
        where = ckpt or (v.weights.describe() if v.weights.repo else v.weights.filename)
        return Check("weights", True, f"{where} present")
    if ckpt:
        return Check("weights", False, f"{ckpt} does not exist", fetch_command(v.weights))
    if not v.weights.repo:
        return Check(
            "weights",
            False,
            f"{v.weights.filename} not found ({v.weights.manual})",
            f"download {v.weights.filename}, then pass ckpt=PATH or put it in $TOKBENCH_WEIGHTS/{fam.name}/",
        )
    fix = fetch_command(v.weights, options.get("revision"))
    if v.weights.manual:
        fix += f"  (or: {v.weights.manual}; pass ckpt=PATH)"
    return Check("weights", False, f"{v.weights.describe()} is not in the Hugging Face cache", fix)


def _build_and_run(spec: Any, size: int | None, device: str) -> list[Check]:
    import torch

    from tokbench.registry import build_model

    checks: list[Check] = []
    try:
        adapter = build_model(spec)
        adapter.load(device=device, dtype="fp32")
    except WeightsUnavailable as e:
        msg, _, fix = str(e).partition(" Fix: ")
        return [Check("build", False, msg, fix)]
    except Exception as e:  # any failure while building is what the user needs to see
        return [Check("build", False, f"{type(e).__name__}: {e}", "run with TOKBENCH_VERBOSE=1 for upstream output")]
    info = adapter.info
    checks.append(
        Check(
            "build",
            True,
            f"{info.name}: {info.params or '?'} parameters, licence {info.license}"
            + (f", sha256 {info.weights_sha256[:12]}" if info.weights_sha256 else ""),
        )
    )
    s = size or info.native_size or info.canvas_size(64)
    x = torch.rand(1, 3, s, s, generator=torch.Generator().manual_seed(0))
    try:
        enc = adapter.encode(x.to(device))
        out = adapter.decode(enc)
    except Exception as e:  # report the failure as a check, not a traceback
        return [*checks, Check("encode/decode", False, f"{type(e).__name__}: {e}", "")]
    problems = []
    if not isinstance(out, torch.Tensor) or tuple(out.shape) != tuple(x.shape):
        problems.append(f"output shape {tuple(getattr(out, 'shape', ()))} != {tuple(x.shape)}")
    elif not bool(torch.isfinite(out).all()):
        problems.append("output has NaN/Inf")
    elif float(out.min()) < 0 or float(out.max()) > 1:
        problems.append(f"output range [{float(out.min()):.3g}, {float(out.max()):.3g}] is not [0,1]")
    levels = enc.code_levels()
    if info.kind == "discrete" and (not levels or any(lv.dtype.is_floating_point for lv in levels)):
        problems.append("a discrete tokenizer returned no integer codes")
    shapes = ", ".join(str(tuple(lv.shape)) for lv in levels) if levels else str(tuple(enc.latents.shape))
    bits = float(enc.bits[0]) if enc.bits is not None else None
    detail = f"{s}x{s} -> {shapes}" + (f", {bits:.0f} bits ({bits / (s * s):.4f} bpp)" if bits else "")
    checks.append(
        Check(
            "encode/decode",
            not problems,
            "; ".join(problems) or detail,
            "" if not problems else "this is an adapter bug: please report it with this output",
        )
    )
    return checks


def render(checks: list[Check]) -> str:
    """Human-readable lines: one per check, with the fix under each failing one."""
    lines = []
    for c in checks:
        status = "ok" if c.ok else "FAIL" if c.name in ("build", "encode/decode") else "MISSING"
        lines.append(f"[{status}] {c.name}: {c.message}")
        if not c.ok and c.fix:
            lines.append(f"      fix: {c.fix}")
    return "\n".join(lines)


def _done(checks: list[Check], echo: bool) -> list[Check]:
    if echo:
        print(render(checks))
    return checks
