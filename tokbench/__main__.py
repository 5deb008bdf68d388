"""``python -m tokbench`` (also what ``torchrun -m tokbench`` starts)."""

from tokbench.cli import main

main()
