"""The sanitizing (無害化) SMTP relay: SMTP in → durable spool → sanitize → deliver to the LGWAN server; the originals
go to a content-addressed quarantine store, every step to an event file for the web application.

Pure Python + aiosmtpd, no Django import. See docs/decisions/0010-relay.md.
"""

from mamoru.relay.events import acknowledge, read_events
from mamoru.relay.quarantine import QuarantineStore
from mamoru.relay.server import Relay, RelayConfig, RelayError, accept_message, check_recipient
from mamoru.relay.spool import Spool, SpoolError
from mamoru.relay.worker import RetryPolicy, Scheduler, WorkerConfig, process

__all__ = [
    "QuarantineStore",
    "Relay",
    "RelayConfig",
    "RelayError",
    "RetryPolicy",
    "Scheduler",
    "Spool",
    "SpoolError",
    "WorkerConfig",
    "accept_message",
    "acknowledge",
    "check_recipient",
    "process",
    "read_events",
]
