"""Reading the API server and CA out of a kubeconfig (YAML or JSON)."""

from __future__ import annotations

from typing import Any

import yaml


def _first_cluster(text: str) -> dict[str, Any] | None:
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError:
        return None
    try:
        cluster = doc["clusters"][0]["cluster"]
    except (TypeError, KeyError, IndexError):
        return None
    return cluster if isinstance(cluster, dict) else None


def kubeconfig_server(text: str) -> str | None:
    cluster = _first_cluster(text)
    server = cluster.get("server") if cluster else None
    return server if isinstance(server, str) and server.startswith("https://") else None


def endpoint_and_ca(text: str) -> tuple[str, str]:
    """API endpoint and base64 CA of the first cluster; the kubeconfig was validated or rendered by pulumi-eks."""
    cluster = _first_cluster(text) or {}
    return cluster["server"], cluster["certificate-authority-data"]
