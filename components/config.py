"""Read the stack config from the Pulumi runtime into the validated model."""

from __future__ import annotations

import pulumi
from pulumi.runtime.config import CONFIG, get_config_env

from .core.advice import advise
from .core.errors import ConfigError
from .core.loader import from_pulumi_values, load_config
from .core.model import StackConfig
from .core.validate import validate


def load_stack_config() -> StackConfig:
    """The validated model of this stack's config.

    On bad config raises `pulumi.RunError` carrying every finding, so the
    engine reports them without a traceback and before any resource exists.
    """
    values = {**get_config_env(), **CONFIG.get()}
    try:
        cfg = load_config(from_pulumi_values(values), pulumi.get_stack())
    except ConfigError as exc:
        raise pulumi.RunError(exc.render()) from None
    for issue in advise(cfg):
        pulumi.log.warn(issue.render())
    return cfg


def validated(cfg: StackConfig) -> StackConfig:
    """For library use: a model built in code gets the same rules as stack config.

    Raises `pulumi.RunError` listing every finding (no traceback, nothing
    registered yet), or returns `cfg` unchanged.
    """
    issues = validate(cfg)
    if issues:
        raise pulumi.RunError(ConfigError(issues).render())
    return cfg
