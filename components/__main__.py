"""Entry point of the component package (PulumiPlugin.yaml): hosts the components for any language.

The Pulumi CLI runs this directory as a plugin; the provider host infers the schema from the
components' typed args (pulumi.provider.experimental.component_provider_host).
"""

import sys
from pathlib import Path

if __name__ == "__main__":
    # Run as a script from inside components/: its parent makes `components` importable as the package
    # its modules' relative imports need (an installed eks_multus distribution would do as well).
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from pulumi.provider.experimental import component_provider_host

    from components.package import COMPONENTS, NAME, VERSION

    component_provider_host(COMPONENTS, name=NAME, version=VERSION)
