"""A metric declares itself (issue #20): suites declare their metrics, results carry the declarations,
and ``report``, ``check`` and ``compare`` read them from there; ``/1`` results still read."""

from __future__ import annotations

import json
import re
import shutil
import textwrap
from pathlib import Path
from typing import Any

import pytest
from fakes import make_result, write_fake

from tokbench.errors import ConfigError
from tokbench.metric_spec import HIGHER, LOWER, MetricSpec, MetricSpecs
from tokbench.plugins import SUITES as BUILTIN_SUITES
from tokbench.registry import SUITES, resolve_suite
from tokbench.report.build import make_report
from tokbench.report.collect import Entry
from tokbench.report.commands import check_cmd, compare_cmd, report_cmd
from tokbench.report.gate import run_check
from tokbench.report.metrics import book_of
from tokbench.results import SCHEMA, BadResult, metric_specs_of, read_result
from tokbench.runner import RunConfig, run

ROOT = Path(__file__).resolve().parent.parent

SHARP_SUITE = textwrap.dedent('''
    import numpy as np

    from tokbench.metric_spec import HIGHER, MetricSpec
    from tokbench.suite import Suite


    class SharpSuite(Suite):
        """Mean absolute horizontal gradient of the reconstruction, in [0, 1]."""

        name = "sharp"

        def metric_specs(self):
            return [MetricSpec("sharpness", "Sharpness", HIGHER, decimals=3, tolerance="0.1", group="sharp")]

        def process(self, items):
            return [[{"image_id": it.image_id,
                      "grad": float(np.abs(np.diff(it.restored / 255.0, axis=1)).mean())}] for it in items]

        def aggregate(self, records, resolution):
            return {"metrics": {"sharpness": float(np.mean([r["grad"] for r in records]))}}
''')


def _with_sharpness(src: Path, dst: Path, value: float) -> Path:
    """A copy of a result folder whose ``sharpness`` is ``value``: the same run, a different score."""
    shutil.copytree(src, dst)
    [path] = dst.rglob("sharp-256.json")
    data = json.loads(path.read_text())
    data["metrics"]["sharpness"] = value
    path.write_text(json.dumps(data))
    return dst


def test_a_suite_in_one_file_is_reported_gated_and_compared_with_no_other_edit(
    tmp_path: Path, image_folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    suite_file = tmp_path / "sharp_suite.py"
    suite_file.write_text(SHARP_SUITE)
    out = tmp_path / "out"
    [path] = run(
        RunConfig(
            model="identity",
            suites=[f"{suite_file}:SharpSuite"],
            dataset="folder",
            images=str(image_folder),
            output_dir=str(out),
            cache_dir=str(tmp_path / "cache"),
            batch_size=2,
        )
    )
    result = read_result(path)
    assert path.name == "sharp-256.json" and result["schema"] == SCHEMA == "tokbench.result/3"
    assert result["metric_specs"] == [
        {
            "name": "sharpness",
            "label": "Sharpness",
            "direction": "higher",
            "unit": "",
            "decimals": 3,
            "tolerance": "0.1",
            "group": "sharp",
        }
    ]
    value = result["metrics"]["sharpness"]

    assert report_cmd([str(out)], "md", tmp_path / "report") == 0
    md = (tmp_path / "report" / "report.md").read_text()
    assert "| Sharpness ↑ |" in md and f"| {value:.3f} |" in md

    within = _with_sharpness(out, tmp_path / "within", value - 0.05)
    beyond = _with_sharpness(out, tmp_path / "beyond", value - 0.2)
    capsys.readouterr()
    assert check_cmd(str(within), str(out), [], "github") == 0
    assert check_cmd(str(beyond), str(out), [], "github") == 1
    verdict = capsys.readouterr().out
    assert "| Sharpness ↑ |" in verdict and "| 0.1 | **REGRESSED** |" in verdict

    assert compare_cmd(str(out), str(beyond)) == 0
    shown = capsys.readouterr().out
    assert "Sharpness" in shown and "worse" in shown and f"{value:.3f}" in shown


def test_resolve_suite_takes_registered_names_and_file_classes(tmp_path: Path) -> None:
    assert resolve_suite("recon") is SUITES.resolve("recon")
    suite_file = tmp_path / "sharp_suite.py"
    suite_file.write_text(SHARP_SUITE)
    assert resolve_suite(f"{suite_file}:SharpSuite").name == "sharp"
    with pytest.raises(ConfigError, match="needs a class"):
        resolve_suite(str(suite_file))


# --- declarations ---------------------------------------------------------------------------------


def test_patterns_cover_names_made_at_run_time_after_exact_names() -> None:
    specs = MetricSpecs(
        [
            MetricSpec("*.utilization", "use of *", HIGHER, decimals=4),
            MetricSpec("level0.utilization", "L0", LOWER),
            MetricSpec("level*"),
        ]
    )
    assert specs.find("level0.utilization") == MetricSpec("level0.utilization", "L0", LOWER)
    joint = specs.find("joint.utilization")
    assert joint == MetricSpec("joint.utilization", "use of joint", HIGHER, decimals=4)
    assert specs.find("level3.gini") == MetricSpec("level3.gini", "level3.gini")
    assert specs.find("utilization") is None and specs.find("psnr") is None
    with pytest.raises(ValueError, match="at most one"):
        MetricSpec("*.n*")


def test_builtin_declarations_keep_the_table_the_report_had() -> None:
    """The values of the table that lived in report/metrics.py before the suites declared them."""
    old = {  # name: (label, direction, decimals, tolerance, unit)
        **{
            f"{n}{b}": (f"{lab}{s}", HIGHER, 2, tm if not b else tb, "%")
            for n, lab in (("t_acc", "T-ACC"), ("t_ned", "T-NED"))
            for b, s, tm, tb in (
                ("", "", "0.5", ""),
                ("_small", " S", "", "1.0"),
                ("_medium", " M", "", "1.0"),
                ("_large", " L", "", "1.0"),
            )
        },
        "f_sim": ("F-Sim", HIGHER, 2, "0.005", ""),
        "f_sim_small": ("F-Sim S", HIGHER, 2, "0.01", ""),
        "f_sim_medium": ("F-Sim M", HIGHER, 2, "0.01", ""),
        "f_sim_large": ("F-Sim L", HIGHER, 2, "0.01", ""),
        "psnr": ("PSNR", HIGHER, 2, "0.05", "dB"),
        "ssim": ("SSIM", HIGHER, 4, "0.002", ""),
        "ms_ssim": ("MS-SSIM", HIGHER, 4, "0.002", ""),
        "lpips_alex": ("LPIPS (alex)", LOWER, 4, "0.002", ""),
        "lpips_vgg": ("LPIPS (vgg)", LOWER, 4, "0.002", ""),
        "rfid": ("rFID", LOWER, 2, "2%", ""),
        "kid_mean": ("KID", LOWER, 4, "5%", ""),
        "kid_std": ("KID std", None, 4, None, ""),
    }
    declared = {s.name: s for p in BUILTIN_SUITES for s in SUITES.resolve(p.name)().metric_specs()}
    for name, (label, direction, decimals, tolerance, unit) in old.items():
        s = declared[name]
        assert (s.label, s.direction, s.decimals, s.tolerance, s.unit) == (label, direction, decimals, tolerance, unit)
    language = MetricSpecs(SUITES.resolve("language")().metric_specs())
    for name, direction, decimals in (
        ("level0.utilization", HIGHER, 4),
        ("joint.used_codes", HIGHER, 0),
        ("level1.dead_codes", LOWER, 0),
        ("joint.codebook_perplexity", HIGHER, 2),
        ("level0.normalized_entropy", HIGHER, 4),
        ("level0.n1.zipf_s", None, None),
        ("rate.bpp_entropy", None, None),
        ("n_images", None, None),
    ):
        found = language.find(name)
        assert found is not None and found.group == "language" and found.label == name
        assert (found.direction, found.decimals, found.tolerance) == (direction, decimals, None)


def test_recon_declares_the_lpips_nets_it_computes() -> None:
    recon = SUITES.resolve("recon")
    names = [s.name for s in recon(lpips="vgg", ms_ssim=False).metric_specs()]
    assert names == ["psnr", "ssim", "lpips_vgg"]
    assert "lpips_alex" not in [s.name for s in recon(lpips="none").metric_specs()]


def test_release_gate_doc_lists_the_declared_default_tolerances() -> None:
    rows = ["| suite | metric | shown as | better | tolerance |", "| --- | --- | --- | --- | --- |"]
    for plugin in BUILTIN_SUITES:
        for s in SUITES.resolve(plugin.name)().metric_specs():
            if s.tolerance is not None:
                shown = s.label + (f" ({s.unit})" if s.unit else "")
                rows.append(f"| `{plugin.name}` | `{s.name}` | {shown} | {s.direction} | {s.tolerance} |")
    doc = (ROOT / "docs" / "release-gate.md").read_text()
    table = re.search(r"<!-- default tolerances: begin -->\n(.*?)<!-- default tolerances: end -->", doc, re.S)
    assert table is not None and table.group(1).splitlines() == rows


# --- result files ---------------------------------------------------------------------------------


def _file(tmp_path: Path, name: str, **changes: Any) -> Path:
    data = json.loads(json.dumps(make_result(model=name, suite="text", metrics={"t_acc": 50.0})))
    data.update(changes)
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(data))
    return path


@pytest.mark.parametrize(
    ("specs", "needle"),
    [
        ({"name": "x"}, "field metric_specs: expected an array of metric declarations, got an object"),
        (["x"], "field metric_specs[0]: a metric declaration is an object, got str"),
        ([{"name": "x", "direction": "up"}], "field metric_specs[0]: metric 'x': direction must be"),
        ([{"name": "x", "tolerance": "lots"}], "field metric_specs[0]: metric 'x': tolerance 'lots' is not"),
        ([{"name": "x", "decimals": True}], "field metric_specs[0]: metric 'x': decimals must be"),
        ([{"name": "x", "colour": "red"}], "field metric_specs[0]: metric declaration has unknown field(s) colour"),
        ([{"name": "x"}, {"name": "x", "label": "X"}], "field metric_specs[1]: metric 'x' is declared twice"),
    ],
)
def test_bad_declarations_are_refused_naming_file_and_field(tmp_path: Path, specs: Any, needle: str) -> None:
    path = _file(tmp_path, "bad", metric_specs=specs)
    with pytest.raises(BadResult) as info:
        read_result(path)
    assert str(info.value).startswith(f"{path}: ") and needle in str(info.value)


def test_committed_baselines_carry_the_builtin_declarations() -> None:
    files = sorted((ROOT / "results" / "baselines").rglob("text-256.json"))
    if not files:
        pytest.skip("no committed baseline results")
    result = read_result(files[0])
    assert result["schema"] == "tokbench.result/3" and "metric_specs" in result
    t_acc = MetricSpecs(metric_specs_of(result)).find("t_acc")
    assert t_acc is not None and (t_acc.label, t_acc.tolerance, t_acc.group) == ("T-ACC", "0.5", "text")


def test_schema_1_falls_back_to_its_suite_built_with_its_options(tmp_path: Path) -> None:
    def declared(suite: str, options: dict[str, Any]) -> MetricSpecs:
        data = {**make_result(suite=suite, suite_options=options), "schema": "tokbench.result/1"}
        path = tmp_path / f"{suite}.json"
        path.write_text(json.dumps(data))
        return MetricSpecs(metric_specs_of(read_result(path)))

    assert declared("recon", {"lpips": "none"}).find("lpips_alex") is None  # the run computed no LPIPS
    assert declared("recon", {"lpips": "alex"}).find("lpips_alex") is not None
    assert declared("recon", {"lpips": "alex", "gone": 1}).find("lpips_vgg") is not None  # unknown option: defaults
    assert declared("text", {}).find("psnr") is not None  # /1 readers knew every built-in metric
    assert declared("mine", {}).find("t_acc") is None  # an unknown suite: neutral


def test_conflicting_declarations_use_the_baseline_and_say_so(tmp_path: Path) -> None:
    def declaring(folder: str, model: str, tolerance: str, value: float) -> Path:
        path = write_fake(tmp_path / folder, model=model, suite="text", metrics={"t_acc": value})
        data = json.loads(path.read_text())
        data["metric_specs"] = [MetricSpec("t_acc", "T-ACC", HIGHER, "%", 2, tolerance, "text").to_dict()]
        path.write_text(json.dumps(data))
        return path

    old = declaring("old", "tok:v1", "0.5", 50.0)
    loose = declaring("new", "tok:v2", "5", 48.0)
    result = run_check([loose], [old], [])
    assert [r.status for r in result.rows] == ["REGRESSED"] and result.rows[0].tolerance == "0.5"
    [note] = [n for n in result.notes if "differently" in n]
    assert f"using the declaration of {old}" in note and "tolerance '0.5' vs '5'" in note
    assert run_check([old], [loose], []).rows[0].tolerance == "5"  # the other way round: that baseline's
    book = book_of([Entry(read_result(p), p) for p in (old, loose)])
    assert book.spec("t_acc").tolerance == "0.5" and len(book.notes) == 1
    assert make_report([old.parent, loose.parent]).notes[-1] == book.notes[0]


def test_undeclared_metrics_of_a_schema_2_result_are_neutral(tmp_path: Path) -> None:
    path = _file(
        tmp_path,
        "tok",
        metric_specs=[{"name": "t_acc", "label": "T-ACC", "direction": "higher"}],
        metrics={"t_acc": 50.0, "psnr": 30.0},
    )
    book = book_of([Entry(read_result(path), path)])
    assert book.spec("t_acc").direction == HIGHER and book.table("t_acc") == "other"  # no group: no table of its own
    assert book.spec("psnr") == MetricSpec("psnr") and book.table("psnr") == "other"
