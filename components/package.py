"""The component package: which components it hosts, and the schema the SDK infers from them.

`components/__main__.py` serves these through `component_provider_host` when a Pulumi
program in any language uses the package (`pulumi package add <repo>/components`); the
schema function runs the same analyzer offline, for tests and `python -m plan --schema`.
"""

import json
from typing import Any

import pulumi

from .cluster import MultusCluster
from .endpoints import PrivateEndpoints
from .multus import Multus
from .networks import NetworkAttachments
from .nodegroup import MultusNodeGroup
from .platform import MultusPlatform
from .readiness import ReadinessGate
from .sriov import SriovDevicePlugin
from .vpc import MultusVpc
from .whereabouts import Whereabouts

NAME = "eks-multus"
"""Package name: the first part of every type token (`eks-multus:index:MultusVpc`)."""
VERSION = "0.1.0"
"""Package version; pyproject.toml carries the same (tests check)."""

COMPONENTS: list[type[pulumi.ComponentResource]] = [
    MultusPlatform,
    MultusVpc,
    PrivateEndpoints,
    MultusCluster,
    MultusNodeGroup,
    Multus,
    ReadinessGate,
    Whereabouts,
    SriovDevicePlugin,
    NetworkAttachments,
]


def schema() -> dict[str, Any]:
    """The package schema, as the component provider host serves it (pulumi 3.272.0 analyzer)."""
    from pulumi.provider.experimental.analyzer import Analyzer
    from pulumi.provider.experimental.schema import generate_schema

    result = Analyzer(NAME).analyze(COMPONENTS)
    dependencies = sorted(result["dependencies"], key=lambda d: f"{d.name}{d.version}")
    spec = generate_schema(NAME, VERSION, None, result["component_definitions"], result["type_definitions"], dependencies)
    return json.loads(json.dumps(spec.to_json()))
