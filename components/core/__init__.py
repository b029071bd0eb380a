"""The pure core: config model, validation, IP planning, CNI configs, user data.

Nothing in this package imports Pulumi, so it is fast to test and reusable
from any tool that wants to check or render a stack config.
"""
