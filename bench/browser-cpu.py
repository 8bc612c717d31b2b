#!/usr/bin/env python3
"""BROWSER for bench/run.sh's oauth section: tests/peers/browser.py, unchanged,
plus one line of accounting (Python stdlib only).

    BROWSER=bench/browser-cpu.py BENCH_BROWSER_CPU=FILE conntest test auth ...

conntest starts $BROWSER and reaps it (src/browser.rs: a thread waits for the
child). browser.py's first process only starts Python, imports its modules and
double-forks; the part that plays the user runs detached (reparented away from
conntest), so its CPU time is not conntest's. But the first process IS reaped by
conntest, so the kernel adds its CPU time (Python start-up, tens of ms) to the
rusage that wait4 — and so `/usr/bin/time -f %U %S` — reports for conntest.

This wrapper runs browser.py in this very process (runpy, same argv and
environment, so it is the same program doing the same thing) and, just before
this first process exits, appends the user+sys CPU seconds that conntest will
inherit when it reaps it to $BENCH_BROWSER_CPU: getrusage RUSAGE_SELF (this
process, including what ran in it before exec, e.g. an `env python3` shim) plus
RUSAGE_CHILDREN (what it waited for, e.g. a pyenv shim's helpers).
bench/selfcpu.py subtracts that figure from conntest's wait4 rusage to get the
CPU time of the conntest process alone. The forked background parts (other
pids, not reaped by conntest) record nothing. What the first process spends
after the record (its exit) still counts as conntest's: a slight overstatement.

Env: BENCH_BROWSER_CPU (the file to append to; unset = record nothing),
BENCH_BROWSER_SCRIPT (default: tests/peers/browser.py next to this checkout).
Everything else is browser.py's (BROWSER_USER, BROWSER_PASSWORD, BROWSER_LOG, ...).
"""
import os
import resource
import runpy
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.environ.get("BENCH_BROWSER_SCRIPT") or os.path.join(HERE, "..", "tests", "peers", "browser.py")
OUT = os.environ.get("BENCH_BROWSER_CPU") or None
PID = os.getpid()
_real_exit = os._exit
_done = False


def record():
    global _done
    if _done or OUT is None or os.getpid() != PID:
        return
    _done = True
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)  # e.g. a pyenv shim's helpers, before its exec
    cpu = me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime
    line = f"{PID}\t{cpu:.6f}\n"
    try:
        fd = os.open(OUT, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.write(fd, line.encode())
        os.close(fd)
    except OSError:
        pass


def _exit(code):
    record()
    _real_exit(code)


os._exit = _exit  # browser.py's detach() leaves the first process with os._exit(0)
sys.argv = [SCRIPT] + sys.argv[1:]
try:
    runpy.run_path(SCRIPT, run_name="__main__")
finally:  # the paths that return normally (usage errors, BROWSER_MODE=never)
    record()
