"""A job with many hosts can be stopped while its containers are still being started:
no more are started, the job ends Stopped, and nothing is left behind."""

from __future__ import annotations

import time

from tests.integration.jobs import leftovers, unique
from workbench.engine import api
from workbench.engine import events as ev
from workbench.engine.docker_backend import LABEL_JOB, LABEL_ROLE
from workbench.spec import check_spec

HOSTS = 32


def many_hosts_spec(tmp_path, hosts: int = HOSTS) -> dict:
    return {
        "TrainingJobName": unique("many"),
        "AlgorithmSpecification": {"TrainingImage": "sm-workbench/shell:latest", "TrainingInputMode": "File",
                                   "ContainerEntrypoint": ["sh", "-c", "sleep 60"]},
        "OutputDataConfig": {"S3OutputPath": str(tmp_path / "output")},
        "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": hosts},
        "Workbench": {"StopGracePeriodSeconds": 2, "MaxHosts": hosts},
    }


def containers_started(client, name: str, role: str, since: float) -> int:
    """How many containers of the job (holders or training) Docker started."""
    seen = client.events(since=int(since) - 1, until=int(time.time()) + 1, decode=True, filters={
        "type": "container", "event": "start", "label": [f"{LABEL_JOB}={name}", f"{LABEL_ROLE}={role}"]})
    return sum(1 for _ in seen)


def test_ctrl_c_while_the_holders_start_starts_no_more(tmp_path, images, docker_client):
    """`InstanceCount: 100000` sat in Starting: Ctrl-C (LocalJob.stop, as `run` calls it)
    was only looked at after every host's holder had started."""
    since = time.time()
    spec = check_spec(many_hosts_spec(tmp_path), source="many.yaml", base_dir=tmp_path)
    seen: list[ev.Event] = []
    job = None

    def watch(event: ev.Event) -> None:
        seen.append(event)
        if isinstance(event, ev.StatusChanged) and event.secondary == "Downloading":
            job.stop()  # as Ctrl-C in `sm-workbench run` does, while the holders come up

    job = api.launch(spec, subscribers=[watch])
    record = job.run()
    assert (record["TrainingJobStatus"], record["SecondaryStatus"]) == ("Stopped", "Stopped")
    assert containers_started(docker_client, spec.name, "holder", since) < HOSTS
    assert containers_started(docker_client, spec.name, "training", since) == 0
    assert not [e for e in seen if isinstance(e, ev.HostStarted)]
    assert leftovers(docker_client, spec.name) == []


def test_stop_kill_while_the_training_containers_start_starts_no_more(tmp_path, images, docker_client):
    """`sm-workbench stop --kill` (a control file) while the hosts' training containers
    were being started waited for all of them to start first."""
    since = time.time()
    spec = check_spec(many_hosts_spec(tmp_path), source="many.yaml", base_dir=tmp_path)
    asked: list[bool] = []

    def watch(event: ev.Event) -> None:
        if isinstance(event, ev.HostStarted) and not asked:
            asked.append(True)
            api.stop_job(spec.name, kill=True, wait=False)  # what `stop --kill` does from another terminal

    job = api.launch(spec, subscribers=[watch])
    record = job.run()
    assert (record["TrainingJobStatus"], record["SecondaryStatus"]) == ("Stopped", "Stopped")
    started = containers_started(docker_client, spec.name, "training", since)
    assert 1 <= started < HOSTS
    assert len(record["Workbench"]["Hosts"]) == started
    assert leftovers(docker_client, spec.name) == []
