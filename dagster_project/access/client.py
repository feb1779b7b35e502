"""The query service from Python, for notebooks and scripts:

    from dagster_project.access import client
    df = client.query("select district_name, count(*) from events group by 1",
                      user="analyst", purpose="problem_profile", project="violence-2024")

The user's token comes from HUB_TOKEN or their file in the secrets folder (tokens/<user>.token).
A refusal raises `Refused` with the service's reason.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pandas as pd

from dagster_project.config import secrets_dir, service_url, token_from_environment


class Refused(Exception):
    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status, self.reason = status, reason


class Unreachable(ConnectionError):
    """No query service answers at the URL."""


def token_file(user: str) -> Path:
    return secrets_dir() / "tokens" / f"{user}.token"


def user_token(user: str) -> str | None:
    if token := token_from_environment():
        return token
    path = token_file(user)
    return path.read_text().strip() if path.exists() else None


class Client:
    def __init__(self, user: str, token: str | None = None, url: str | None = None):
        self.user, self.url = user, (url or service_url()).rstrip("/")
        self._token = token if token is not None else user_token(user)

    def _call(self, method: str, path: str, body: dict | None = None) -> httpx.Response:
        headers = {"x-hub-user": self.user}
        if self._token:
            headers["authorization"] = f"Bearer {self._token}"
        try:
            response = httpx.request(
                method, self.url + path, json=body, headers=headers, timeout=120
            )
        except httpx.TransportError:
            raise Unreachable(
                f"no query service at {self.url} (start it with `hub serve`)"
            ) from None
        if response.status_code >= 400:
            try:
                reason = response.json().get("refused", response.text)
            except ValueError:
                reason = response.text
            raise Refused(response.status_code, reason)
        return response

    def query(
        self, sql: str, *, purpose: str, case: str | None = None, project: str | None = None
    ) -> pd.DataFrame:
        answer = self._call("POST", "/query", {"sql": sql, "purpose": purpose, "case": case,
                                               "project": project}).json()  # fmt: skip
        # Types from the values (JSON has no integer NULL), so an hour stays an integer.
        frame = pd.DataFrame(answer["rows"], columns=answer["columns"]).convert_dtypes()
        frame.attrs = {k: answer[k] for k in ("tier", "tables", "truncated")}
        return frame

    def export_request(
        self, sql: str, *, purpose: str, project: str | None = None, fmt: str = "csv"
    ) -> dict:
        body = {"sql": sql, "purpose": purpose, "project": project, "format": fmt}
        return self._call("POST", "/exports", body).json()

    def export_review(self, export_id: str, decision: str, comment: str = "") -> dict:
        body = {"decision": decision, "comment": comment}
        return self._call("POST", f"/exports/{export_id}/review", body).json()

    def exports(self, export_id: str | None = None) -> list[dict]:
        """The exports this user may see (a checker: all), with each checked table's first
        rows; or only `export_id`."""
        return self._call("GET", "/exports" + (f"/{export_id}" if export_id else "")).json()

    def export_file(self, export_id: str) -> bytes:
        return self._call("GET", f"/exports/{export_id}/file").content

    def healthy(self) -> bool:
        try:
            return httpx.get(self.url + "/health", timeout=2).status_code == 200
        except httpx.TransportError:
            return False


def query(sql: str, *, user: str, purpose: str, case: str | None = None,
          project: str | None = None, token: str | None = None) -> pd.DataFrame:  # fmt: skip
    """One governed query's result as a DataFrame (its tier and tables in `.attrs`)."""
    return Client(user, token).query(sql, purpose=purpose, case=case, project=project)
