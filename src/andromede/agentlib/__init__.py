"""What every host agent shares: the reconcile runner, the controller client, Temporary/Permanent errors, backoff.

Imports no service: each service's agent package implements runner.Reconciler and registers one entry
(registry.Entry); `andromede agent` builds the entries and hands them to runner.Runner.
"""
