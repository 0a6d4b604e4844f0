"""`slas.toml`: the versioned file of SLOs, alert rules and receivers, loaded and checked as one.

A bad file is refused with one line naming the file and the key
(``slas.toml: rule[3].for: '10x' is not a duration like 30s, 5m, 1h, 28d or 1h30m``).
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from shared.alerts.rules import ReceiverSpec, RuleSpec
from shared.sla.slos import SloSpec

__all__ = ["CONFIG_VERSION", "DEFAULT_CONFIG", "SlaConfig", "SlaConfigError", "load_config", "parse_config"]

CONFIG_VERSION: Final = 1
DEFAULT_CONFIG: Final = Path(__file__).resolve().parents[2] / "slas.toml"
"""The file at the repository root (the Function App ships it next to function_app.py)."""

_TABLES: Final = {"slo": "slos", "rule": "rules", "receiver": "receivers"}


class SlaConfigError(ValueError):
    """The file cannot be used; the message is one line naming the file and the key."""


class SlaConfig(BaseModel):
    """The whole file; names are unique per table and every reference resolves."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: Literal[1]
    slos: tuple[SloSpec, ...] = ()
    rules: tuple[RuleSpec, ...] = ()
    receivers: tuple[ReceiverSpec, ...] = ()

    @model_validator(mode="after")
    def _references(self) -> SlaConfig:
        tables: tuple[tuple[str, list[str]], ...] = (
            ("slo", [s.name for s in self.slos]),
            ("rule", [r.name for r in self.rules]),
            ("receiver", [r.name for r in self.receivers]),
        )
        for table, names in tables:
            for index, name in enumerate(names):
                if name in names[:index]:
                    raise ValueError(f"{table}[{index}].name: {name!r} appears twice")
        slos, receivers = {s.name for s in self.slos}, {r.name for r in self.receivers}
        for index, rule in enumerate(self.rules):
            if rule.slo is not None and rule.slo not in slos:
                raise ValueError(f"rule[{index}].slo: no SLO named {rule.slo!r}")
            if rule.slo is not None and self.slo(rule.slo).kind not in ("freshness", "completeness"):
                raise ValueError(f"rule[{index}].slo: burn-rate alerts watch freshness or completeness SLOs")
            for receiver in rule.receivers:
                if receiver not in receivers:
                    raise ValueError(f"rule[{index}].receivers: no receiver named {receiver!r}")
        return self

    def slo(self, name: str) -> SloSpec:
        """The SLO called `name` (KeyError otherwise)."""
        for slo in self.slos:
            if slo.name == name:
                return slo
        raise KeyError(name)

    def rule(self, name: str) -> RuleSpec:
        """The rule called `name` (KeyError otherwise)."""
        for rule in self.rules:
            if rule.name == name:
                return rule
        raise KeyError(name)

    def receiver(self, name: str) -> ReceiverSpec:
        """The receiver called `name` (KeyError otherwise)."""
        for receiver in self.receivers:
            if receiver.name == name:
                return receiver
        raise KeyError(name)


def parse_config(data: dict[str, Any], origin: str = "slas.toml") -> SlaConfig:
    """Validate a parsed TOML document; `SlaConfigError` names the first bad key."""
    renamed = {_TABLES.get(key, key): value for key, value in data.items()}
    try:
        return SlaConfig.model_validate(renamed)
    except ValidationError as error:
        first = error.errors()[0]
        where = _location(first["loc"])
        message = str(first["msg"]).removeprefix("Value error, ")
        raise SlaConfigError(f"{origin}: {where + ': ' if where else ''}{message}") from None


def load_config(path: Path = DEFAULT_CONFIG) -> SlaConfig:
    """Read and validate `path`; `SlaConfigError` (one line) when it is missing or wrong."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as error:
        raise SlaConfigError(f"{path}: {error.strerror}") from None
    except tomllib.TOMLDecodeError as error:
        raise SlaConfigError(f"{path}: not TOML ({error})") from None
    return parse_config(data, str(path))


def _location(loc: tuple[int | str, ...]) -> str:
    plural = {v: k for k, v in _TABLES.items()}
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in plural and not out:
            out = plural[part]
        elif part == "for_":
            out += ".for"
        else:
            out += f".{part}" if out else str(part)
    return out
