"""The top functions of a cProfile file, by cumulative and by own (total) time.

    python bench/profile_top.py read.prof [--top 25]
"""
from __future__ import annotations

import argparse
import pstats


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("profile")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args(argv)
    stats = pstats.Stats(args.profile)
    stats.strip_dirs()
    for order, title in (("cumulative", "by cumulative time"), ("tottime", "by total (own) time")):
        print(f"=== top {args.top} {title} ===")
        stats.sort_stats(order).print_stats(args.top)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
