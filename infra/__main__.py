"""Pulumi entry point: validate the stack config, declare the stack, export its outputs."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # `shared/` (the names) lives at the repo root

import pulumi
from retail_pulse_infra import ConfigError, build_stack, load_config

try:
    config = load_config()
except ConfigError as error:
    raise pulumi.RunError(str(error)) from None  # the message names the keys; a traceback adds nothing

for output_name, value in build_stack(config).items():
    pulumi.export(output_name, value)
