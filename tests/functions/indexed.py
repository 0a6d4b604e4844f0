"""The app indexed once per process, as the worker does (`FunctionApp.get_functions` may run only once)."""

from __future__ import annotations

from azure.functions.decorators.function_app import Function

from function_app import app

__all__ = ["FUNCTIONS"]

FUNCTIONS: dict[str, Function] = {f.get_function_name(): f for f in app.get_functions()}
