"""The memory of a command's whole process tree over its run, process by process.

    python benchmarks/bench_memory.py [--csv TIMELINE] -- customs-rules -q screen FILE \
        --no-store --format json --workers 2

Every 0.25 s it reads /proc/PID/smaps_rollup of the command and of each of its
descendants (a batch's parent, its spawned workers, multiprocessing's resource tracker):
RSS, PSS and PSS split into anonymous memory and mapped files. It prints the input (the
command), the wall and CPU time (user + sys of the tree), the peak RSS and the peak PSS of
the tree and when each came, each process's share at the PSS peak, and each process's own
peaks; `--csv` also writes every sample (t, pid, rss, pss, pss_anon, pss_file in kB). PSS
is the tree's real memory: RSS counts a shared page (a mapped registry snapshot, the
libraries) once per process that maps it, PSS splits it among them. The command's stdout
is discarded.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path

FIELDS = ("Rss", "Pss", "Pss_Anon", "Pss_File")


def tree(root: int) -> list[tuple[int, dict[str, int]]]:
    """(pid, smaps_rollup fields in kB) of `root` and each of its descendants."""
    todo, found = [root], []
    while todo:
        pid = todo.pop()
        try:
            lines = Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]
            fields = {line.split()[0].rstrip(":"): int(line.split()[1]) for line in lines}
            todo.extend(int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split())
        except (OSError, ValueError, IndexError):
            continue  # gone meanwhile
        found.append((pid, fields))
    return found


def sampled(command: list[str], every: float = 0.25) -> tuple[float, float, int, list[tuple[float, int, list[int]]]]:
    """(wall seconds, CPU seconds of the tree, exit code, samples: (t, pid, FIELDS))."""
    samples: list[tuple[float, int, list[int]]] = []
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    with subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) as proc:
        done = threading.Event()

        def sample() -> None:
            while not done.is_set():
                at = round(time.perf_counter() - start, 2)
                samples.extend((at, pid, [fields.get(f, 0) for f in FIELDS]) for pid, fields in tree(proc.pid))
                time.sleep(every)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, err = proc.communicate()
        done.set()
        sampler.join()
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode:
        print(err.decode(errors="replace")[-3000:], file=sys.stderr)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, proc.returncode, samples


def report(samples: list[tuple[float, int, list[int]]]) -> list[str]:
    """The tree's peaks and each process's, in MB."""
    by_time: dict[float, list[tuple[int, list[int]]]] = {}
    for at, pid, values in samples:
        by_time.setdefault(at, []).append((pid, values))
    if not by_time:
        return ["no sample"]
    total = {at: [sum(v[i] for _, v in rows) for i in range(len(FIELDS))] for at, rows in by_time.items()}
    at_rss = max(total, key=lambda at: total[at][0])
    at_pss = max(total, key=lambda at: total[at][1])
    lines = [
        f"peak RSS of the tree {total[at_rss][0] // 1024:,} MB at {at_rss} s; "
        f"peak PSS of the tree {total[at_pss][1] // 1024:,} MB at {at_pss} s, of which:"
    ]
    for pid, values in sorted(by_time[at_pss]):
        rss, pss, anon, mapped = (v // 1024 for v in values)
        lines.append(f"  pid {pid}: PSS {pss:,} MB (anonymous {anon:,}, files {mapped:,}), RSS {rss:,} MB")
    peaks: dict[int, tuple[int, int, float]] = {}
    for at, pid, values in samples:
        if values[1] > peaks.get(pid, (0, 0, 0.0))[0]:
            peaks[pid] = (values[1], values[0], at)
    for pid, (pss, rss, at) in sorted(peaks.items()):
        lines.append(f"  pid {pid} at its peak: PSS {pss // 1024:,} MB, RSS {rss // 1024:,} MB, at {at} s")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--csv", type=Path, help="write every sample here")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="the command, after --")
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command given")
    print("command:", " ".join(command), flush=True)
    wall, cpu, code, samples = sampled(command)
    print(f"exit {code}, wall {wall:.1f} s, CPU of the tree (user + sys) {cpu:.1f} s")
    print("\n".join(report(samples)))
    if args.csv is not None:
        with args.csv.open("w", encoding="utf-8") as handle:
            handle.write("t,pid," + ",".join(f.lower() for f in FIELDS) + "\n")
            handle.writelines(f"{at},{pid},{','.join(map(str, values))}\n" for at, pid, values in samples)
    sys.exit(code)


if __name__ == "__main__":
    main()
