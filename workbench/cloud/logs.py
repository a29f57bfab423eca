"""A training job's output from CloudWatch Logs, as (time, host, text) lines.

SageMaker writes one stream per instance to the log group `/aws/sagemaker/TrainingJobs`,
named `<job>/algo-1-<epoch>` (a restarted instance gets a new stream with a new epoch),
so each stream maps to the same `algo-N` host names local jobs use. Streams are read
one by one with their forward tokens (as the SageMaker Python SDK does) and merged in
time order; a follower keeps the tokens and polls again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from workbench.cloud.client import logs_client
from workbench.cloud.errors import aws_error_types, cloud_error, error_code

LOG_GROUP = "/aws/sagemaker/TrainingJobs"
PAGES_PER_POLL = 100  # a bound per stream and poll; the rest comes with the next poll

_INSTANCE_SUFFIX = re.compile(r"^(?P<host>.+?)-(?P<epoch>\d{6,})$")


def host_of_stream(stream: str, job: str) -> str:
    """`<job>/algo-2-1700000000` -> `algo-2`; other names are kept as they are."""
    rest = stream[len(job) + 1:] if stream.startswith(job + "/") else stream
    match = _INSTANCE_SUFFIX.match(rest)
    return match.group("host") if match else rest


@dataclass
class _Stream:
    name: str
    host: str
    token: str | None = None


@dataclass
class JobLogReader:
    """Every stream of one job (or one host's), read from the start; `poll()` returns what
    arrived since the last poll, merged in time order."""

    job: str
    host: str | None = None
    region: str | None = None
    _streams: dict[str, _Stream] = field(default_factory=dict)

    def _client(self):
        return logs_client(self.region)

    def _discover(self) -> None:
        client = self._client()
        try:
            pages = client.get_paginator("describe_log_streams").paginate(
                logGroupName=LOG_GROUP, logStreamNamePrefix=f"{self.job}/")
            for page in pages:
                for item in page.get("logStreams") or []:
                    name = item["logStreamName"]
                    if name in self._streams:
                        continue
                    host = host_of_stream(name, self.job)
                    if self.host is None or host == self.host:
                        self._streams[name] = _Stream(name, host)
        except aws_error_types() as err:
            if error_code(err) == "ResourceNotFoundException":
                return  # no job has logged in this region yet: nothing to show so far
            raise cloud_error(err, f"list the log streams of {self.job} in {LOG_GROUP}", "DescribeLogStreams") from None

    def _read(self, stream: _Stream) -> list[tuple[float, str, str]]:
        client = self._client()
        lines: list[tuple[float, str, str]] = []
        for _ in range(PAGES_PER_POLL):
            params = {"logGroupName": LOG_GROUP, "logStreamName": stream.name, "startFromHead": True}
            if stream.token:
                params["nextToken"] = stream.token
            try:
                response = client.get_log_events(**params)
            except aws_error_types() as err:
                if error_code(err) == "ResourceNotFoundException":
                    return lines
                raise cloud_error(err, f"read the log stream {stream.name}", "GetLogEvents") from None
            for event in response.get("events") or []:
                moment = event["timestamp"] / 1000.0
                for text in str(event.get("message", "")).rstrip("\n").split("\n"):
                    lines.append((moment, stream.host, text.rstrip("\r")))
            token = response.get("nextForwardToken")
            if not token or token == stream.token:
                break  # the same token back means the end of the stream, for now
            stream.token = token
        return lines

    def poll(self) -> list[tuple[float, str, str]]:
        self._discover()
        batch: list[tuple[float, str, str]] = []
        for stream in list(self._streams.values()):
            batch.extend(self._read(stream))
        batch.sort(key=lambda line: line[0])  # stable: one host's lines keep their order
        return batch

    @property
    def hosts(self) -> list[str]:
        return sorted({stream.host for stream in self._streams.values()})
