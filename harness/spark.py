"""A throwaway local Spark Connect server with a database's tables as Parquet-backed tables.

For tests and benchmarks that run the same programs on Spark (`tests/engines`,
`bench/engines.py`). The server is pyspark's own `spark-submit` of Spark's Connect server
(bundled with pyspark 4.0) on a free loopback port, `local[2]`, on the JRE found on PATH (Java
17 or 21). DevStarL reaches it as `spark://127.0.0.1:PORT/DATABASE` (`tools.engines`): a Spark
Connect client, so the sandbox child needs no JVM of its own.

`load_duckdb` writes each table of a DuckDB file as Parquet into the server's folder and
registers it as `DATABASE.table USING parquet`. Spark Connect has no roles: any client may
write, so read-only access rests on the allow-list (README, Other engines).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from harness.postgres import free_port
from tools.errors import DevstarlError

START_TIMEOUT_S = 180
SERVER_CLASS = "org.apache.spark.sql.connect.service.SparkConnectServer"


class SparkError(DevstarlError):
    """The local Spark Connect server could not be started or loaded."""


def spark_submit() -> Path:
    try:
        import pyspark
    except ImportError as e:
        raise SparkError("pyspark is not installed (./setup.sh --dev installs it)") from e
    path = Path(pyspark.__file__).parent / "bin" / "spark-submit"
    if not path.is_file():
        raise SparkError(f"spark-submit not found in the pyspark package ({path})")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        raise SparkError("no Java runtime (apt-get install openjdk-17-jre-headless)")
    return path


@dataclass
class LocalSpark:
    """One server: `start()`, then `load_duckdb(...)`, then `stop()`."""

    database: str = "nycflights13"
    port: int = field(default_factory=free_port)
    root: Path | None = None
    driver_memory: str = "1g"
    _proc: subprocess.Popen[bytes] | None = None
    _owned_root: bool = False

    @property
    def url(self) -> str:
        return f"spark://127.0.0.1:{self.port}/{self.database}"

    def start(self) -> LocalSpark:
        submit = spark_submit()
        if self.root is None:
            self.root = Path(tempfile.mkdtemp(prefix="devstarl-spark-"))
            self._owned_root = True
        log = (self.root / "server.log").open("wb")
        conf = {
            "spark.connect.grpc.binding.address": "127.0.0.1",
            "spark.connect.grpc.binding.port": str(self.port),
            "spark.sql.warehouse.dir": str(self.root / "warehouse"),
            "spark.ui.enabled": "false",
            "spark.sql.shuffle.partitions": "2",
            "spark.sql.session.timeZone": "UTC",
            "spark.driver.extraJavaOptions": f"-Djava.io.tmpdir={self.root}",
        }
        argv = [str(submit), "--master", "local[2]", "--driver-memory", self.driver_memory,
                "--class", SERVER_CLASS, "--name", "devstarl-test-spark-connect"]
        for key, value in conf.items():
            argv += ["--conf", f"{key}={value}"]
        env = {**os.environ, "SPARK_LOCAL_IP": "127.0.0.1", "SPARK_LOCAL_DIRS": str(self.root)}
        self._proc = subprocess.Popen([*argv, "spark-internal"], stdout=log, stderr=log,
                                      cwd=self.root, env=env, start_new_session=True)
        log.close()
        deadline = time.monotonic() + START_TIMEOUT_S
        while not _listening(self.port):
            if self._proc.poll() is not None or time.monotonic() > deadline:
                tail = self.log_tail(5)
                self.stop()
                raise SparkError(f"the Spark Connect server did not start:\n{tail}")
            time.sleep(0.5)
        return self

    def session(self):  # noqa: ANN201 - a pyspark.sql.connect SparkSession
        from pyspark.sql import SparkSession

        return SparkSession.builder.remote(f"sc://127.0.0.1:{self.port}").getOrCreate()

    def load_duckdb(self, path: Path) -> list[str]:
        """Each table of the DuckDB file at `path` as Parquet, registered in the database."""
        import duckdb

        assert self.root is not None
        folder = self.root / "parquet"
        folder.mkdir(exist_ok=True)
        con = duckdb.connect(str(path), read_only=True)
        try:
            names = [r[0] for r in con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main' "
                "ORDER BY table_name").fetchall()]
            for name in names:
                target = str(folder / f"{name}.parquet").replace("'", "''")
                con.execute(f"COPY \"{name}\" TO '{target}' (FORMAT parquet)")
        finally:
            con.close()
        spark = self.session()
        try:
            spark.sql(f"CREATE DATABASE IF NOT EXISTS `{self.database}`")
            for name in names:
                spark.sql(f"CREATE TABLE `{self.database}`.`{name}` USING parquet "
                          f"LOCATION '{folder / (name + '.parquet')}'")
        finally:
            spark.stop()
        return names

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            try:
                os.killpg(self._proc.pid, signal.SIGTERM)
                self._proc.wait(timeout=20)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(self._proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self._proc.wait()
        self._proc = None
        if self._owned_root and self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)

    def log_tail(self, lines: int = 20) -> str:
        log = self.root / "server.log" if self.root else None
        if log is None or not log.exists():
            return ""
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0
