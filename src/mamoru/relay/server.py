"""The SMTP side, kept thin: the aiosmtpd handler passes addresses and bytes to plain functions
(:func:`check_recipient`, :func:`accept_message`) that tests call without a socket. :class:`Relay` runs the listener
and the workers together."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import fcntl
import logging
import os
import threading
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from aiosmtpd.smtp import SMTP, Envelope, Session

from mamoru.relay.spool import Spool
from mamoru.relay.worker import RetryPolicy, SanitizeFn, Scheduler, Target, WorkerConfig, default_hostname

log = logging.getLogger("mamoru.relay")

MAX_RECIPIENTS = 100
Reply = tuple[int, str]


def _domain(address: str) -> str | None:
    address = address.strip().removeprefix("<").removesuffix(">")
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain:
        return None
    return domain.rstrip(".").lower()


def normalise_domains(domains: Collection[str]) -> frozenset[str]:
    return frozenset(d.strip().rstrip(".").lower() for d in domains if d.strip())


def check_recipient(address: str, accept_domains: Collection[str], already: int = 0) -> Reply:
    """The answer to ``RCPT TO:<address>``: 250 for a domain we relay for, 550 otherwise."""
    domain = _domain(address)
    if domain is None:
        return 501, "5.1.3 Bad recipient address syntax"
    if domain not in accept_domains:
        return 550, f"5.7.1 Relaying denied: {domain} is not a domain this gateway delivers to"
    if already >= MAX_RECIPIENTS:
        return 452, "4.5.3 Too many recipients"
    return 250, "2.1.5 OK"


def accept_message(spool: Spool, data: bytes, *, mail_from: str, rcpt_tos: Sequence[str], peer: str = "",
                   max_size: int | None = None) -> tuple[Reply, str | None]:
    """The answer to the end of DATA, and the spool id when accepted. 250 only once the message is on disk."""
    if not rcpt_tos:
        return (503, "5.5.1 Error: need RCPT command"), None
    if max_size is not None and len(data) > max_size:
        return (552, f"5.3.4 Message too big (limit {max_size} bytes)"), None
    try:
        spool_id = spool.accept(data, mail_from=mail_from, rcpt_tos=rcpt_tos, peer=peer)
    except OSError as exc:
        log.error("relay: cannot spool a message: %s", exc)
        return (451, "4.3.0 Temporary local problem, please try again later"), None
    return (250, f"2.0.0 Ok: queued as {spool_id}"), spool_id


class RelayHandler:
    """aiosmtpd handler: RCPT and DATA call the plain functions above; the disk work runs off the event loop."""

    def __init__(self, spool: Spool, accept_domains: Collection[str], *, max_size: int | None,
                 on_accept: Callable[[str], None] | None = None,
                 executor: concurrent.futures.Executor | None = None) -> None:
        self.spool = spool
        self.accept_domains = normalise_domains(accept_domains)
        self.max_size = max_size
        self.on_accept = on_accept
        self.executor = executor

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str,
                          rcpt_options: list[str]) -> str:
        code, text = check_recipient(address, self.accept_domains, len(envelope.rcpt_tos))
        if code == 250:
            envelope.rcpt_tos.append(address)
            envelope.rcpt_options.extend(rcpt_options)
        return f"{code} {text}"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        data = envelope.original_content or b""
        if isinstance(data, str):
            data = data.encode("utf-8", "surrogateescape")
        peer = session.peer[0] if isinstance(session.peer, tuple) and session.peer else str(session.peer or "")
        mail_from = envelope.mail_from or ""
        mail_from = "" if mail_from == "<>" else mail_from  # the null sender (bounces)
        def work() -> tuple[Reply, str | None]:
            return accept_message(self.spool, bytes(data), mail_from=mail_from, rcpt_tos=list(envelope.rcpt_tos),
                                  peer=peer, max_size=self.max_size)

        try:
            (code, text), spool_id = await asyncio.get_running_loop().run_in_executor(self.executor, work)
        except Exception:  # never a traceback to the client
            log.exception("relay: accepting a message failed")
            return "451 4.3.0 Temporary local problem, please try again later"
        if spool_id is not None and self.on_accept is not None:
            self.on_accept(spool_id)
        return f"{code} {text}"


class SmtpServer:
    """An aiosmtpd SMTP listener on its own event-loop thread; port 0 picks a free port (see :attr:`address`)."""

    def __init__(self, handler: Any, host: str, port: int, *, data_size_limit: int | None,
                 hostname: str, ident: str = "Mamoru relay") -> None:
        self.handler, self.host, self.port = handler, host, port
        self.data_size_limit, self.hostname, self.ident = data_size_limit, hostname, ident
        self.address: tuple[str, int] = (host, port)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> tuple[str, int]:
        loop = asyncio.new_event_loop()
        self._loop = loop
        ready = threading.Event()
        failure: list[BaseException] = []

        def factory() -> SMTP:
            return SMTP(self.handler, data_size_limit=self.data_size_limit, hostname=self.hostname,
                        ident=self.ident, enable_SMTPUTF8=True, loop=loop)

        def run() -> None:
            asyncio.set_event_loop(loop)
            try:
                server = loop.run_until_complete(loop.create_server(factory, self.host, self.port))
            except BaseException as exc:
                failure.append(exc)
                ready.set()
                loop.close()
                return
            sock = server.sockets[0].getsockname()
            self.address = (str(sock[0]), int(sock[1]))
            ready.set()
            try:
                loop.run_forever()
            finally:
                server.close()
                tasks = [t for t in asyncio.all_tasks(loop) if not t.done()]
                for task in tasks:
                    task.cancel()
                with contextlib.suppress(Exception):
                    loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
                with contextlib.suppress(Exception):
                    loop.run_until_complete(server.wait_closed())
                loop.close()

        self._thread = threading.Thread(target=run, name="relay-smtp", daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            self._thread.join()
            raise failure[0]
        return self.address

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join()
        self._thread = None


class RelayError(Exception):
    """The relay cannot start (address in use, spool held by another relay …); the message says why."""


@dataclass(frozen=True)
class RelayConfig:
    spool_dir: Path
    deliver_to: tuple[str, int]
    accept_domains: tuple[str, ...]
    listen: tuple[str, int] = ("127.0.0.1", 10025)
    max_size: int = 25 * 1024 * 1024
    workers: int = 2
    worker_kind: Literal["thread", "process"] = "thread"
    retention_days: int | None = 90
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    policy: Any = None
    policy_path: str | None = None           # worker processes load the policy from this file
    sanitize: SanitizeFn | None = None       # injected in tests; default: the real engine with ``policy``
    hostname: str = field(default_factory=default_hostname)
    quarantine_dir: Path | None = None
    rescan_every: float = 1.0
    delivery_timeout: float = 60.0


class Relay:
    """Listener + durable spool + workers. ``start()`` returns the listening address."""

    def __init__(self, config: RelayConfig) -> None:
        self.config = config
        self.spool = Spool(config.spool_dir)
        worker_config = WorkerConfig(
            spool_dir=Path(config.spool_dir), target=Target(*config.deliver_to, timeout=config.delivery_timeout),
            retry=config.retry, sanitize=config.sanitize, policy=config.policy,
            policy_path=config.policy_path, quarantine_dir=config.quarantine_dir, hostname=config.hostname)
        self.scheduler = Scheduler(worker_config, workers=config.workers, kind=config.worker_kind,
                                   rescan_every=config.rescan_every, retention_days=config.retention_days)
        self._accept_pool = concurrent.futures.ThreadPoolExecutor(8, thread_name_prefix="relay-accept")
        handler = RelayHandler(self.spool, config.accept_domains, max_size=config.max_size,
                               on_accept=self.scheduler.notify, executor=self._accept_pool)
        self.server = SmtpServer(handler, *config.listen, data_size_limit=config.max_size, hostname=config.hostname)
        self._lock_fd: int | None = None

    @property
    def address(self) -> tuple[str, int]:
        return self.server.address

    def start(self) -> tuple[str, int]:
        try:
            self.spool.ensure()
        except OSError as exc:
            raise RelayError(f"cannot create the spool {self.spool.root}: {exc}") from exc
        fd = os.open(self.spool.root / "serve.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise RelayError(f"another relay is already serving the spool {self.spool.root}") from None
        self._lock_fd = fd
        self.scheduler.start()
        try:
            return self.server.start()
        except OSError as exc:
            self.scheduler.stop()
            self._release_lock()
            host, port = self.config.listen
            raise RelayError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc

    def stop(self) -> None:
        """Stop accepting, let running jobs finish, release the spool."""
        self.server.stop()
        self._accept_pool.shutdown(wait=True)
        self.scheduler.stop()
        self._release_lock()

    def _release_lock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None
