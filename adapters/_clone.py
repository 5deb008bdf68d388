"""The clone route: adapters that run model code from the user's clone of an upstream repository.

A subclass declares its family's catalog row beside it (``FAMILY = Family(...)``), names it in
``family_name`` and implements three hooks: ``_build_from`` (import from the clone, build from
the upstream config, load the checkpoint), ``_encode`` (model-range tensor -> :class:`Encoded`
with codes in their real layout) and ``_decode`` (``Encoded`` -> model-range tensor).
:class:`~tokbench.families.base.FamilyTokenizer` does the bookkeeping every family shares; this
layer adds the clone's options, finding and entering the clone, weights and config files.
"""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

from tokbench.families.base import Built, FamilyTokenizer
from tokbench.families.source import SourceTree, resolve_source
from tokbench.families.tensors import check_latent
from tokbench.families.upstream import clone_commit, missing_clone_files, unmet_requirements
from tokbench.families.weights import CheckpointMismatch, load_checkpoint, resolve_weights
from tokbench.tokenizer import WeightsUnavailable

COMMON_OPTIONS = ["variant", "source", "ckpt", "config", "key", "revision", "offline", "trust_pickle"]


class CloneTokenizer(FamilyTokenizer):
    """A tokenizer built from an upstream clone (``source=`` or ``$TOKBENCH_SRC_<FAMILY>``).

    Options: ``variant``, ``source`` (clone), ``ckpt`` (weights file or directory; default: the
    hub file of the variant, or ``$TOKBENCH_WEIGHTS/<family>/<file>``), ``config`` (upstream
    config file; default: the one in the clone), ``key`` (state-dict key; default: the first
    of ``ema``/``model``/``state_dict``), ``revision`` (hub revision), ``offline``, ``trust_pickle``
    (load a checkpoint that pickles Python objects, which runs code from the file; off by default).
    """

    extra_options: ClassVar[dict[str, Any]] = {}  # family-specific options and their defaults

    def __init__(
        self,
        variant: str | None = None,
        source: str | None = None,
        ckpt: str | None = None,
        config: str | None = None,
        key: str | None = None,
        revision: str | None = None,
        offline: bool | None = None,
        trust_pickle: bool = False,
        family_name: str | None = None,
        **options: Any,
    ) -> None:
        extra = {k: options.pop(k, v) for k, v in self.extra_options.items()}
        super().__init__(family_name, variant, revision, offline, **options)
        if "latent" in extra:
            check_latent(self.fam.name, extra["latent"])
        self.opts: dict[str, Any] = {
            "source": source,
            "ckpt": ckpt,
            "config": config,
            "key": key,
            "trust_pickle": bool(trust_pickle),
            **extra,
        }
        given = {"config": config, "key": key, "revision": self.revision, "trust_pickle": self.opts["trust_pickle"]}
        recorded = {k: value for k, value in given.items() if value}
        recorded.update(extra)
        self.info = self._row_info({"variant": self.variant.name, "input_range": self.model_range, **recorded})
        self._tree: SourceTree | None = None
        self._commit: str | None = None

    def accepted_options(self) -> list[str]:
        return COMMON_OPTIONS + list(self.extra_options)

    # -- loading ------------------------------------------------------------------------------
    def _build(self) -> Built:
        """Find the clone, check what its code needs, then build inside it with its prints silenced."""
        root = resolve_source(self.fam, self.opts["source"])
        self._check_needs(root)
        self._tree = SourceTree.get(root)
        self._commit = clone_commit(root)
        with self._tree.active(), quiet():
            return self._build_from(self._tree)

    def _check_needs(self, root: Path) -> None:
        """Fail before importing upstream code whose version bounds or data files are not met."""
        unmet = unmet_requirements(self.fam)
        if unmet:
            raise WeightsUnavailable(
                f"{self.info.name}: {'; '.join(u.message for u in unmet)}. Fix: {' && '.join(u.fix for u in unmet)}"
            )
        missing = missing_clone_files(self.fam, root)
        if missing:
            raise WeightsUnavailable(
                f"{self.info.name}: {', '.join(map(str, missing))} not found; the upstream code opens it. "
                f"Fix: use a full clone of {self.fam.repo} (git clone https://github.com/{self.fam.repo})"
            )

    def _built_info(self, built: Built) -> dict[str, Any]:
        # the config read while building can change the range (BSQ-ViT's data.zero_mean); the clone's
        # commit is part of what produced the output (None: not a git clone)
        options = {**self.info.options, "input_range": self.model_range, "clone_commit": self._commit}
        if self.fam.checked_commit:
            options["checked_commit"] = self.fam.checked_commit
        return {"options": options}

    def _running(self) -> contextlib.AbstractContextManager[Any]:
        assert self._tree is not None
        return self._tree.active()

    def checkpoint(self, path: Path) -> Any:
        """The checkpoint at ``path``, unpickling Python objects only with ``trust_pickle=true``."""
        return load_checkpoint(path, trust_pickle=bool(self.opts["trust_pickle"]))

    def weights_path(self) -> Path:
        """The variant's checkpoint file (``ckpt=``, ``$TOKBENCH_WEIGHTS``, hub or cache)."""
        return resolve_weights(
            self.info.name,
            self.variant.weights,
            self.opts["ckpt"],
            self.revision,
            self.offline,
            family_dir=self.fam.name,
        )

    def config_path(self, tree: SourceTree, default: str | None = None) -> Path:
        """``config=`` if given, else the variant's upstream config inside the clone."""
        given = self.opts["config"]
        rel = default or self.variant.config
        path = Path(given).expanduser() if given else tree.root / (rel or "")
        if not path.is_file():
            raise WeightsUnavailable(
                f"{self.info.name}: config {str(path)!r} not found. Fix: use a current clone of "
                f"{self.fam.repo} or pass config=PATH"
            )
        return path

    def _build_from(self, tree: SourceTree) -> Built:
        """The family's hook: import from the clone, build, load the checkpoint."""
        raise NotImplementedError


def load_weights(
    name: str, model: Any, state_dict: dict[str, Any], source: Path, ignore_missing: tuple[str, ...] = ()
) -> None:
    """``load_state_dict`` that tolerates extra keys (losses, EMA copies) but not missing ones."""
    result = model.load_state_dict(state_dict, strict=False)
    missing = [k for k in getattr(result, "missing_keys", []) if not k.startswith(ignore_missing or ("\0",))]
    if missing:
        raise CheckpointMismatch(
            f"{name}: {len(missing)} weights are missing from {source} (e.g. {missing[0]}); "
            f"does the checkpoint match the variant and config?"
        )


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Silence upstream build code that prints (model args, 'loaded' lines) unless TOKBENCH_VERBOSE."""
    if os.environ.get("TOKBENCH_VERBOSE"):
        yield
        return
    with contextlib.redirect_stdout(io.StringIO()):
        yield
