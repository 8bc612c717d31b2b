#!/usr/bin/env python3
"""Paired (interleaved) timer and peak-RSS probe for bench/run.sh (stdlib only).

    paired.py [OPTIONS] ::: NAME [--stdin=FILE] ARGV... [::: NAME ARGV...]...

Each command is first run once as a sanity check (output captured; a command
that exits non-zero is reported FAILED with its output on stderr and left out).
Then the commands that passed run in rounds, one run of each per round, the
order rotating every round (A B C, B C A, C A B, ...), so machine noise — a
compile next door, a CPU frequency step — hits every command alike. The wall
time of one run is spawn -> wait4, measured with a monotonic clock; stdout and
stderr go to /dev/null, stdin is /dev/null unless --stdin=FILE.

Peak RSS is measured in separate runs (--rss-runs, also interleaved) under GNU
time: `/usr/bin/time -f %M` (kilobytes, the child's maximum resident set).
Without GNU time it falls back to the ru_maxrss that wait4 returns for the
timed runs (the same figure GNU time prints) and says so.

Options:
  --runs N          timed rounds (default 20)
  --warmup N        untimed rounds first (default 3)
  --rss-runs N      runs under GNU time per command (default 5; 0 = skip)
  --time-bin PATH   GNU time (default /usr/bin/time)
  --prepare CMD     shell command run (untimed, `sh -c`) before every run
  --timer paired|hyperfine
                    hyperfine: time with `hyperfine -N` given all the commands
                    instead (NOT interleaved: hyperfine runs all of A, then all
                    of B); --stdin is then done with `sh -c 'exec ... <FILE'`
  --json FILE       write every sample as JSON

stdout: one tab-separated line per command:
  NAME  ok|FAILED  median_ms  mean_ms  sd_ms  min_ms  runs  rss_median_kb|-  rss_source
Exit status: 0 (also when a command FAILED — that is in the output), 2 on usage errors.
"""
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time


def usage(msg):
    print(f"paired.py: {msg}\n", file=sys.stderr)
    print(__doc__, file=sys.stderr)
    sys.exit(2)


def parse(argv):
    opts = {"runs": 20, "warmup": 3, "rss_runs": 5, "time_bin": "/usr/bin/time",
            "prepare": None, "timer": "paired", "json": None}
    i = 0
    while i < len(argv) and argv[i] != ":::":
        a = argv[i]
        key = {"--runs": "runs", "--warmup": "warmup", "--rss-runs": "rss_runs",
               "--time-bin": "time_bin", "--prepare": "prepare", "--timer": "timer",
               "--json": "json"}.get(a)
        if key is None or i + 1 >= len(argv):
            usage(f"unknown or incomplete option: {a}")
        val = argv[i + 1]
        opts[key] = int(val) if key in ("runs", "warmup", "rss_runs") else val
        i += 2
    cmds = []
    while i < len(argv):
        assert argv[i] == ":::"
        j = i + 1
        while j < len(argv) and argv[j] != ":::":
            j += 1
        part = argv[i + 1:j]
        if len(part) < 2:
            usage("each ::: needs NAME and a command")
        name, rest = part[0], part[1:]
        stdin = None
        if rest[0].startswith("--stdin="):
            stdin, rest = rest[0][len("--stdin="):], rest[1:]
        if not rest:
            usage(f"{name}: no command")
        exe = shutil.which(rest[0])
        if exe is None:
            usage(f"{name}: command not found: {rest[0]}")
        cmds.append({"name": name, "argv": [exe] + rest[1:], "stdin": stdin,
                     "times": [], "maxrss": [], "rss": [], "ok": True})
        i = j
    if not cmds:
        usage("no command")
    if opts["runs"] < 1:
        usage("--runs must be at least 1")
    return opts, cmds


def prepare(opts):
    if opts["prepare"]:
        subprocess.run(["sh", "-c", opts["prepare"]], stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def spawn_wait(argv, stdin, out_fd=None):
    """Run argv; return (wait status, seconds, rusage)."""
    actions = [(os.POSIX_SPAWN_OPEN, 0, stdin or os.devnull, os.O_RDONLY, 0)]
    if out_fd is None:
        actions += [(os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0),
                    (os.POSIX_SPAWN_OPEN, 2, os.devnull, os.O_WRONLY, 0)]
    else:
        actions += [(os.POSIX_SPAWN_DUP2, out_fd, 1), (os.POSIX_SPAWN_DUP2, out_fd, 2)]
    t0 = time.perf_counter()
    pid = os.posix_spawn(argv[0], argv, os.environ, file_actions=actions)
    _, status, ru = os.wait4(pid, 0)
    t1 = time.perf_counter()
    return status, t1 - t0, ru


def sanity(cmd, opts):
    prepare(opts)
    with tempfile.TemporaryFile() as out:
        status, _, _ = spawn_wait(cmd["argv"], cmd["stdin"], out.fileno())
        rc = os.waitstatus_to_exitcode(status)
        if rc != 0:
            out.seek(0)
            text = out.read().decode("utf-8", "replace").splitlines()
            print(f"{cmd['name']}: sanity run failed (exit {rc}): "
                  f"{shlex.join(cmd['argv'])}", file=sys.stderr)
            for line in text[:25]:
                print(f"    | {line}", file=sys.stderr)
            cmd["ok"] = False
            cmd["rc"] = rc


def rotate(cmds, r):
    k = r % len(cmds)
    return cmds[k:] + cmds[:k]


def time_paired(cmds, opts):
    for r in range(opts["warmup"] + opts["runs"]):
        for c in rotate(cmds, r):
            prepare(opts)
            status, secs, ru = spawn_wait(c["argv"], c["stdin"])
            if r < opts["warmup"]:
                continue
            if os.waitstatus_to_exitcode(status) != 0:
                c["errors"] = c.get("errors", 0) + 1
            c["times"].append(secs * 1e3)
            c["maxrss"].append(ru.ru_maxrss)


def time_hyperfine(cmds, opts):
    hf = shutil.which("hyperfine")
    if hf is None:
        usage("--timer hyperfine: hyperfine not found")
    fd, path = tempfile.mkstemp(suffix=".json")
    os.close(fd)
    args = [hf, "-N", "--style", "none", "--warmup", str(opts["warmup"]),
            "--runs", str(opts["runs"]), "--export-json", path]
    if opts["prepare"]:
        args += ["--prepare", opts["prepare"]]
    for c in cmds:
        argv = c["argv"]
        if c["stdin"]:
            argv = ["sh", "-c", 'f="$1"; shift; exec "$@" <"$f"', "sh", c["stdin"]] + argv
        args += ["--command-name", c["name"], shlex.join(argv)]
    r = subprocess.run(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        print(f"hyperfine failed (exit {r.returncode}):\n{r.stderr[-2000:]}", file=sys.stderr)
        for c in cmds:
            c["ok"] = False
        return
    with open(path) as f:
        results = json.load(f)["results"]
    os.unlink(path)
    for c, res in zip(cmds, results):
        c["times"] = [t * 1e3 for t in res["times"]]


def measure_rss(cmds, opts):
    if opts["rss_runs"] <= 0:
        return "-"
    tb = opts["time_bin"]
    if not (os.path.isfile(tb) and os.access(tb, os.X_OK)):
        for c in cmds:
            c["rss"] = list(c["maxrss"])
        return "wait4" if any(c["rss"] for c in cmds) else "-"
    fd, path = tempfile.mkstemp(suffix=".rss")
    os.close(fd)
    try:
        for r in range(opts["rss_runs"]):
            for c in rotate(cmds, r):
                prepare(opts)
                status, _, _ = spawn_wait([tb, "-f", "%M", "-o", path] + c["argv"], c["stdin"])
                try:
                    with open(path) as f:
                        lines = [ln for ln in f.read().split() if ln.isdigit()]
                    if lines:
                        c["rss"].append(int(lines[-1]))
                except OSError:
                    pass
    finally:
        os.unlink(path)
    return "gnu-time"


def main(argv):
    opts, cmds = parse(argv)
    for c in cmds:
        sanity(c, opts)
    good = [c for c in cmds if c["ok"]]
    if good:
        if opts["timer"] == "hyperfine":
            time_hyperfine(good, opts)
        else:
            time_paired(good, opts)
        good = [c for c in good if c["ok"]]
    rss_source = measure_rss(good, opts) if good else "-"
    for c in cmds:
        if not c["ok"] or not c["times"]:
            print(f"{c['name']}\tFAILED\t-\t-\t-\t-\t0\t-\t-")
            continue
        t = c["times"]
        sd = statistics.stdev(t) if len(t) > 1 else 0.0
        rss = f"{statistics.median(c['rss']):.0f}" if c["rss"] else "-"
        print(f"{c['name']}\tok\t{statistics.median(t):.3f}\t{statistics.mean(t):.3f}\t"
              f"{sd:.3f}\t{min(t):.3f}\t{len(t)}\t{rss}\t{rss_source}")
        if c.get("errors"):
            print(f"{c['name']}: {c['errors']} timed run(s) exited non-zero", file=sys.stderr)
    if opts["json"]:
        with open(opts["json"], "w") as f:
            json.dump({"timer": opts["timer"], "rss_source": rss_source,
                       "commands": [{k: c.get(k) for k in
                                     ("name", "argv", "stdin", "ok", "times", "maxrss", "rss")}
                                    for c in cmds]}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
