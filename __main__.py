"""eks-multus: read the stack config, validate it whole, then build the platform."""

from components import MultusPlatform, load_stack_config
from components.outputs import export_outputs

config = load_stack_config()  # raises before any resource exists if the config is wrong
platform = MultusPlatform("eks-multus", config)
export_outputs(config, platform)
