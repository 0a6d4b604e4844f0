"""Delivery faults the local runtime can inject, so at-least-once is exercised, not assumed."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DeliveryFaults", "SimulatedCrash"]


class SimulatedCrash(Exception):
    """Raise it from a handler or a store wrapper to simulate the host dying right there.

    The runtime drops the progress not yet checkpointed and resumes from the last
    checkpoint (or persisted feed token), as a restarted Functions host would. This is
    how a crash between two document writes of one batch is injected.
    """


@dataclass(frozen=True, slots=True)
class DeliveryFaults:
    """Rates (0..1) of faults the consumer injects after a batch was handled successfully."""

    redeliver_rate: float = 0.0
    """Deliver the same batch again before checkpointing (Event Hubs may redeliver)."""
    crash_rate: float = 0.0
    """Crash before checkpointing: resume from the checkpoint, with new batch boundaries."""

    def __post_init__(self) -> None:
        for name in ("redeliver_rate", "crash_rate"):
            rate = getattr(self, name)
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"{name} must be within 0..1, got {rate}")
        if self.crash_rate == 1.0:
            raise ValueError("crash_rate 1.0 would never make progress")

    @property
    def any(self) -> bool:
        """True when some fault can happen."""
        return self.redeliver_rate > 0 or self.crash_rate > 0
