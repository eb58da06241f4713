"""How much memory compiling the rule pack again and again keeps (issue #12, item 5.5).

    python benchmarks/bench_compile_leak.py --compiles 200

Compiles the bundled pack N times in one process, dropping each compiled pack before
the next, and prints the resident set size (RSS) before and after. durable-rules has no
unload of its own beyond `delete_ruleset`; a compiled pack must call it when dropped,
so the growth should stay near zero whatever N is.
"""

from __future__ import annotations

import argparse
import gc
import os
import resource

from customs_rules.engine.compiler import compile_pack
from customs_rules.rules.loader import load_pack
from customs_rules.workflow.screener import default_rules_dir


def rss_mb() -> float:
    with open(f"/proc/{os.getpid()}/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * resource.getpagesize() / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--compiles", type=int, default=200)
    args = parser.parse_args()
    pack = load_pack(default_rules_dir())
    rules = pack.evaluated()
    compile_pack(rules, pack.reference)  # warm-up: imports, caches, the allocator's first arenas
    gc.collect()
    before = rss_mb()
    for _ in range(args.compiles):
        compiled = compile_pack(rules, pack.reference)
        compiled.match({})
        del compiled
    gc.collect()
    after = rss_mb()
    print(f"input: {args.compiles} compiles of the bundled pack ({len(rules)} rules)")
    print(
        f"RSS before {before:.1f} MB, after {after:.1f} MB: grew {after - before:.1f} MB "
        f"({(after - before) * 1024 / args.compiles:.1f} KB per compile)"
    )


if __name__ == "__main__":
    main()
