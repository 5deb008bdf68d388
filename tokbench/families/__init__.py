"""Real tokenizer families: catalog rows, the shared adapter base, and the glue to their code.

``catalog`` (rows: Family/Variant/Weights; reading them from adapter files; licence warnings),
``base`` (FamilyTokenizer, the one base class of every family adapter), ``hub`` (the Hugging Face
hub), ``weights`` (checkpoint files: resolve, load, select, sha256), ``source`` (clones and
importing from them) and ``tensors`` (small torch helpers). A family is one adapter file that
declares ``FAMILY = Family(...)`` beside its FamilyTokenizer subclass; see docs/models.md.
"""

from tokbench.families.base import Built, FamilyTokenizer
from tokbench.families.catalog import Family, Variant, Weights

__all__ = ["Built", "Family", "FamilyTokenizer", "Variant", "Weights"]
