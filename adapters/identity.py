"""The identity adapter: no tokenizer at all.

Under the letterbox protocol this measures the pure resize loss, i.e. TokBench's "Resize" row.
"""

from __future__ import annotations

from typing import Any

from tokbench.errors import ConfigError
from tokbench.tokenizer import Encoded, Tokenizer, TokenizerInfo


class Identity(Tokenizer):
    """Returns its input unchanged; ``report_as`` names the row in leaderboards."""

    def __init__(self, **options: Any) -> None:
        if options:
            raise ConfigError(f"identity takes no options, got {', '.join(options)}")
        self.info = TokenizerInfo(
            name="identity",
            family="identity",
            kind="identity",
            license="n/a",
            weights_source="none",
            options={"report_as": "Resize"},
        )

    def encode(self, images: Any) -> Encoded:
        return Encoded(latents=images)

    def decode(self, encoded: Encoded) -> Any:
        return encoded.latents
