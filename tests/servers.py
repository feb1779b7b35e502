"""Servers the tests start on localhost: a free port for each, and `dagster dev` (webserver
and daemon) with its GraphQL API."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Dagster:
    """`dagster dev` (webserver and daemon) on a port of its own, and its GraphQL API."""

    def __init__(self, env: dict, log: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        exe = Path(sys.executable).with_name("dagster")
        self.process = subprocess.Popen(
            [str(exe), "dev", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(self.port)],
            env=env, stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            try:
                if self.graphql("{ version }").get("version"):
                    return
            except OSError:
                time.sleep(2)
        self.stop()
        raise AssertionError(f"dagster dev did not start: {log.read_text()[-2000:]}")

    def graphql(self, query: str) -> dict:
        request = urllib.request.Request(
            f"{self.url}/graphql", json.dumps({"query": query}).encode(),
            {"content-type": "application/json"},
        )  # fmt: skip
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.load(response)["data"]

    def runs(self) -> list[dict]:
        runs = "results { runId status jobName tags { key value } }"
        return self.graphql(f"{{ runsOrError {{ ... on Runs {{ {runs} }} }} }}")["runsOrError"][
            "results"
        ]

    def automation_ticks(self) -> int:
        data = self.graphql("""{ sensorsOrError(repositorySelector: {
            repositoryName: "__repository__", repositoryLocationName: "partnership_data_hub"})
            { ... on Sensors { results { name sensorState { ticks(limit: 5) { status } } } } } }""")
        [sensor] = [
            s for s in data["sensorsOrError"]["results"] if s["name"] == "conform_and_release"
        ]
        return len(sensor["sensorState"]["ticks"])

    def stop(self) -> None:
        os.killpg(self.process.pid, signal.SIGTERM)
        try:  # its daemon can take a minute to wind down: nothing it holds is kept
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)
