"""Entry point of the component package (PulumiPlugin.yaml): hosts the components for any language.

The Pulumi CLI runs this directory as a plugin; the SDK's component provider infers the schema from
the components' typed args (pulumi.provider.experimental, as component_provider_host does).
"""

import sys
from pathlib import Path

if __name__ == "__main__":
    # Run as a script, Python puts components/ itself first on sys.path, where platform.py would shadow
    # the standard library's `platform`; its parent instead makes `components` the package its modules'
    # relative imports need.
    here = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != here]
    sys.path.insert(0, str(here.parent))
    from components.package import serve

    # As component_provider_host(COMPONENTS, name=NAME, version=VERSION) serves them (host.py: the
    # plugin's arguments after the program name), with refused args reported as bad inputs.
    serve(sys.argv[1:])
