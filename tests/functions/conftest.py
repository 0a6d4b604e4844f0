"""Fixtures of the Functions app tests (see `app_env`)."""

from tests.functions.app_env import app_env, cosmos_target

__all__ = ["app_env", "cosmos_target"]
