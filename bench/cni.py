"""CNI bench: pod starts and stops on one node under the Multus container's CPU limit.

`python -m bench.cni` (root; part of `make bench`) writes build/bench/cni.json.

What runs: the plugins exactly as the node runs them (components/core/assets), the agent as its
own service making its EC2 calls in-process, the HTTP EC2 stand-in (tests/conformance/ec2_standin.py,
moto plus EC2's rules) as a process of its own outside both cgroups, and the IMDSv2 stand-in. The
legacy row's plugin runs the real AWS CLI (awscli from the dev requirements) against the same
stand-in, so each of its EC2 calls costs what an AWS CLI process costs.

Limits: a "multus" cgroup with the Multus container's limits (100m CPU = CFS quota 10 ms per
100 ms period, 256 MiB) holds bench/launcher.py, which stands in for the Multus daemon: it spawns
every plugin from inside the cgroup, so each plugin's fork, exec and children are charged there, as
Multus thick runs delegates as children of its daemon (REFERENCE.md section 14). The agent gets a
cgroup of its own with the DaemonSet's CPU limit. cgroup v2 (cpu.max, memory.max, memory.peak)
where the host has it, else the v1 cpu and memory controllers (cpu.cfs_quota_us /
cpu.cfs_period_us, memory.limit_in_bytes, memory.max_usage_in_bytes). The User-Mode Linux kernel
of the conformance VM has the controllers too, but a process start there costs about 40 times the
host's (every syscall goes through ptrace, every file through hostfs: /bin/true x50 under the same
cpu.max, p50 0.30 s in the VM), so the bench runs on the host kernel, where the limits are real
kernel limits and the costs are a real machine's.

Runs: 1, 10 and 50 concurrent ADDs, then their DELs, for
  floor    /bin/true through the same harness: the cost of starting a process at all in the
           Multus cgroup under its quota, below which no plugin can go,
  legacy   the plugin before the agent (bench/legacy/eks-multus-eni-ip: the AWS CLI per pod, in
           the Multus cgroup, one call at a time per node),
  per-pod  the bash relay + agent (addresses from whereabouts/static, assigned in batches),
  prefix   the bash relay as IPAM + agent (addresses from the ENI's prefixes, assigned at boot).
The agent's cgroup gets the DaemonSet's CPU limit (components/core/agent_manifests.py AGENT_CPU),
as on a node. Per row, the CPU charged to the Multus cgroup per plugin call (cpuacct.usage or
cpu.stat usage_usec, delta over the wave / calls).
The stand-in ENI gets 64 IPv4 slots so 50 per-pod addresses fit on one ENI (no instance type has
more than 50; the slot limit is validation's and `make plan`'s business, not this bench's).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from contextlib import closing
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from components.core.agent_manifests import AGENT_CPU  # noqa: E402
from tests.plugin.agent_rig import PLUGIN, Ec2Standin, Node, chained_conf, prefix_conf  # noqa: E402

LEGACY = ROOT / "bench" / "legacy" / "eks-multus-eni-ip"
CPU_QUOTA_US, CPU_PERIOD_US = 10_000, 100_000  # 100m
AGENT_QUOTA_US = int(AGENT_CPU.rstrip("m")) * CPU_PERIOD_US // 1000
FLOOR = Path("/bin/true")
BATCH_WINDOW = os.environ.get("BENCH_CNI_BATCH_WINDOW", "")
"""The agent's batchWindowSeconds for this run; empty: the agent's default."""
GROUP_ROOT = f"eks-multus-bench-{os.getpid()}"
"""One parent cgroup per bench process, so two benches on one host do not remove each other's."""
MEMORY_LIMIT = 256 * 1024 * 1024
CONCURRENCY = [int(c) for c in os.environ.get("BENCH_CNI_CONCURRENCY", "1,10,50").split(",")]
LEGACY_CONCURRENCY = [int(c) for c in os.environ.get("BENCH_CNI_LEGACY_CONCURRENCY", "1,10").split(",")]
"""The old plugin runs one AWS CLI process per pod and call, one at a time per node: about 1 s of CPU each, 10 s
at 100m, so x50 takes about 50 x 10 s per wave (some 17 minutes for ADD and DEL). Set 1,10,50 to run it."""
AWS_CLI = Path(sys.executable).parent / "aws"  # awscli, pinned in requirements-dev.txt
PREFIXES_AT_BOOT = 4  # 64 addresses: room for 50 pods
TARGETS = {
    "perPod": {"failures": 0, "peakMiB": 150, "ec2CallsFor50": 10, "p99AddSeconds": 2.0},
    "prefix": {"failures": 0, "peakMiB": 150, "ec2CallsFor50": 0, "p99AddSeconds": 0.1},
}


class Cgroup:
    """One cgroup with a CPU quota and a memory limit, on v2 or on the v1 cpu + memory controllers."""

    def __init__(self, name: str, quota_us: int = CPU_QUOTA_US) -> None:
        self.v2 = Path("/sys/fs/cgroup/cgroup.controllers").exists() and {"cpu", "memory"} <= set(
            Path("/sys/fs/cgroup/cgroup.controllers").read_text().split()
        )
        if self.v2:
            self.dirs = [Path("/sys/fs/cgroup") / name]
        else:
            self.dirs = [Path("/sys/fs/cgroup/cpu") / name, Path("/sys/fs/cgroup/memory") / name]
            cpuacct = Path("/sys/fs/cgroup/cpuacct")
            if cpuacct.exists() and not (Path("/sys/fs/cgroup/cpu") / "cpuacct.usage").exists():
                self.dirs.append(cpuacct / name)  # cpuacct mounted on its own (else co-mounted with cpu)
        for d in self.dirs:
            d.mkdir(parents=True, exist_ok=True)
        if self.v2:
            (self.dirs[0] / "cpu.max").write_text(f"{quota_us} {CPU_PERIOD_US}")
            (self.dirs[0] / "memory.max").write_text(str(MEMORY_LIMIT))
        else:
            (self.dirs[0] / "cpu.cfs_period_us").write_text(str(CPU_PERIOD_US))
            (self.dirs[0] / "cpu.cfs_quota_us").write_text(str(quota_us))
            (self.dirs[1] / "memory.limit_in_bytes").write_text(str(MEMORY_LIMIT))

    @property
    def kind(self) -> str:
        return "cgroup v2 cpu.max + memory.max" if self.v2 else "cgroup v1 cpu.cfs_quota_us + memory.limit_in_bytes"

    def enter(self) -> None:
        """In a child before exec: join the cgroup."""
        for d in self.dirs:
            (d / "cgroup.procs").write_text(str(os.getpid()))

    def reset_peak(self) -> None:
        if self.v2:
            peak = self.dirs[0] / "memory.peak"
            try:
                peak.write_text("0")  # Linux 6.12+ resets on write
            except OSError:
                pass
        else:
            (self.dirs[1] / "memory.max_usage_in_bytes").write_text("0")

    def cpu_seconds(self) -> float:
        """CPU charged to the cgroup so far (v2 cpu.stat usage_usec; v1 cpuacct.usage, nanoseconds)."""
        if self.v2:
            for line in (self.dirs[0] / "cpu.stat").read_text().splitlines():
                if line.startswith("usage_usec "):
                    return int(line.split()[1]) / 1e6
            return 0.0
        return int((self.dirs[-1] / "cpuacct.usage").read_text()) / 1e9

    def peak_mib(self) -> float:
        f = self.dirs[0] / "memory.peak" if self.v2 else self.dirs[1] / "memory.max_usage_in_bytes"
        return int(f.read_text().split()[0]) / 1024 / 1024

    def oom_kills(self) -> int:
        f = self.dirs[0] / "memory.events" if self.v2 else self.dirs[1] / "memory.oom_control"
        for line in f.read_text().splitlines():
            if line.startswith("oom_kill "):
                return int(line.split()[1])
        return 0

    def remove(self) -> None:
        for d in self.dirs:
            procs = [p for p in (d / "cgroup.procs").read_text().split() if p]
            for pid in procs:
                try:
                    os.kill(int(pid), 9)
                except ProcessLookupError:
                    pass
            for _ in range(50):
                try:
                    d.rmdir()
                    break
                except OSError:
                    time.sleep(0.1)


def percentile(values: list[float], q: float) -> float:
    """Nearest rank."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))
    return round(ordered[int(rank) - 1], 3)


LAUNCHER = Path(__file__).resolve().parent / "launcher.py"


class Launcher:
    """bench/launcher.py inside the Multus cgroup: it spawns the plugins, as the Multus daemon does."""

    def __init__(self, group: Cgroup) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-I", str(LAUNCHER)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, preexec_fn=group.enter
        )

    def wave(self, calls: list[dict]) -> list[dict]:
        self.proc.stdin.write(json.dumps({"calls": calls}) + "\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())["results"]

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


def wave(node: Node, launcher: Launcher, command: str, confs: dict[str, dict], netns: Path, role: Path, legacy_env: dict | None):
    """All at once; each one's wall time from its spawn to its exit."""
    calls = [
        {
            "argv": [str(role)],
            "env": {
                "PATH": os.environ["PATH"],
                "CNI_COMMAND": command,
                "CNI_CONTAINERID": cid,
                "CNI_IFNAME": "net1",
                "CNI_NETNS": str(netns),
                "EKS_MULTUS_AGENT_PORT": str(node.port),
                **(legacy_env or {}),
            },
            "stdin": json.dumps(conf),
        }
        for cid, conf in confs.items()
    ]
    times, failures, errors = [], 0, []
    for result in launcher.wave(calls):
        times.append(result["seconds"])
        if result["rc"] != 0:
            failures += 1
            errors.append(result["stdout"][:300] or result["stderr"])
    return times, failures, errors


def ec2_calls(ec2: Ec2Standin, eni: str) -> int:
    """The node's EC2 calls on the ENI: every Assign/Unassign attempt and every describe of it."""
    log = ec2.folder / "calls.log"
    describes = (
        sum(1 for line in log.read_text().splitlines() if line.startswith(f"DescribeNetworkInterfaces {eni} ")) if log.exists() else 0
    )
    return len(ec2.writes(eni)) + describes


def run_case(mode: str, n: int, tmp: Path, ec2: Ec2Standin) -> dict:
    folder = tmp / f"{mode}-{n}"
    folder.mkdir()
    eni_id = ec2.world({"node": {"primary": "100.64.0.10", "limit": 64}}, prefix=["100.64.16.0/22"])["node"]
    multus = Cgroup(f"{GROUP_ROOT}/multus-{mode}-{n}")
    agent_group = Cgroup(f"{GROUP_ROOT}/agent-{mode}-{n}", AGENT_QUOTA_US)
    config = {"interfaces": [{"name": "lo", "prefixCount": PREFIXES_AT_BOOT}]} if mode == "prefix" else {}
    if BATCH_WINDOW:
        config["batchWindowSeconds"] = float(BATCH_WINDOW)
    node = Node(folder / "node", ec2, eni_id, **config)
    netns = folder / "netns"
    netns.touch()  # the pods stay alive for the reconciler
    try:
        legacy_env = None
        role = PLUGIN
        if mode == "legacy":
            legacy_env = {
                "EKS_MULTUS_IMDS_ENDPOINT": node.imds.endpoint,
                "EKS_MULTUS_AWS_CLI": str(AWS_CLI),
                "AWS_ENDPOINT_URL_EC2": ec2.endpoint,
                "AWS_ACCESS_KEY_ID": "ASIATEST",  # the CLI would find the instance profile's in IMDS; any key will do
                "AWS_SECRET_ACCESS_KEY": "secret",
            }
            role = LEGACY
        elif mode == "floor":
            role = FLOOR
        else:
            _start_in(node, agent_group)
            if mode == "prefix":
                deadline = time.time() + 120
                while time.time() < deadline and len(node.ask({"op": "stats"}).get("prefixes", {}).get(eni_id, [])) < PREFIXES_AT_BOOT:
                    time.sleep(0.2)
                role = folder / "eks-multus-eni-prefix"
                role.symlink_to(PLUGIN)
        boot_calls = ec2_calls(ec2, eni_id)
        if mode == "prefix":
            confs = {f"pod-{i}": prefix_conf(count=PREFIXES_AT_BOOT) for i in range(n)}
        else:
            confs = {f"pod-{i}": chained_conf([f"100.64.30.{10 + i}"]) for i in range(n)}
            if mode == "legacy":
                confs = {k: {**v, "dataDir": str(folder / "legacy-state")} for k, v in confs.items()}
        launcher = Launcher(multus)
        launcher.wave([])  # started and idle, as the Multus daemon is before pods come:
        time.sleep(2 * CPU_PERIOD_US / 1e6)  # its start-up must not eat the first wave's quota period
        multus.reset_peak()
        cpu_before = multus.cpu_seconds()
        add_times, add_failures, add_errors = wave(node, launcher, "ADD", confs, netns, role, legacy_env)
        after_add, cpu_add = ec2_calls(ec2, eni_id), multus.cpu_seconds()
        del_times, del_failures, del_errors = wave(node, launcher, "DEL", confs, netns, role, legacy_env)
        launcher.close()
        after_del, cpu_del = ec2_calls(ec2, eni_id), multus.cpu_seconds()
        left = ec2.addresses(eni_id)
        return {
            "mode": mode,
            "concurrency": n,
            "addP50Seconds": percentile(add_times, 50),
            "addP99Seconds": percentile(add_times, 99),
            "delP50Seconds": percentile(del_times, 50),
            "delP99Seconds": percentile(del_times, 99),
            "ec2CallsAdd": after_add - boot_calls,
            "ec2CallsDel": after_del - after_add,
            "ec2CallsBoot": boot_calls,
            "ec2CallsPerPod": round((after_del - boot_calls) / n, 3),
            "multusCpuSecondsPerAdd": round((cpu_add - cpu_before) / n, 4),
            "multusCpuSecondsPerDel": round((cpu_del - cpu_add) / n, 4),
            "multusPeakMiB": round(multus.peak_mib(), 1),
            "agentPeakMiB": round(agent_group.peak_mib(), 1) if mode not in ("floor", "legacy") else None,
            "oomKills": multus.oom_kills(),
            "failures": add_failures + del_failures,
            "addressesLeftOnEni": len(left),
            "errors": (add_errors + del_errors)[:3],
        }
    finally:
        node.close()
        multus.remove()
        agent_group.remove()


def exec_floor(results: list[dict], n: int = 50) -> dict:
    """What the quota alone allows: n processes that each burn c CPU-seconds in a cgroup with q CPUs
    need about n * c / q seconds before the last one is done, whatever else they do (CFS lets a
    period's quota run a little over, so a measured p99 can land just under it). From the floor row
    (/bin/true) and the relay rows at n, with c the CPU per ADD charged to the Multus cgroup (the
    harness's fork before exec included)."""
    quota = CPU_QUOTA_US / CPU_PERIOD_US
    out: dict = {"concurrency": n, "cpus": quota, "p99TargetSeconds": TARGETS["prefix"]["p99AddSeconds"]}
    out["cpuSecondsPerExecTheTargetAllows"] = round(TARGETS["prefix"]["p99AddSeconds"] * quota / n, 6)
    for mode in ("floor", "perPod", "prefix"):
        row = next((r for r in results if r["mode"] == mode and r["concurrency"] == n), None)
        if row is not None:
            cpu = row["multusCpuSecondsPerAdd"]
            out[mode] = {"cpuSecondsPerAdd": cpu, "p99QuotaBoundSeconds": round(cpu * n / quota, 3), "p99AddSeconds": row["addP99Seconds"]}
    return out


def _start_in(node: Node, group: Cgroup) -> None:
    """Start the agent inside its own cgroup (a shell that joins it, then execs the agent)."""
    dirs = " ".join(str(d / "cgroup.procs") for d in group.dirs)
    wrap = ["/bin/sh", "-c", f'for f in {dirs}; do echo $$ > "$f"; done; exec "$@"', "sh"]
    node.start(wrap=wrap)


def main() -> int:
    if os.geteuid() != 0:
        print("bench.cni: skipped (needs root to create cgroups)")
        return 0
    modes = os.environ.get("BENCH_CNI_MODES", "floor,legacy,perPod,prefix").split(",")
    results = []
    # The EC2 stand-in is the bench's child, in the bench's cgroup: neither Multus's nor the agent's.
    with tempfile.TemporaryDirectory() as tmp, closing(Ec2Standin(Path(tmp) / "ec2")) as ec2:
        for mode in modes:
            for n in LEGACY_CONCURRENCY if mode == "legacy" else CONCURRENCY:
                started, load = time.perf_counter(), os.getloadavg()[0]
                row = run_case(mode, n, Path(tmp), ec2)
                row["loadAverage1mAtStart"] = round(load, 2)  # the machine may be shared: read the figures with it
                row["caseSeconds"] = round(time.perf_counter() - started, 1)
                results.append(row)
                print(
                    f"{mode:7} x{n:<3} ADD p50 {row['addP50Seconds']:7.3f}s p99 {row['addP99Seconds']:7.3f}s  "
                    f"DEL p50 {row['delP50Seconds']:7.3f}s p99 {row['delP99Seconds']:7.3f}s  "
                    f"EC2/pod {row['ec2CallsPerPod']:5.2f}  multus peak {row['multusPeakMiB']:6.1f} MiB  "
                    f"cpu/ADD {row['multusCpuSecondsPerAdd'] * 1000:6.1f} ms  "
                    f"failures {row['failures']}  oom {row['oomKills']}",
                    flush=True,
                )
    limits = Cgroup(f"{GROUP_ROOT}/probe")
    kind = limits.kind
    limits.remove()
    for d in limits.dirs:
        try:
            d.parent.rmdir()
        except OSError:
            pass
    verdicts = {}
    for mode, target in TARGETS.items():
        row = next((r for r in results if r["mode"] == mode and r["concurrency"] == 50), None)
        if row is None:
            continue
        calls = row["ec2CallsAdd"]
        verdicts[mode] = {
            "failures": row["failures"] == target["failures"] and row["oomKills"] == 0,
            "peak": row["multusPeakMiB"] < target["peakMiB"],
            "ec2Calls": calls <= target["ec2CallsFor50"],
            "p99Add": row["addP99Seconds"] <= target["p99AddSeconds"],
        }
    doc = {
        "limits": {"cpu": "100m", "cfsQuotaUs": CPU_QUOTA_US, "cfsPeriodUs": CPU_PERIOD_US, "memoryMiB": 256, "how": kind},
        "agentLimits": {"cpu": AGENT_CPU, "cfsQuotaUs": AGENT_QUOTA_US, "cfsPeriodUs": CPU_PERIOD_US},
        "batchWindowSeconds": float(BATCH_WINDOW) if BATCH_WINDOW else "agent default",
        "execFloor": exec_floor(results),
        "python": sys.version.split()[0],
        "cores": os.cpu_count(),
        "results": results,
        "targets": TARGETS,
        "targetsMet": verdicts,
    }
    out = ROOT / "build" / "bench" / "cni.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(doc, indent=2) + "\n")
    print(f"wrote {out.relative_to(ROOT)}; targets met at 50: {json.dumps(verdicts)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
