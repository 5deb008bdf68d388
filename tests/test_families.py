"""Families: a new family is one file, every route shares one base, ``tokbench models`` fits 80 columns."""

from __future__ import annotations

import importlib
import sys
import textwrap
from importlib import metadata
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from tokbench import plugins, registry
from tokbench.cli import app
from tokbench.doctor import list_models, render_models
from tokbench.families import FamilyTokenizer, catalog
from tokbench.registry import Registry, build_model, load_target, parse_model_spec

# A whole family in one file: its catalog row beside its adapter, and no __init__ (the row says it all).
SIGN_POOL = '''
    """Average-pool, then one sign bit per colour channel: 8 codes per position."""

    from __future__ import annotations

    from typing import Any

    from tokbench.tokenizer import Encoded
    from tokbench.families import Built, Family, FamilyTokenizer, Variant, Weights

    FAMILY = Family(
        "sign-pool", f"{__name__}:SignPool", "average-pool then sign bits (a stand-in)", "pypi:signpool",
        "discrete", "2d", "[-1,1]", "MIT",
        {f"f{ds}": Variant(f"f{ds}", Weights(), native_size=None, size_multiple=ds, downsample=ds,
                           codebook_sizes=(8,), tokens=((256 // ds) ** 2,)) for ds in (8, 16)},
        "f16")


    class SignPool(FamilyTokenizer):
        family_name = "sign-pool"

        def _build(self) -> Built:
            import torch

            return Built(torch.nn.AvgPool2d(self.variant.downsample), random_init=True)

        def _encode(self, x: Any) -> Encoded:
            bits = (self._model(x) > 0).long()
            return Encoded(codes=bits[:, 0] * 4 + bits[:, 1] * 2 + bits[:, 2])

        def _decode(self, encoded: Encoded) -> Any:
            import torch

            c = encoded.codes
            planes = torch.stack([(c >> 2) & 1, (c >> 1) & 1, c & 1], 1).float() - 0.5
            return torch.nn.functional.interpolate(planes, scale_factor=self.variant.downsample)
'''


def run_models(columns: int = 80) -> str:
    result = CliRunner().invoke(app, ["models"], env={"COLUMNS": str(columns)})
    assert result.exit_code == 0, result.output
    return result.output


def words(text: str) -> set[str]:
    return {w for line in text.splitlines() for w in line.split()}


@pytest.fixture
def fresh_catalog(monkeypatch: pytest.MonkeyPatch) -> Registry:
    """The catalog and the model registry as a new process builds them (rows read again)."""
    monkeypatch.setattr(catalog, "_catalog", {})
    models = Registry("model")
    monkeypatch.setattr(registry, "MODELS", models)
    return models


def test_a_family_is_one_file_named_by_an_entry_point(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_catalog: Registry
) -> None:
    (tmp_path / "signpool.py").write_text(textwrap.dedent(SIGN_POOL).lstrip())
    dist = tmp_path / "signpool-0.1.dist-info"  # what `pip install` of that one file leaves behind
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: signpool\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[tokbench.families]\nsign-pool = signpool\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "signpool", raising=False)
    try:
        catalog.register_families(fresh_catalog)
        assert "sign-pool" in fresh_catalog.names() and "gigatok" in fresh_catalog.names()
        out = run_models()
        assert {"sign-pool:", "sign-pool:variant=f8", "sign-pool:variant=f16"} <= words(out)
        assert "route: signpool hub" in out
        adapter = build_model(parse_model_spec("sign-pool:variant=f8"))
        assert isinstance(adapter, FamilyTokenizer) and adapter.info.name == "sign-pool-f8"
        assert adapter.info.size_multiple == 8 and adapter.info.token_layout == "2d"
        x = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(0))
        enc = adapter.encode(x)
        assert enc.codes.shape == (2, 4, 4) and enc.bits.tolist() == [16 * 3.0] * 2  # 16 positions x log2(8)
        out_img = adapter.decode(enc)
        assert out_img.shape == x.shape and 0 <= float(out_img.min()) and float(out_img.max()) <= 1
        with pytest.raises(ValueError, match="accepted: variant, revision, offline"):
            build_model(parse_model_spec("sign-pool:bogus=1"))
    finally:
        sys.modules.pop("signpool", None)


def test_a_broken_family_plugin_is_left_out_with_a_warning(
    monkeypatch: pytest.MonkeyPatch, fresh_catalog: Registry
) -> None:
    eps = [
        metadata.EntryPoint(name="nothing", value="json", group=catalog.ENTRY_POINT_GROUP),
        metadata.EntryPoint(name="gone", value="no_such_family_module", group=catalog.ENTRY_POINT_GROUP),
    ]
    monkeypatch.setattr(metadata, "entry_points", lambda group=None: eps if group == catalog.ENTRY_POINT_GROUP else [])
    with pytest.warns(UserWarning, match="left out") as caught:
        found = catalog.families()
    assert len(caught) == 2 and "declares no FAMILY" in str(caught[0].message)
    assert "gigatok" in found and len(found) == sum(
        len(catalog.rows_of(importlib.import_module(m))) for m in plugins.FAMILY_MODULES
    )


def test_every_family_row_lives_beside_an_adapter_on_the_shared_base() -> None:
    for name, fam in catalog.families().items():
        module_name, _, cls_name = fam.target.partition(":")
        module = importlib.import_module(module_name)
        assert fam in catalog.rows_of(module), f"{name}'s row is not in {module_name}"
        cls = load_target(fam.target)
        assert issubclass(cls, FamilyTokenizer), f"{fam.target} does not derive from FamilyTokenizer"
        adapter = cls(family_name=name)
        assert adapter.fam is fam and adapter.variant.name == fam.default


def test_models_at_80_columns_names_every_spec_whole_with_its_route() -> None:
    rows = list_models()
    out = run_models(80)
    assert all(len(line) <= 80 for line in out.splitlines()), max(out.splitlines(), key=len)
    present = words(out)
    for r in rows:
        assert r["spec"] in present, f"{r['spec']} is cut or missing"
        assert f"{r['model']}:" in present  # the family name alone (its default variant)
    for route in ("diffusers hub", "transformers hub", "clone"):
        assert f"route: {route}" in out
    assert "sd-vae:variant=mse (default)" in out


def test_models_keeps_specs_whole_when_the_terminal_is_narrower_than_a_row() -> None:
    rows = list_models()
    present = words(render_models(rows, 30))
    assert all(r["spec"] in present for r in rows)
