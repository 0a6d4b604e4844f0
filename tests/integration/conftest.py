"""Integration fixtures: real emulators (see `tests.fixtures.emulators`)."""

from tests.fixtures.emulators import azurite, cosmos_target

__all__ = ["azurite", "cosmos_target"]
