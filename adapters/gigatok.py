"""GigaTok (SilentView/GigaTok): 1-D ViT VQ tokenizers, 256 ordered tokens of 14 bits at 256x256.

Built as the upstream reconstruction script does: ``utils/model_init.py``
``load_model_from_config(yaml)`` then ``custom_load`` of the ``ema`` (else ``model``) weights.
The weights are on Google Drive only: download ``VQ_<size>256_*.pt`` and pass ``ckpt=PATH``.
"""

from __future__ import annotations

from tokbench.adapters._clone import Built
from tokbench.adapters._vq_llamagen import LlamaGenStyle

from tokbench.families.catalog import Family, Variant, Weights
from tokbench.families.source import SourceTree
from tokbench.families.weights import CheckpointMismatch, select_state_dict

_DRIVE = "Google Drive only: download from the links in the README of SilentView/GigaTok"
FAMILY = Family(
    "gigatok",
    f"{__name__}:GigaTok",
    "GigaTok 1-D ViT VQ tokenizers (256 ordered tokens, 14 bits)",
    "clone",
    "discrete",
    "1d",
    "[-1,1]",
    "MIT",
    {
        name: Variant(
            name,
            Weights(filename=file, manual=_DRIVE),
            codebook_sizes=(16384,),
            tokens=(256,),
            downsample=None,
            config=f"configs/vq/{cfg}.yaml",
            params=params,
        )
        for name, file, cfg, params in (
            ("SS", "VQ_SS256_e100.pt", "VQ_SS256", "136M"),
            ("SB", "VQ_SB256_e200.pt", "VQ_SB256", "232M"),
            ("BL", "VQ_BL256_e200.pt", "VQ_BL256", "622M"),
            ("BL-dino", "VQ_BL256_dino_disc.pt", "VQ_BL256_dino_disc", "622M"),
            ("XLXXL", "VQ_XLXXL256_e300.pt", "VQ_XLXXL256", "2.9B"),
        )
    },
    "BL",
    repo="SilentView/GigaTok",
    packages=("einops", "yaml", "timm", "torchvision"),
    checked_commit="182920c52b2a9675efec5d787fc35278e84f4889",
)


class GigaTok(LlamaGenStyle):
    """``gigatok:variant=SS|SB|BL|BL-dino|XLXXL,source=CLONE,ckpt=FILE``."""

    family_name = "gigatok"
    one_d = True

    def _build_from(self, tree: SourceTree) -> Built:
        import yaml

        path = self.weights_path()  # first: the Drive-only file is the piece most often missing
        init = tree.import_module("utils.model_init")
        with open(self.config_path(tree)) as f:
            config = yaml.safe_load(f)
        model = init.load_model_from_config(config)
        state, key = select_state_dict(self.checkpoint(path), key=self.opts["key"])
        try:
            init.custom_load(model, state)  # upstream: non-strict, raises on missing keys
        except KeyError as e:
            raise CheckpointMismatch(f"{self.info.name}: {path} does not fit {self.variant.config}: {e}") from None
        return Built(model, [path], key, source=str(path))
