"""One plugin table, a one-way registry, contracts checked on build, backends from one file."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from tokbench import plugins
from tokbench.errors import ConfigError, ContractError, TokbenchError
from tokbench.registry import SUITES, build_model, builtin_tables, parse_model_spec
from tokbench.suite import Item

ECHO_OCR = textwrap.dedent('''
    from tokbench.backends.ocr import Reading

    class ShoutOcr:
        """Reads every crop as the same word, in upper case when asked."""
        name = "shout"
        charset = None

        def __init__(self, word="HELLO", batch_size=8, lower=False):
            self.word = word.lower() if lower else word
            self.batch_size = batch_size

        def fingerprint(self):
            return {"backend": "shout", "word": self.word}

        def setup(self, device):
            pass

        def recognize(self, crops):
            return [Reading(self.word, 1.0) for _ in crops]

    class Broken:
        name = "broken"
        charset = None

        def __init__(self, batch_size=8):
            self.batch_size = batch_size
''')


def test_a_backend_from_one_file_scores_the_text_suite(tmp_path: Path) -> None:
    from tokbench.suites.text import TextSuite

    path = tmp_path / "my_ocr.py"
    path.write_text(ECHO_OCR)
    suite = TextSuite(ocr=f"{path}:ShoutOcr:word=Road")
    img = np.full((64, 128, 3), 200, np.uint8)
    anns = {"text": [{"rec": "Road", "bbox": [10, 10, 90, 40]}, {"rec": "Lane", "bbox": [5, 40, 60, 60]}]}
    records = suite.process([Item("a.png", img, img, img, img, 256, anns)])[0]
    assert [r["pred"] for r in records] == ["Road", "Road"] and [r["acc"] for r in records] == [1.0, 0.0]
    assert suite.fingerprint()["backend"] == {"backend": "shout", "word": "Road"}
    with pytest.raises(ContractError, match="lacks .*recognize"):
        TextSuite(ocr=f"{path}:Broken")
    with pytest.raises(ConfigError, match="unknown option.*colour.*accepted: batch_size, lower, word"):
        TextSuite(ocr=f"{path}:ShoutOcr:colour=red")


def test_every_builtin_name_comes_from_the_plugin_table() -> None:
    tables = builtin_tables()
    assert [len(t) for _, t in tables] == [
        len(plugins.MODELS),
        len(plugins.SUITES),
        len(plugins.OCR),
        len(plugins.FACE),
    ]
    for registry, table in tables:
        for plugin in table:
            assert registry.entry(plugin.name).target == plugin.target


def test_the_registry_imports_no_plugin_and_listing_imports_nothing_heavy() -> None:
    code = (
        "import sys, tokbench.registry as r; r.MODELS.names(); r.SUITES.names(); "
        "bad = [m for m in sys.modules if m.startswith(('tokbench.backends', 'tokbench.suites', 'torch'))]; "
        "print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_built_objects_are_checked_against_their_contract(tmp_path: Path) -> None:
    path = tmp_path / "not_a_tok.py"
    path.write_text("class NotATok:\n    def __init__(self, k=1):\n        self.k = k\n")
    with pytest.raises(ContractError, match="TokenizerInfo"):
        build_model(parse_model_spec(f"{path}:NotATok"))
    with pytest.raises(ConfigError, match="unknown option.*qualty.*accepted: .*quality"):
        build_model(parse_model_spec("jpeg:qualty=5"))
    suite_file = tmp_path / "half_suite.py"
    suite_file.write_text("from tokbench.suite import Suite\n\nclass Half(Suite):\n    name = 'half'\n")
    with pytest.raises(ContractError, match="process, aggregate"):
        SUITES.construct(__import__("tokbench.registry").registry.load_target(f"{suite_file}:Half"), "half", {})


def test_user_errors_are_one_kind() -> None:
    from tokbench.data.images import BadImage
    from tokbench.registry import UnknownName
    from tokbench.results import BadResult
    from tokbench.validate import AdapterError

    for kind in (BadImage, UnknownName, BadResult, AdapterError):
        assert issubclass(kind, TokbenchError)
    assert issubclass(UnknownName, KeyError) and issubclass(BadImage, ValueError)  # callers' excepts still work


def test_a_file_suite_takes_options_under_its_own_name(tmp_path: Path, image_folder: Path) -> None:
    import shutil

    from tokbench.results import read_result
    from tokbench.runner import RunConfig, run

    template = Path(__file__).resolve().parent.parent / "docs" / "templates" / "suite.py"
    shutil.copy(template, tmp_path / "my_suite.py")
    config = RunConfig(
        model="jpeg:quality=30",
        suites=[f"{tmp_path / 'my_suite.py'}:SharpnessSuite"],
        dataset="folder",
        images=str(image_folder),
        output_dir=str(tmp_path / "out"),
        cache_dir=str(tmp_path / "cache"),
        suite_options={"sharpness": {"where": "canvas"}},
    )
    [path] = run(config)
    result = read_result(path)
    assert result["suite"]["options"] == {"where": "canvas"}
    assert 0 < result["metrics"]["sharpness_ratio"] < 1.5
    assert result["metric_specs"][0]["label"] == "Sharpness"
