"""Pinned container images and the regional registries of the AWS Multus build."""

from __future__ import annotations

import re

MULTUS_UPSTREAM = "ghcr.io/k8snetworkplumbingwg/multus-cni:v4.3.0-thick"
MULTUS_EKS_TAG = "v4.1.4-eksbuild.3_thick"
WHEREABOUTS = "ghcr.io/k8snetworkplumbingwg/whereabouts:v0.9.4"
SRIOV_DEVICE_PLUGIN = "ghcr.io/k8snetworkplumbingwg/sriov-network-device-plugin:v3.11.0"
TAINT_REMOVER_PYTHON = "public.ecr.aws/docker/library/python:3.13.9-alpine3.22"
"""Runs the taint remover (standard library only). Docker official image, tag listed in
docker-library/official-images `library/python`; ECR Public's mirror of Docker Hub's library images
avoids Docker Hub's anonymous pull limit. Pinned by tag only: no digest was verified."""

_DEFAULT_ACCOUNT = "602401143452"
_DEFAULT_REGIONS = (
    "ap-northeast-1 ap-northeast-2 ap-northeast-3 ap-south-1 ap-southeast-1 ap-southeast-2 ca-central-1 "
    "eu-central-1 eu-north-1 eu-west-1 eu-west-2 eu-west-3 sa-east-1 us-east-1 us-east-2 us-west-1 us-west-2"
).split()
ECR_ACCOUNTS: dict[str, str] = {region: _DEFAULT_ACCOUNT for region in _DEFAULT_REGIONS} | {
    "af-south-1": "877085696533",
    "ap-east-1": "800184023465",
    "ap-east-2": "533267051163",
    "ap-south-2": "900889452093",
    "ap-southeast-3": "296578399912",
    "ap-southeast-4": "491585149902",
    "ap-southeast-5": "151610086707",
    "ap-southeast-6": "333609536671",
    "ap-southeast-7": "121268973566",
    "ca-west-1": "761377655185",
    "cn-north-1": "918309763551",
    "cn-northwest-1": "961992271922",
    "eu-central-2": "900612956339",
    "eu-south-1": "590381155156",
    "eu-south-2": "455263428931",
    "il-central-1": "066635153087",
    "me-south-1": "558608220178",
    "me-central-1": "759879836304",
    "us-gov-east-1": "151742754352",
    "us-gov-west-1": "013241004608",
}

_REFERENCE = re.compile(r"^[a-z0-9][a-z0-9._/:-]*[a-z0-9](@sha256:[0-9a-f]{64})?$")


def multus_image(setting: str, region: str) -> str:
    """Image reference for the `multus.image` setting."""
    if setting == "upstream":
        return MULTUS_UPSTREAM
    if setting == "eks":
        suffix = ".amazonaws.com.cn" if region.startswith("cn-") else ".amazonaws.com"
        return f"{ECR_ACCOUNTS[region]}.dkr.ecr.{region}{suffix}/eks/multus-cni:{MULTUS_EKS_TAG}"
    return setting


def multus_is_eks_build(setting: str) -> bool:
    """The AWS build lacks `install_multus`; its init step copies the shim with cp -f."""
    return setting == "eks" or "/eks/multus-cni:" in setting


def check_image_reference(ref: str) -> str | None:
    """Why `ref` is not a pinned image reference, or None."""
    if not _REFERENCE.match(ref):
        return f"`{ref}` is not an image reference"
    if "@sha256:" in ref:
        return None
    last = ref.rsplit("/", 1)[-1]
    if ":" not in last:
        return f"`{ref}` has no tag, so it floats to latest"
    tag = last.rsplit(":", 1)[1]
    if tag in ("latest", "stable", "stable-thick", "snapshot", "snapshot-thick"):
        return f"tag `{tag}` floats"
    return None


DIGEST_STATUS: dict[str, str] = {
    MULTUS_UPSTREAM: "no upstream digest: nothing in multus-cni at v4.3.0 (deployments/, docs/) names one",
    WHEREABOUTS: "no upstream digest: nothing in whereabouts at v0.9.4 (doc/crds/, the chart) names one",
    SRIOV_DEVICE_PLUGIN: "no upstream digest: nothing in sriov-network-device-plugin at v3.11.0 (deployments/) names one",
    TAINT_REMOVER_PYTHON: "no verified digest: docker-library/official-images lists the tag, the ECR Public mirror's digest was not checked",
}
"""Why each pinned image runs by tag alone. Add `@sha256:` to the constant once a digest is
published by the project itself; a digest read off a registry by hand is not a source."""


def digest_status(image: str) -> str:
    """One line on why `image` has no digest (checked by tests/security)."""
    if image in DIGEST_STATUS:
        return DIGEST_STATUS[image]
    if f":{MULTUS_EKS_TAG}" in image and "/eks/multus-cni:" in image:
        return "no AWS digest: amazon-vpc-cni-k8s config/multus/v4.1.4-eksbuild.3 names the tag only"
    return "image set in config without a digest; add @sha256 to pin it"
