"""GigaTok (SilentView/GigaTok): 1-D ViT VQ tokenizers, 256 ordered tokens of 14 bits at 256x256.

Built as the upstream reconstruction script does: ``utils/model_init.py``
``load_model_from_config(yaml)`` then ``custom_load`` of the ``ema`` (else ``model``) weights.
The weights are on Google Drive only: download ``VQ_<size>256_*.pt`` and pass ``ckpt=PATH``.
"""

from __future__ import annotations

from tokbench.adapters._clone import Built
from tokbench.adapters._vq_llamagen import LlamaGenStyle

from tokbench.upstream import SourceTree, select_state_dict


class GigaTok(LlamaGenStyle):
    """``gigatok:variant=SS|SB|BL|BL-dino|XLXXL,source=CLONE,ckpt=FILE``."""

    family_name = "gigatok"
    one_d = True

    def _build(self, tree: SourceTree) -> Built:
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
            raise ValueError(f"{self.info.name}: {path} does not fit {self.variant.config}: {e}") from None
        return Built(model, [path], key, source=str(path))
