"""Reproduce published rFIDs on a networked GPU machine; expected values and tolerances are written here.

    python benchmarks/rfid_papers.py [--dry-run] [--only llamagen-vq16,titok-l32] [--output-dir DIR] [--device cuda]

Needs ``TOKBENCH_IMAGENET_VAL`` (the 50,000 ImageNet validation JPEGs in one folder), the tokenizers' upstream
clones and weights (``docs/models.md``), and a GPU: 50,000 reconstructions and 100,000 Inception passes.
Each target runs ``tokbench run`` once, reads rFID from the result file and checks it against the paper's
value within the tolerance; the exit status is 0 when every target is met, 1 otherwise.
``--dry-run`` checks every command (model, protocol, suite options) without running anything.

Targets:

- ``llamagen-vq16``: LlamaGen VQ-16 (c2i, 256), rFID **2.19** (LlamaGen paper, Table 2; GigaTok's tables
  reproduce it): ADM evaluator on ImageNet-val 50k, ADM centre crop at 256, reference = the 50k preprocessed
  originals. tokbench: ``--protocol adm-crop`` and ``fid:preset=imagenet256-adm`` (variant ``adm``, which is
  numerically torch-fidelity's TF-FID port of the evaluator's TF graph). Tolerance 3 % relative: the port
  agrees with the TF graph to ~1e-3 in FID, the rest is the GPU's decode arithmetic.
- ``titok-l32``: TiTok-L-32, rFID **2.21** (TiTok paper, Table 1): torch-fidelity's Inception on
  ImageNet-val 50k at 256. Preprocessing read from the 1d-tokenizer repository as ``Resize(256)`` +
  ``CenterCrop(256)`` (``--protocol torchvision-crop``, ``fid:variant=torch-fidelity``); not verified
  offline, hence the wider 5 % tolerance.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Target:
    name: str
    model: str
    protocol: str
    fid_options: dict[str, str]
    expected: float
    rel_tolerance: float
    source: str

    def command(self, output_dir: Path, device: str) -> list[str]:
        opts = [f"--suite-arg=fid:{k}={v}" for k, v in self.fid_options.items()]
        return [
            sys.executable,
            "-m",
            "tokbench",
            "run",
            "--model",
            self.model,
            "--suite",
            "fid",
            "--dataset",
            "imagenet-val",
            "--resolution",
            "256",
            "--protocol",
            self.protocol,
            "--device",
            device,
            "--output-dir",
            str(output_dir / self.name),
            *opts,
        ]

    def met(self, value: float) -> bool:
        return abs(value - self.expected) <= self.rel_tolerance * self.expected


TARGETS = {
    t.name: t
    for t in (
        Target(
            "llamagen-vq16",
            "llamagen:variant=VQ-16",
            "adm-crop",
            {"preset": "imagenet256-adm"},
            2.19,
            0.03,
            "LlamaGen (arXiv 2406.06525) Table 2, rFID of VQ-16 on ImageNet 256x256 val 50k, ADM evaluator",
        ),
        Target(
            "titok-l32",
            "titok:variant=l32",
            "torchvision-crop",
            {"where": "canvas", "variant": "torch-fidelity"},
            2.21,
            0.05,
            "TiTok (arXiv 2406.07550) Table 1, rFID of TiTok-L-32 on ImageNet 256x256 val 50k",
        ),
    )
}


def check(target: Target) -> None:
    """Validate a target's command without running it: model family and variant, protocol, suite options."""
    from tokbench.suites.fid import FidSuite

    from tokbench.config import RunConfig
    from tokbench.families.catalog import family
    from tokbench.registry import parse_model_spec

    spec = parse_model_spec(target.model)
    family(spec.name).variant(spec.options.get("variant"))
    RunConfig(model=target.model, suites=["fid"], dataset="imagenet-val", resolutions=[256], protocol=target.protocol)
    FidSuite(**target.fid_options)


def rfid_of(output_dir: Path) -> float:
    [path] = sorted(output_dir.rglob("fid-256.json"))
    value = json.loads(path.read_text())["metrics"]["rfid"]
    if value is None:
        raise SystemExit(f"{path}: no rFID in the result")
    return float(value)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dry-run", action="store_true", help="check and print the commands; run nothing")
    ap.add_argument("--only", default=",".join(TARGETS), help="comma-separated targets")
    ap.add_argument("--output-dir", default="results/rfid-papers", type=Path)
    ap.add_argument("--device", default="cuda")
    args = ap.parse_args(argv)
    names = [n for n in args.only.split(",") if n]
    unknown = [n for n in names if n not in TARGETS]
    if unknown:
        ap.error(f"unknown target(s) {', '.join(unknown)}; known: {', '.join(TARGETS)}")
    failed = 0
    for name in names:
        target = TARGETS[name]
        check(target)
        cmd = target.command(args.output_dir, args.device)
        band = f"{target.expected} ± {target.rel_tolerance:.0%}"
        print(f"{name}: expect rFID {band} ({target.source})\n  {' '.join(cmd[1:])}")
        if args.dry_run:
            continue
        subprocess.run(cmd, check=True)
        value = rfid_of(args.output_dir / name)
        ok = target.met(value)
        failed += not ok
        print(f"  measured rFID {value:.3f}: {'met' if ok else 'MISSED'}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
