"""Registry: lazy targets, option parsing, helpful unknown-name errors, entry points."""

from __future__ import annotations

import subprocess
import sys
from importlib import metadata

import pytest

from tokbench.registry import MODELS, Registry, UnknownName, parse_model_spec, parse_options


def test_parse_options_types_values() -> None:
    assert parse_options("quality=5,down=4,bpp=0.05,name=x,flag=true,mode=nan") == {
        "quality": 5,
        "down": 4,
        "bpp": 0.05,
        "name": "x",
        "flag": True,
        "mode": "nan",
    }
    with pytest.raises(ValueError, match="key=value"):
        parse_options("quality")


def test_model_spec_forms() -> None:
    spec = parse_model_spec("jpeg:quality=5,down=4")
    assert (spec.name, spec.options, spec.id) == ("jpeg", {"quality": 5, "down": 4}, "jpeg:down=4,quality=5")
    spec = parse_model_spec("path/to/my_tok.py:MyTok:k=3")
    assert spec.path_target == "path/to/my_tok.py:MyTok" and spec.options == {"k": 3}
    with pytest.raises(ValueError, match="needs a class"):
        parse_model_spec("my_tok.py")


def test_unknown_name_suggests_close_matches() -> None:
    with pytest.raises(UnknownName) as err:
        MODELS.entry("jpg")
    assert "Did you mean 'jpeg'" in str(err.value) and "Available:" in str(err.value)


def test_register_validates_names() -> None:
    reg = Registry("thing")
    reg.register("a", "json:dumps")
    with pytest.raises(ValueError, match="already registered"):
        reg.register("a", "json:dumps")
    with pytest.raises(ValueError, match="invalid"):
        reg.register("a/b", "json:dumps")
    assert reg.resolve("a").__name__ == "dumps"


def test_entry_points_are_discovered(monkeypatch: pytest.MonkeyPatch) -> None:
    ep = metadata.EntryPoint(
        name="thirdparty-tok", value="tokbench.adapters.identity:Identity", group="tokbench.adapters"
    )
    monkeypatch.setattr(metadata, "entry_points", lambda group=None: [ep] if group == "tokbench.adapters" else [])
    reg = Registry("model", entry_point_group="tokbench.adapters")
    assert "thirdparty-tok" in reg.names()
    assert reg.build("thirdparty-tok").info.name == "identity"


def test_listing_imports_no_heavy_module() -> None:
    code = (
        "import sys; from tokbench.registry import MODELS, SUITES; MODELS.names(); SUITES.names(); "
        "heavy = [m for m in ('torch', 'easyocr', 'dlib', 'diffusers', 'torchvision') if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
