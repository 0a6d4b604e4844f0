"""The local runtime: the embedded host that drives the same handlers as the Azure Functions.

`LocalLog` stands in for Event Hubs, `CheckpointStore` for the trigger's checkpoints,
`PartitionConsumer` for the Event Hubs trigger, `ChangeFeedPoller` for the Cosmos DB
trigger, and `LocalHost` wires them over a `DocumentStore`.
"""

from shared.runtime.checkpoints import CheckpointStore
from shared.runtime.consumer import ConsumerSettings, PartitionConsumer, Step
from shared.runtime.faults import DeliveryFaults, SimulatedCrash
from shared.runtime.feed_poller import ChangeFeedPoller, lease_id
from shared.runtime.host import HostSettings, LocalHost
from shared.runtime.local_log import LocalLog, LogAppend
from shared.runtime.retry import DeadlineExceeded, RetryPolicy, StopRequested
from shared.runtime.stats import RuntimeStats

__all__ = [
    "ChangeFeedPoller",
    "CheckpointStore",
    "ConsumerSettings",
    "DeadlineExceeded",
    "DeliveryFaults",
    "HostSettings",
    "LocalHost",
    "LocalLog",
    "LogAppend",
    "PartitionConsumer",
    "RetryPolicy",
    "RuntimeStats",
    "SimulatedCrash",
    "Step",
    "StopRequested",
    "lease_id",
]
