"""Security contexts for the stack's containers and the stated exceptions to them.

A container that need not be privileged gets `restricted()` (non-root) or
`root_without_privilege()` (root only for root-owned host directories): no
privilege escalation, every capability dropped, read-only root, seccomp
`RuntimeDefault`. What a CNI daemon must keep (privileged, host network, root)
is declared on its object as a checkov skip annotation with a one-line reason,
so the scanner in `make test` reports it as a stated waiver instead of a
silent failure. Kubernetes facts the reasons rely on:

- Privileged containers always run seccomp `Unconfined` ("It is not possible to
  apply a seccomp profile to a container running with privileged: true",
  kubernetes.io/docs/tutorials/security/seccomp/).
- The API server refuses `allowPrivilegeEscalation: false` together with
  `privileged: true` (kubernetes/kubernetes pkg/apis/core/validation,
  "cannot set `allowPrivilegeEscalation` to false and `privileged` to true").
- NetworkPolicy does not apply to pods with `hostNetwork: true`
  (kubernetes.io/docs/concepts/services-networking/network-policies/).
"""

from __future__ import annotations

from typing import Any

SKIP_ANNOTATION_PREFIX = "checkov.io/skip"
"""checkov's Kubernetes skip syntax: `checkov.io/skip<N>: <CHECK_ID>=<reason>` (checkov kubernetes_utils.py)."""

NOBODY = 65534
"""The `nobody` user of Alpine, the whereabouts image's base (whereabouts v0.9.4 Dockerfile: alpine)."""

RUNTIME_DEFAULT = {"type": "RuntimeDefault"}

Obj = dict[str, Any]


def restricted(uid: int = NOBODY) -> Obj:
    """Container security context for a process that needs no root and no host access."""
    return {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "runAsUser": uid,
        "runAsGroup": uid,
        "seccompProfile": dict(RUNTIME_DEFAULT),
    }


def root_without_privilege() -> Obj:
    """UID 0 with no capabilities: enough to write root-owned host directories, nothing more.

    The owner of a file needs no capability to write it or chmod it; only
    other users' files need CAP_DAC_OVERRIDE / CAP_FOWNER (capabilities(7)).
    """
    return {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "readOnlyRootFilesystem": True,
        "runAsUser": 0,
        "seccompProfile": dict(RUNTIME_DEFAULT),
    }


def privileged() -> Obj:
    return {"privileged": True}


def pod_security_context(non_root: bool = False) -> Obj:
    """Pod-level defaults; privileged containers override them (see module docstring)."""
    ctx: Obj = {"seccompProfile": dict(RUNTIME_DEFAULT)}
    if non_root:
        ctx.update({"runAsNonRoot": True, "runAsUser": NOBODY, "runAsGroup": NOBODY})
    return ctx


def waive(obj: Obj, reasons: dict[str, str]) -> Obj:
    """Add one checkov skip annotation per check to the object's metadata; returns the object."""
    for check, reason in reasons.items():
        check_waiver(check, reason)
    annotations = obj["metadata"].setdefault("annotations", {})
    start = sum(1 for k in annotations if k.startswith(SKIP_ANNOTATION_PREFIX))
    for i, (check, reason) in enumerate(sorted(reasons.items()), start=start + 1):
        annotations[f"{SKIP_ANNOTATION_PREFIX}{i}"] = f"{check}={reason}"
    return obj


def check_waiver(check: str, reason: str) -> None:
    """checkov splits the value on `=` into exactly two parts, so the reason must not contain one."""
    if not check.startswith(("CKV_K8S_", "CKV2_K8S_")):
        raise ValueError(f"not a checkov Kubernetes check id: {check}")
    if not reason.strip() or "=" in reason or "\n" in reason:
        raise ValueError(f"waiver of {check} needs a one-line reason without '=': {reason!r}")


def waivers_of(obj: Obj) -> dict[str, str]:
    """The checks an object waives, with their reasons (the inverse of `waive`)."""
    out = {}
    for key, value in (obj.get("metadata", {}).get("annotations") or {}).items():
        if key.startswith(SKIP_ANNOTATION_PREFIX):
            check, _, reason = value.partition("=")
            out[check] = reason
    return out
