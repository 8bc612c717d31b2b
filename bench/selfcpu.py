#!/usr/bin/env python3
"""Wall time and a process's OWN CPU time, run after run (stdlib only).

    selfcpu.py [OPTIONS] -- ARGV...

Runs ARGV --warmup times untimed, then --runs times; each run is spawned with
stdin/stdout/stderr on /dev/null and waited for with wait4, which gives the wall
time (spawn -> exit, monotonic clock) and the rusage of the process: user+sys
CPU in microseconds. That rusage (what `/usr/bin/time -f "%U %S"` prints, to
10 ms) also holds the CPU of every child the process waited for. With
--child-cpu FILE, each run's children report their own CPU seconds there (one
line `PID<TAB>SECONDS` each, e.g. bench/browser-cpu.py as BROWSER), and that is
subtracted: self = wait4 user+sys - reported children. The share is self / wall
of the same run.

With --settle-log FILE (browser.py's BROWSER_LOG), after each run it waits
(untimed, up to --settle-secs) until one more `exit N` line has appeared there,
so a detached helper never overlaps the next run, and counts the runs whose
helper did not end with `exit 0`.

The first run is a sanity run with its output captured: a non-zero exit prints
that output to stderr and the result is FAILED.

Options: --runs N (20), --warmup N (3), --child-cpu FILE, --settle-log FILE,
--settle-secs S (15), --json FILE (every sample).

stdout: one tab-separated line:
  ok|FAILED  wall_median_ms  self_cpu_median_ms  total_cpu_median_ms
  child_cpu_median_ms  share_median_%  runs  failures
(failures: timed runs that exited non-zero or whose helper did not log `exit 0`)
Exit status 0 (FAILED is in the output), 2 on usage errors.
"""
import json
import os
import re
import shutil
import statistics
import sys
import tempfile
import time

EXIT_RE = re.compile(r"\] exit (\d+)$")


def usage(msg):
    print(f"selfcpu.py: {msg}\n\n{__doc__}", file=sys.stderr)
    sys.exit(2)


def parse(argv):
    opts = {"runs": 20, "warmup": 3, "child_cpu": None, "settle_log": None,
            "settle_secs": 15.0, "json": None}
    keys = {"--runs": ("runs", int), "--warmup": ("warmup", int), "--child-cpu": ("child_cpu", str),
            "--settle-log": ("settle_log", str), "--settle-secs": ("settle_secs", float),
            "--json": ("json", str)}
    i = 0
    while i < len(argv) and argv[i] != "--":
        if argv[i] not in keys or i + 1 >= len(argv):
            usage(f"unknown or incomplete option: {argv[i]}")
        k, conv = keys[argv[i]]
        try:
            opts[k] = conv(argv[i + 1])
        except ValueError:
            usage(f"{argv[i]}: bad value {argv[i + 1]!r}")
        i += 2
    cmd = argv[i + 1:]
    if not cmd:
        usage("no command after --")
    exe = shutil.which(cmd[0])
    if exe is None:
        usage(f"command not found: {cmd[0]}")
    if opts["runs"] < 1:
        usage("--runs must be at least 1")
    return opts, [exe] + cmd[1:]


def exits(path):
    """The `exit N` codes logged so far (browser.py's BROWSER_LOG)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return [int(m.group(1)) for m in (EXIT_RE.search(line.rstrip("\n")) for line in f) if m]
    except FileNotFoundError:
        return []


def child_cpu(path, pos):
    """Seconds reported by children since byte offset pos; returns (seconds, new pos)."""
    try:
        with open(path, "rb") as f:
            f.seek(pos)
            data = f.read()
    except FileNotFoundError:
        return 0.0, pos
    total = 0.0
    for line in data.decode("utf-8", "replace").splitlines():
        parts = line.split("\t")
        if len(parts) == 2:
            try:
                total += float(parts[1])
            except ValueError:
                pass
    return total, pos + len(data)


def run_once(argv, out_fd=None):
    actions = [(os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0)]
    if out_fd is None:
        actions += [(os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0),
                    (os.POSIX_SPAWN_OPEN, 2, os.devnull, os.O_WRONLY, 0)]
    else:
        actions += [(os.POSIX_SPAWN_DUP2, out_fd, 1), (os.POSIX_SPAWN_DUP2, out_fd, 2)]
    t0 = time.perf_counter()
    pid = os.posix_spawn(argv[0], argv, os.environ, file_actions=actions)
    _, status, ru = os.wait4(pid, 0)
    wall = time.perf_counter() - t0
    return os.waitstatus_to_exitcode(status), wall, ru.ru_utime + ru.ru_stime


def main(argv):
    opts, cmd = parse(argv)
    settle = opts["settle_log"]
    pos = 0
    if opts["child_cpu"]:
        _, pos = child_cpu(opts["child_cpu"], 0)
    seen = len(exits(settle)) if settle else 0
    failures = 0

    def wait_helper():
        nonlocal seen, failures
        if not settle:
            return
        deadline = time.monotonic() + opts["settle_secs"]
        while True:
            codes = exits(settle)
            if len(codes) > seen:
                failures += sum(1 for c in codes[seen:] if c != 0)
                seen = len(codes)
                return
            if time.monotonic() >= deadline:
                failures += 1
                print(f"selfcpu.py: no `exit N` in {settle} within {opts['settle_secs']} s", file=sys.stderr)
                return
            time.sleep(0.01)

    with tempfile.TemporaryFile() as out:
        rc, _, _ = run_once(cmd, out.fileno())
        wait_helper()
        if rc != 0:
            out.seek(0)
            print(f"selfcpu.py: sanity run failed (exit {rc}): {' '.join(cmd)}", file=sys.stderr)
            for line in out.read().decode("utf-8", "replace").splitlines()[:25]:
                print(f"    | {line}", file=sys.stderr)
            print("FAILED\t-\t-\t-\t-\t-\t0\t-")
            return 0
    if opts["child_cpu"]:
        _, pos = child_cpu(opts["child_cpu"], pos)
    failures = 0

    samples = []
    for r in range(opts["warmup"] + opts["runs"]):
        rc, wall, total = run_once(cmd)
        before = failures
        wait_helper()
        kids = 0.0
        if opts["child_cpu"]:
            kids, pos = child_cpu(opts["child_cpu"], pos)
        if r < opts["warmup"]:
            failures = before
            continue
        samples.append({"rc": rc, "wall": wall, "total_cpu": total, "child_cpu": kids,
                        "self_cpu": total - kids, "share": (total - kids) / wall})
        if rc != 0:
            failures += 1

    def med(k):
        return statistics.median(s[k] for s in samples)

    print(f"ok\t{med('wall') * 1e3:.3f}\t{med('self_cpu') * 1e3:.3f}\t{med('total_cpu') * 1e3:.3f}\t"
          f"{med('child_cpu') * 1e3:.3f}\t{med('share') * 100:.2f}\t{len(samples)}\t{failures}")
    if opts["json"]:
        with open(opts["json"], "w") as f:
            json.dump({"argv": cmd, "samples": samples}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
