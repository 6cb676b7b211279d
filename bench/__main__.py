"""``python -m bench``: run the benchmarks and print their tables."""

from __future__ import annotations

from bench.cli import main

raise SystemExit(main())
