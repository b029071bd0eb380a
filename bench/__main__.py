"""Median wall time and peak memory of planning dev, prod and a large stack.

Each run is a fresh interpreter, as `make plan` is; the floor is the same
interpreter importing pulumi, pulumi_aws, pulumi_eks and pulumi_kubernetes
and installing the mocks, registering nothing.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .large_stack import write_large_stack

ROOT = Path(__file__).resolve().parent.parent
RUNS = int(os.environ.get("BENCH_RUNS", "5"))
FLOOR = (
    "import pulumi, pulumi_aws, pulumi_eks, pulumi_kubernetes\n"
    "from plan.mocks import PlanMocks, PlanMonitor\n"
    "m = PlanMocks('us-east-1')\n"
    "pulumi.runtime.set_mocks(m, project='eks-multus', stack='floor', preview=False, monitor=PlanMonitor(m))\n"
)
# The SDK packages load each resource class on first attribute access, so the
# literal floor above never pays for the classes a program registers. This
# floor also touches every class this program uses, still registering nothing.
CLASS_FLOOR = FLOOR + (
    "import pulumi_aws as aws, pulumi_eks as eks, pulumi_kubernetes as k8s\n"
    "[aws.ec2.Vpc, aws.ec2.Subnet, aws.ec2.InternetGateway, aws.ec2.RouteTable, aws.ec2.RouteTableAssociation,"
    " aws.ec2.Eip, aws.ec2.NatGateway, aws.ec2.VpcIpv4CidrBlockAssociation, aws.ec2.SubnetCidrReservation,"
    " aws.ec2.SecurityGroup, aws.ec2.LaunchTemplate, aws.iam.Role, aws.iam.RolePolicyAttachment,"
    " aws.iam.InstanceProfile, aws.eks.AccessEntry, aws.autoscaling.Group, aws.ssm.get_parameter_output,"
    " eks.Cluster, eks.VpcCniOptionsArgs, k8s.Provider, k8s.core.v1.ConfigMap, k8s.core.v1.ServiceAccount,"
    " k8s.apps.v1.DaemonSet, k8s.apps.v1.Deployment, k8s.rbac.v1.ClusterRole, k8s.rbac.v1.ClusterRoleBinding,"
    " k8s.apiextensions.v1.CustomResourceDefinition, k8s.apiextensions.CustomResource]\n"
)
TARGETS = {"dev": 1.5, "large": 3.0}
LARGE_PEAK_MB = 500


def measure(argv: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one child process."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"bench: {' '.join(argv)} failed: {proc.stderr.read().decode() if proc.stderr else ''}")
    return elapsed, usage.ru_maxrss / 1024


def series(argv: list[str]) -> tuple[float, float]:
    times, peaks = [], []
    for _ in range(RUNS):
        t, m = measure(argv)
        times.append(t)
        peaks.append(m)
    return statistics.median(times), max(peaks)


def main() -> int:
    py = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        large = write_large_stack(Path(tmp) / "Pulumi.large.yaml")
        cases = {
            "floor": [py, "-c", FLOOR],
            "classes": [py, "-c", CLASS_FLOOR],
            "dev": [py, "-m", "plan", "--stack", "dev", "--out", f"{tmp}/dev", "--quiet"],
            "prod": [py, "-m", "plan", "--stack", "prod", "--out", f"{tmp}/prod", "--quiet"],
            "large": [py, "-m", "plan", "--config", str(large), "--out", f"{tmp}/large", "--quiet"],
        }
        results = {name: series(argv) for name, argv in cases.items()}
    floor, class_floor = results["floor"][0], results["classes"][0]
    print(f"median of {RUNS} runs, fresh interpreter each")
    print("floor: import pulumi, pulumi_aws, pulumi_eks, pulumi_kubernetes + mocks")
    print("classes: floor + load every SDK resource class the program registers (targets apply to this)")
    print(f"{'case':<8}{'median s':>10}{'x floor':>10}{'x classes':>11}{'peak MB':>10}  target")
    failed = False
    for name, (median, peak) in results.items():
        ratio = median / class_floor
        target = TARGETS.get(name)
        note = ""
        if target is not None:
            ok = ratio <= target
            note = f"<= {target}x {'ok' if ok else 'MISSED'}"
            failed |= not ok
        if name == "large":
            ok = peak <= LARGE_PEAK_MB
            note += f", peak <= {LARGE_PEAK_MB} MB {'ok' if ok else 'MISSED'}"
            failed |= not ok
        print(f"{name:<8}{median:>10.2f}{median / floor:>10.2f}{ratio:>11.2f}{peak:>10.0f}  {note}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
