"""Docker for one job: its network, a holder per host, one training container per host.

Everything carries labels (job, host, role, state directory), so a later process can
find what a dead one left behind.
"""

from __future__ import annotations

import signal as signals
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable

from workbench.engine.holder import ensure_holder_image
from workbench.engine.labels import LABEL_HOME, LABEL_HOST, LABEL_JOB, LABEL_ROLE, home_label
from workbench.engine.logs import parse_docker_timestamp


@dataclass
class ContainerState:
    status: str  # created, running, exited, ...
    exit_code: int
    oom_killed: bool
    finished_at: float | None = None  # epoch seconds, once it has exited


def signal_name(exit_code: int, sent: list[str]) -> str:
    """The signal that ended a container, when its exit code says one did."""
    if exit_code == 137:
        return "SIGKILL"
    if exit_code > 128:
        try:
            name = signals.Signals(exit_code - 128).name
        except ValueError:
            return ""
        return name if name in sent or name in ("SIGTERM", "SIGINT", "SIGSEGV", "SIGABRT", "SIGBUS") else ""
    return ""


class DockerJob:
    def __init__(self, client, job_name: str, home: str) -> None:
        self.client = client
        self.job_name = job_name
        self.home = home_label(home)
        self.network_name = f"smw-{job_name}"

    def labels(self, host: str = "", role: str = "") -> dict[str, str]:
        labels = {LABEL_JOB: self.job_name, LABEL_HOME: self.home}
        if host:
            labels[LABEL_HOST] = host
        if role:
            labels[LABEL_ROLE] = role
        return labels

    def container_name(self, host: str, role: str) -> str:
        return f"smw-{self.job_name}-{host}" + ("-net" if role == "holder" else "")

    # --- set-up ----------------------------------------------------------------------

    def create_network(self, internal: bool = False):
        from docker.errors import NotFound  # deferred: the Docker SDK (~0.25 s to import)

        try:  # a leftover of a dead run of the same name
            self.client.networks.get(self.network_name).remove()
        except NotFound:
            pass
        return self.client.networks.create(
            self.network_name, driver="bridge", internal=internal, labels=self.labels(role="network"),
            check_duplicate=True,
        )

    def start_holders(self, hosts: list[str], *, cancelled: Callable[[], bool] = lambda: False,
                      started: Callable[[str, object], None] = lambda host, holder: None) -> dict[str, object]:
        """Start a holder per host, 8 at a time; once `cancelled()` says so, start no more.
        `started` hears of each holder as it starts, so a stop or an error in the middle
        leaves nothing unknown behind."""
        image = ensure_holder_image(self.client)

        def start(host: str):
            if cancelled():
                return None
            holder = self.client.containers.run(
                image, name=self.container_name(host, "holder"), hostname=host, detach=True,
                network=self.network_name, labels=self.labels(host, "holder"),
                networking_config={self.network_name: self.client.api.create_endpoint_config(aliases=[host])},
                mem_limit="16m", auto_remove=False,
            )
            started(host, holder)
            return holder

        with ThreadPoolExecutor(max_workers=min(8, len(hosts))) as pool:
            holders = dict(zip(hosts, pool.map(start, hosts)))
        return {host: holder for host, holder in holders.items() if holder is not None}

    def create_training(self, host: str, holder, image: str, *, entrypoint, command, environment: dict,
                        volumes: dict, extra: dict | None = None):
        """The host's training container: in its holder's network namespace, or, with no
        holder (a one-host job has no peers to keep resolving), on the job's network."""
        options = dict(
            name=self.container_name(host, "training"), labels=self.labels(host, "training"),
            environment=environment, volumes=volumes, detach=True, privileged=False, stdin_open=False, tty=False,
        )
        if holder is not None:
            options["network_mode"] = f"container:{holder.id}"
        else:
            options.update(
                hostname=host, network=self.network_name,
                networking_config={self.network_name: self.client.api.create_endpoint_config(aliases=[host])},
            )
        if entrypoint is not None:
            options["entrypoint"] = entrypoint
        options.update(extra or {})
        return self.client.containers.create(image, command=command, **options)

    # --- state -----------------------------------------------------------------------

    @staticmethod
    def state(container) -> ContainerState:
        container.reload()
        state = container.attrs.get("State", {})
        finished = state.get("FinishedAt") or ""
        ended = parse_docker_timestamp(finished) if finished and not finished.startswith("0001") else None
        return ContainerState(state.get("Status", "unknown"), int(state.get("ExitCode", 0) or 0),
                              bool(state.get("OOMKilled")), ended)

    def find(self, role: str = "") -> list:
        filters = [f"{LABEL_JOB}={self.job_name}", f"{LABEL_HOME}={self.home}"]
        if role:
            filters.append(f"{LABEL_ROLE}={role}")
        return self.client.containers.list(all=True, filters={"label": filters})

    def networks(self) -> list:
        return self.client.networks.list(filters={"label": [f"{LABEL_JOB}={self.job_name}", f"{LABEL_HOME}={self.home}"]})

    # --- tear-down -------------------------------------------------------------------

    def remove_all(self, known: list | None = None) -> None:
        """Remove every container and the network of this job; safe to call repeatedly.

        `known` containers skip the label search (one API call less on the hot path)."""
        from docker.errors import APIError, NotFound  # deferred: the Docker SDK (~0.25 s to import)

        containers = [c for c in known if c is not None] if known is not None else self.find()

        def remove(container) -> None:
            try:
                container.remove(force=True, v=True)
            except NotFound:
                pass
            except APIError as err:
                if "already in progress" not in str(err):
                    raise

        if containers:
            with ThreadPoolExecutor(max_workers=min(8, len(containers))) as pool:
                list(pool.map(remove, containers))
        try:
            self.client.api.remove_network(self.network_name)
        except NotFound:
            pass
        except APIError:  # still has endpoints: something we did not know about
            for container in self.find():
                remove(container)
            self.client.api.remove_network(self.network_name)
        if known is None:
            for network in self.networks():  # a leftover under another name (never expected)
                try:
                    network.remove()
                except NotFound:
                    pass


def leftover_jobs(client, home: str) -> set[str]:
    """Names of jobs of this state directory that still have containers or networks."""
    label = f"{LABEL_HOME}={home_label(home)}"
    names = {c.labels.get(LABEL_JOB) for c in client.containers.list(all=True, filters={"label": label})}
    names |= {n.attrs.get("Labels", {}).get(LABEL_JOB) for n in client.networks.list(filters={"label": label})}
    return {n for n in names if n}
