"""The bench's stand-in for the Multus thick daemon: it runs inside the Multus cgroup and starts the plugins.

Multus thick execs every delegate as a child of its daemon, so the delegates' fork and exec are charged to
the Multus container's cgroup (REFERENCE.md section 14). A parent outside the cgroup whose child joins it
after fork (preexec_fn) would charge that child's copy of the parent's Python heap and its post-fork
interpreter work to the cgroup instead, about 2 ms of CPU per plugin that no node pays. Here the launcher is
in the cgroup and spawns with vfork (CPython's subprocess, no preexec_fn), as Go's os/exec does.

Protocol: one JSON line per wave on stdin, {"calls": [{"argv", "env", "stdin"}]}; one JSON line back,
{"results": [{"seconds", "rc", "stdout", "stderr"}]}, each call timed from its spawn to its exit.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time


def run_wave(calls: list[dict]) -> list[dict]:
    started, procs = {}, []
    for call in calls:  # every process is started before any gets its config
        begin = time.perf_counter()
        proc = subprocess.Popen(call["argv"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=call["env"])
        started[proc.pid] = begin
        procs.append(proc)
    for proc, call in zip(procs, calls, strict=True):
        try:
            proc.stdin.write(call["stdin"].encode())
            proc.stdin.close()
        except BrokenPipeError:  # killed before it read its config (the OOM killer, under the memory limit)
            pass
    ended, status = {}, {}
    while len(ended) < len(procs):  # exit times as the kernel reports them, not in the order we look
        pid, code = os.waitpid(-1, 0)
        if pid in started:
            ended[pid], status[pid] = time.perf_counter(), os.waitstatus_to_exitcode(code)
    out = []
    for proc in procs:
        proc.returncode = status[proc.pid]
        out.append(
            {
                "seconds": ended[proc.pid] - started[proc.pid],
                "rc": status[proc.pid],
                "stdout": proc.stdout.read().decode(errors="replace"),
                "stderr": proc.stderr.read().decode(errors="replace")[-300:],
            }
        )
    return out


def main() -> int:
    for line in sys.stdin:
        print(json.dumps({"results": run_wave(json.loads(line)["calls"])}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
