"""A real Spark standalone cluster on 127.0.0.1: one master and two workers, started with the pyspark
distribution's ``bin/spark-class`` and stopped by process id."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from _fleet_helpers import free_port

SMALL = {"SPARK_LOCAL_IP": "127.0.0.1", "SPARK_DAEMON_MEMORY": "256m", "SPARK_NO_DAEMONIZE": "1"}


def spark_home() -> Path:
    import pyspark

    return Path(pyspark.__file__).parent


@dataclass
class SparkCluster:
    master_url: str
    ui_port: int
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def alive_workers(self) -> int:
        try:
            state = httpx.get(f"http://127.0.0.1:{self.ui_port}/json/", timeout=5).json()
        except (httpx.HTTPError, ValueError):
            return 0
        return sum(1 for worker in state.get("workers", []) if worker.get("state") == "ALIVE")

    def stop(self) -> None:
        for process in reversed(self.processes):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in reversed(self.processes):
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.send_signal(signal.SIGKILL)
                process.wait(10)


def start_cluster(log_dir: Path, workers: int = 2) -> SparkCluster:
    home = spark_home()
    spark_class = str(home / "bin" / "spark-class")
    env = {**os.environ, "SPARK_HOME": str(home), "SPARK_LOG_DIR": str(log_dir), **SMALL}
    port, ui_port = free_port(), free_port()
    cluster = SparkCluster(f"spark://127.0.0.1:{port}", ui_port)
    log_dir.mkdir(parents=True, exist_ok=True)

    def launch(name: str, *args: str) -> None:
        log = open(log_dir / f"{name}.log", "wb")  # noqa: SIM115 (the process owns it until it exits)
        cluster.processes.append(subprocess.Popen([spark_class, *args], stdout=log, stderr=subprocess.STDOUT, env=env))
        log.close()

    launch("master", "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port", str(port),
           "--webui-port", str(ui_port))  # fmt: skip
    for index in range(workers):
        launch(f"worker-{index}", "org.apache.spark.deploy.worker.Worker", cluster.master_url, "--host", "127.0.0.1",
               "--cores", "1", "--memory", "512m", "--webui-port", str(free_port()),
               "--work-dir", str(log_dir / f"work-{index}"))  # fmt: skip
    deadline = time.monotonic() + 180
    while cluster.alive_workers() < workers:
        if time.monotonic() > deadline or any(p.poll() is not None for p in cluster.processes):
            cluster.stop()
            raise AssertionError(f"the Spark cluster did not start; logs in {log_dir}")
        time.sleep(0.5)
    return cluster
