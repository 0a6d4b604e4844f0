"""Session fixtures: the example dev and prod stacks, each built once against Pulumi mocks."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from infra_harness import BuiltStack, build, example_config


@pytest.fixture(scope="session")
def dev_stack() -> Iterator[BuiltStack]:
    yield build(example_config("dev"), stack="dev")


@pytest.fixture(scope="session")
def prod_stack() -> Iterator[BuiltStack]:
    yield build(example_config("prod"), stack="prod")


@pytest.fixture(scope="session", params=["dev", "prod"])
def any_stack(request: pytest.FixtureRequest, dev_stack: BuiltStack, prod_stack: BuiltStack) -> BuiltStack:
    return dev_stack if request.param == "dev" else prod_stack
