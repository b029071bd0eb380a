"""Scale-out of N nodes against EC2's CreateNetworkInterface bucket, in virtual time.

    python -m bench.scaleout [--nodes 50] [--enis 2] [--vpc-cni 1] [--start-tokens 100] [--runs 200]

The parameters are the documented ones, not fitted:
- EC2 API reference, "Request throttling": Create/DeleteNetworkInterface share a
  resource-rate bucket of 100 tokens refilled at 5 per second per account and Region.
- botocore `retries/standard.py` (the AWS CLI's `standard` mode): up to
  AWS_MAX_ATTEMPTS attempts per call; before attempt i+1 it sleeps
  rand(0, 1) * min(1 s * 2**i, 20 s) after a throttling error.
- the boot step (components/core/assets/eks-multus-interfaces): AWS_MAX_ATTEMPTS=8,
  6 attempts, a failed attempt sleeps uniform(0, min(60, 2 * 2**n)) s.
Every node starts its boot step at the same instant (the worst case) and, on
top of its multus ENIs, the VPC CNI on it creates `--vpc-cni` ENIs from the
same bucket with the same retry policy. A node fails when its boot step runs
out of attempts. Prints the worst and the median time to converge.
"""

from __future__ import annotations

import argparse
import heapq
import random
import statistics

CLI_ATTEMPTS = 8
BOOT_ATTEMPTS = 6


def run(nodes: int, enis: int, vpc_cni: int, start_tokens: float, rng: random.Random) -> tuple[float, int]:
    tokens, at = start_tokens, 0.0
    events: list[tuple[float, int, str, int]] = []  # (time, node, kind, cli attempt)
    left = {n: enis for n in range(nodes)}
    boot_attempt = dict.fromkeys(range(nodes), 1)
    done_at: dict[int, float] = {}
    failed = 0
    for n in range(nodes):
        heapq.heappush(events, (0.0, n, "multus", 1))
        for _ in range(vpc_cni):
            heapq.heappush(events, (0.0, n, "vpc-cni", 1))
    while events:
        now, n, kind, attempt = heapq.heappop(events)
        tokens, at = min(100.0, tokens + (now - at) * 5.0), now
        if tokens >= 1:
            tokens -= 1
            if kind == "multus":
                left[n] -= 1
                if left[n]:
                    heapq.heappush(events, (now + 1.0, n, "multus", 1))  # attach + modify, then the next create
                else:
                    done_at[n] = now
            continue
        if attempt < CLI_ATTEMPTS:
            heapq.heappush(events, (now + rng.random() * min(2 ** (attempt - 1), 20), n, kind, attempt + 1))
        elif kind == "multus":
            if boot_attempt[n] >= BOOT_ATTEMPTS:
                failed += 1
                continue
            boot_attempt[n] += 1
            heapq.heappush(events, (now + rng.uniform(0, min(60, 2 * 2 ** boot_attempt[n])), n, "multus", 1))
    return max(done_at.values(), default=0.0), failed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--nodes", type=int, default=50)
    parser.add_argument("--enis", type=int, default=2)
    parser.add_argument("--vpc-cni", type=int, default=1)
    parser.add_argument("--start-tokens", type=float, default=100)
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    rng = random.Random(11)
    results = [run(args.nodes, args.enis, args.vpc_cni, args.start_tokens, rng) for _ in range(args.runs)]
    times = [t for t, _ in results]
    print(
        f"{args.nodes} nodes x {args.enis} multus ENIs (+{args.vpc_cni} VPC CNI ENI each), bucket starts at {args.start_tokens:.0f}: "
        f"failed nodes {sum(f for _, f in results)} in {args.runs} runs; converged in median {statistics.median(times):.1f} s, "
        f"worst {max(times):.1f} s"
    )


if __name__ == "__main__":
    main()
