"""The handlers both hosts call: Azure Functions (`functions/`) and the local runtime (`shared/runtime/`)."""
