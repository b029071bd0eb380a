"""The component package: which components it hosts, and the schema the SDK infers from them.

`components/__main__.py` serves these (as `component_provider_host` does) when a Pulumi
program in any language uses the package (`pulumi package add <repo>/components`); the
schema function runs the same analyzer offline, for tests and `python -m plan --schema`.
"""

import json
from typing import Any

import pulumi
from pulumi.provider.experimental.component import ComponentProvider
from pulumi.provider.provider import ConstructResult
from pulumi.provider.server import ComponentInitError

from .arguments import ArgsError
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


class EksMultusProvider(ComponentProvider):
    """The SDK's component provider, reporting refused args as the engine's bad-input error.

    `ComponentProvider.construct` wraps whatever a constructor raises in `ComponentInitError`,
    which the provider server reports as the message plus a Python stack, and it lets a
    `RunError` through before it looks for `InputPropertiesError` (pulumi 3.272.0
    provider/experimental/component.py `construct`, provider/server.py `Construct`). So an
    `ArgsError` is re-raised as a plain `InputPropertiesError`: the engine gets InvalidArgument
    with each property path and reason, and no stack.
    """

    def construct(self, name: str, resource_type: str, inputs: Any, options: Any = None) -> ConstructResult:
        try:
            return super().construct(name, resource_type, inputs, options)
        except ComponentInitError as exc:
            if isinstance(exc.inner, ArgsError):
                raise pulumi.InputPropertiesError(exc.inner.message, exc.inner.errors) from None
            raise


def serve(args: list[str]) -> None:
    """What `component_provider_host(COMPONENTS, name=NAME, version=VERSION)` does, with EksMultusProvider."""
    from pulumi.provider import main

    main(EksMultusProvider(COMPONENTS, NAME, None, VERSION), args)
