"""Retail Pulse infrastructure: one Pulumi component per concern, wired in ``stack.py``."""

from .config import ConfigError, StackConfig, load_config, parse_config
from .stack import build_stack

__all__ = ["ConfigError", "StackConfig", "build_stack", "load_config", "parse_config"]
