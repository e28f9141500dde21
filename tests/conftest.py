"""Shared fixtures: no network beyond 127.0.0.1, a dev PKI, databases, and signed samples."""

from __future__ import annotations

import contextlib
import gc
import ipaddress
import os
import queue
import shutil
import socket
import threading
import warnings
from collections.abc import Callable, Generator, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, create_engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError

from gateway.pki.dev import DevPki, init_dev_pki
from gateway.resources import shipped
from gateway.storage.db import make_engine
from gateway.storage.migrate import upgrade
from gateway.trust.xmlparse import parse_xml
from gateway.trust.xmlsig import SigningIdentity, sign_enveloped
from tests.log_state import forget_log_state
from tests.threads import join_stray

pytest_plugins = ["tests.gateway_fixtures", "tests.browser"]

SAMPLES = shipped("samples")
DROPPERS = 4  # PostgreSQL test databases dropped at once (see MigratedTemplates)
STRAY_THREADS_S = 5.0  # how long a test's teardown waits for the threads it started to end
_real_connect = socket.socket.connect

# Each of these runs for minutes in subprocesses of its own. xdist (--dist loadgroup) hands out
# tests in collection order, so collected last they would start when the other worker is already
# idle and the run would wait for them alone; collected first they overlap with everything else.
STARTS_FIRST = ("tests/e2e/test_readme.py", "tests/e2e/test_installed_wheel.py")


def pytest_configure(config: pytest.Config) -> None:
    # The `nsw` processes the end-to-end tests start (serve, worker) inherit this: on SQLite, work
    # one process commits reaches another's loops only by their safety-net poll (no NOTIFY; see
    # gateway.storage.wake), which waits 2 s by default. A test that means the default sets it.
    os.environ.setdefault("NSW_POLL_INTERVAL_S", "0.1")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: item.nodeid.split("::")[0] not in STARTS_FIRST)  # stable sort


def _loopback_only(self: socket.socket, address: object) -> None:
    if isinstance(address, tuple) and self.family in (socket.AF_INET, socket.AF_INET6):
        host = address[0]
        try:
            allowed = host == "localhost" or ipaddress.ip_address(host).is_loopback
        except ValueError:
            allowed = False
        if not allowed:
            raise ConnectionRefusedError(f"tests may not connect to {host}: loopback only")
    _real_connect(self, address)  # type: ignore[arg-type]


@pytest.fixture(autouse=True, scope="session")
def _no_network_beyond_loopback() -> Iterator[None]:
    socket.socket.connect = _loopback_only  # type: ignore[method-assign,assignment]
    yield
    socket.socket.connect = _real_connect  # type: ignore[method-assign]


_LONG_LIVED: set[threading.Thread] = set()  # started by session- or module-scoped fixtures


@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(fixturedef: pytest.FixtureDef[Any]) -> Generator[None, object, object]:
    if fixturedef.scope == "function":
        return (yield)
    before = set(threading.enumerate())
    try:
        return (yield)
    finally:
        _LONG_LIVED.update(set(threading.enumerate()) - before)


@pytest.fixture(autouse=True)
def _nothing_left_open() -> Iterator[None]:
    """A test closes what it opens: a connection, socket or file it drops unclosed, or a thread
    it leaves running, fails this test. Without this the ResourceWarning of a leaked connection
    surfaced whenever the garbage collector happened to run, in some later test."""
    gc.freeze()  # what exists now is not the test's: the collection after it scans only its own
    threads = set(threading.enumerate())
    yield
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        gc.collect()  # what the test dropped unclosed is finalized now, in its own teardown
    gc.unfreeze()
    leaks = sorted({str(w.message) for w in caught if issubclass(w.category, ResourceWarning)})
    assert not leaks, f"the test left these unclosed: {leaks}"

    def stray() -> list[threading.Thread]:
        new = set(threading.enumerate()) - threads - _LONG_LIVED
        return [t for t in new if t.is_alive()]

    # A server's last request thread may still be finishing after its response was sent.
    left = join_stray(stray, STRAY_THREADS_S)
    assert not left, f"the test left these threads running: {[t.name for t in left]}"


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> DevPki:
    return init_dev_pki(tmp_path_factory.mktemp("pki"))


def trader_identity(pki: DevPki, slug: str) -> SigningIdentity:
    return SigningIdentity.from_files(
        pki.key_path(slug), pki.cert_path(slug), pki.directory / "issuing-ca.pem"
    )


SAMPLE_SIGNER = {
    "fresh-apples-import": "trader-steppe",
    "live-cattle-import": "trader-altyn",
    "chilled-lamb-import": "trader-altyn",
    "overweight-machinery-transit": "trader-kaztrans",
}


@pytest.fixture
def signed_sample(pki: DevPki) -> Callable[..., bytes]:
    """signed_sample(name, signer=None, edit=None): the sample signed by its declarant (or by
    `signer`), after `edit(bytes) -> bytes` is applied to the unsigned text."""

    def make(
        name: str, signer: str | None = None, edit: Callable[[bytes], bytes] | None = None
    ) -> bytes:
        raw = (SAMPLES / f"{name}.xml").read_bytes()
        if edit:
            raw = edit(raw)
        identity = trader_identity(pki, signer or SAMPLE_SIGNER[name])
        return sign_enveloped(parse_xml(raw), identity)

    return make


def _database_urls() -> list[str]:
    urls = ["sqlite"]
    if os.environ.get("NSW_TEST_DATABASE_URL"):
        urls.append("postgresql")
    return urls


class MigratedTemplates:
    """Databases migrated once per session (per xdist worker), copied for every test: a test
    still starts from exactly what the migrations make, without paying for them again (running
    them was most of a test's set-up).

    SQLite: one migrated file, copied into the test's directory. PostgreSQL: one template
    database, copied (`CREATE DATABASE ... TEMPLATE`) into a spare while the previous test runs; a
    test's database is that spare renamed, and the one before it is renamed away and dropped by
    background threads. DROP DATABASE forces a checkpoint, seconds on a busy server: done in line
    it was most of a PostgreSQL test's set-up; DROPs sent together share a checkpoint. Each xdist
    worker has its own template, spare and test database, named after NSW_TEST_DATABASE_URL's
    with the worker's id."""

    def __init__(self, directory: Path, worker: str) -> None:
        self.directory = directory
        self.worker = worker
        self._sqlite: Path | None = None
        self._postgres: tuple[URL, str] | None = None  # (test database's URL, template's name)
        self._spare: Future[None] | None = None  # the next test's database, being copied
        self._discarded = 0
        # The threads start now, in a session fixture: long-lived threads, not a test's. A test
        # waits for a drop only when DROPPERS * 4 databases are waiting to be dropped.
        self._copier = ThreadPoolExecutor(1, thread_name_prefix="test-database-copies")
        self._copier.submit(lambda: None).result()
        self._to_drop: queue.Queue[str | None] = queue.Queue(maxsize=DROPPERS * 4)
        self._droppers = [
            threading.Thread(target=self._drop_each, name=f"test-database-drops-{n}", daemon=True)
            for n in range(DROPPERS)
        ]
        for dropper in self._droppers:
            dropper.start()

    def sqlite(self, target: Path) -> str:
        if self._sqlite is None:
            self._sqlite = self.directory / "template.db"
            _migrate(f"sqlite:///{self._sqlite}")  # disposed: the WAL is merged into the file
        shutil.copyfile(self._sqlite, target)
        return f"sqlite:///{target}"

    def postgresql(self) -> str:
        if self._postgres is None:
            base = make_url(os.environ["NSW_TEST_DATABASE_URL"])
            assert base.database, "NSW_TEST_DATABASE_URL names no database"
            name = base.database if self.worker == "master" else f"{base.database}_{self.worker}"
            template = f"{name}_template"
            with _server(base) as server:
                server.exec_driver_sql(f'DROP DATABASE IF EXISTS "{template}" WITH (FORCE)')
                server.exec_driver_sql(f'CREATE DATABASE "{template}"')
                # Databases an interrupted run set aside and never dropped.
                left = server.execute(
                    text(r"SELECT datname FROM pg_database WHERE datname LIKE :old ESCAPE '\'"),
                    {"old": name.replace("_", r"\_") + r"\_old%"},
                )
                stale = list(left.scalars())
            _migrate(base.set(database=template).render_as_string(hide_password=False))
            self._postgres = (base.set(database=name), template)
            self._spare = self._copier.submit(self._copy_template)
            for old in stale:
                self._to_drop.put(old)
        url, template = self._postgres
        assert self._spare is not None and url.database is not None
        self._spare.result()  # raises what the copy raised
        with _server(url) as server:
            old = self._set_aside(server, url.database)
            server.exec_driver_sql(
                f'ALTER DATABASE "{self._spare_name}" RENAME TO "{url.database}"'
            )
        self._spare = self._copier.submit(self._copy_template)  # for the next test
        if old is not None:
            self._to_drop.put(old)
        return url.render_as_string(hide_password=False)

    @property
    def _spare_name(self) -> str:
        assert self._postgres is not None
        return f"{self._postgres[0].database}_spare"

    def _copy_template(self) -> None:
        assert self._postgres is not None
        url, template = self._postgres
        with _server(url) as server:
            # A spare a killed run left is not known to be a whole copy.
            server.exec_driver_sql(f'DROP DATABASE IF EXISTS "{self._spare_name}" WITH (FORCE)')
            server.exec_driver_sql(f'CREATE DATABASE "{self._spare_name}" TEMPLATE "{template}"')

    def _set_aside(self, server: Connection, name: str) -> str | None:
        """Rename database `name` (if it exists) out of the way, for the droppers; its new name."""
        exists = server.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
        if exists.first() is None:
            return None
        # A connection a previous test leaked must not keep its database in use.
        server.execute(
            text(
                "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity"
                " WHERE datname = :n AND pid <> pg_backend_pid()"
            ),
            {"n": name},
        )
        self._discarded += 1
        old = f"{name}_old{self._discarded}_{os.getpid()}"
        try:
            server.exec_driver_sql(f'ALTER DATABASE "{name}" RENAME TO "{old}"')
        except DBAPIError:  # still in use: drop it here after all
            server.exec_driver_sql(f'DROP DATABASE "{name}" WITH (FORCE)')
            return None
        return old

    def _drop_each(self) -> None:
        while (name := self._to_drop.get()) is not None:
            assert self._postgres is not None
            with contextlib.suppress(DBAPIError), _server(self._postgres[0]) as server:
                server.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def close(self) -> None:
        """Drop the template and the spare, and a worker's own test database (not the one the
        URL names), once the copy under way is done: by the droppers, with the drops still
        queued, so that they share checkpoints instead of waiting for one each in turn (DROP
        DATABASE waits for a checkpoint; three in a row held up the end of every worker)."""
        self._copier.shutdown(wait=True)
        if self._postgres is not None:
            url, template = self._postgres
            if self.worker != "master":
                assert url.database is not None
                self._to_drop.put(url.database)
            self._to_drop.put(self._spare_name)
            self._to_drop.put(template)
        for _ in self._droppers:
            self._to_drop.put(None)
        for dropper in self._droppers:
            dropper.join()


def _migrate(url: str) -> None:
    engine = make_engine(url)
    try:
        upgrade(engine)
    finally:
        engine.dispose()


@contextlib.contextmanager
def _server(url: URL) -> Iterator[Connection]:
    """A connection to the server's `postgres` database outside any transaction (CREATE and
    DROP DATABASE refuse to run in one)."""
    engine = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            yield connection
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def migrated_templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MigratedTemplates]:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "master")
    templates = MigratedTemplates(tmp_path_factory.mktemp("template-db"), worker)
    yield templates
    templates.close()


@pytest.fixture(params=_database_urls())
def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, migrated_templates: MigratedTemplates
) -> str:
    """Each test using this runs on SQLite and, when NSW_TEST_DATABASE_URL is set, on PostgreSQL,
    in a database of its own that the migrations have brought to the newest schema."""
    if request.param == "sqlite":
        return migrated_templates.sqlite(tmp_path / "nsw.db")
    url = migrated_templates.postgresql()
    forget_log_state(url)  # a new database starts a new log: the trail signer starts afresh too
    return url


@pytest.fixture(params=_database_urls())
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Like `database_url` but with nothing in it, not even the migrations (for tests of how
    the gateway migrates at start-up)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'nsw.db'}"
    url = make_url(os.environ["NSW_TEST_DATABASE_URL"])
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker:
        url = url.set(database=f"{url.database}_{worker}")
    forget_log_state(
        str(url)
    )  # the emptied database starts a new log: the signer starts afresh too
    with _server(url) as server:
        server.exec_driver_sql(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')
        server.exec_driver_sql(f'CREATE DATABASE "{url.database}"')
    return url.render_as_string(hide_password=False)
