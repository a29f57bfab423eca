"""Script mode as the SageMaker SDK does it, end to end: the real training toolkit
(`sagemaker-training` from the package index, in tests/images/toolkit) runs a script
with a dependency folder from Workbench.SourceDir/EntryPoint/Dependencies, on one host
and two; `submit` packs sourcedir.tar.gz as the SDK does and uploads it (to moto)."""

from __future__ import annotations

import io
import json
import tarfile

import pytest
import yaml

from tests.integration.cloud_helpers import ROLE, aws, received  # noqa: F401 (fixtures)
from tests.integration.jobs import leftovers, unique
from workbench.cli import main

pytestmark = pytest.mark.docker

TRAIN = '''\
import json, os, sys
from helpers.greet import greet
print(greet(os.environ["SM_CURRENT_HOST"]), "of", os.environ["SM_HOSTS"])
with open(os.path.join(os.environ["SM_MODEL_DIR"], os.environ["SM_CURRENT_HOST"] + ".json"), "w") as out:
    json.dump({"argv": sys.argv[1:], "program": os.environ["SM_USER_ENTRY_POINT"],
               "module_dir": os.environ["SM_MODULE_DIR"], "hps": json.loads(os.environ["SM_HPS"]),
               "code": sorted(os.listdir("/opt/ml/code")), "cwd": os.getcwd()}, out)
'''


def code_folders(tmp_path):
    source = tmp_path / "src"
    (source / "data").mkdir(parents=True)
    (source / "train.py").write_text(TRAIN)
    (source / "data" / "tiny.csv").write_text("1,2\n")
    helpers = tmp_path / "shared" / "helpers"
    helpers.mkdir(parents=True)
    (helpers / "__init__.py").write_text("")
    (helpers / "greet.py").write_text("def greet(host):\n    return f'hello from {host}'\n")
    return source, helpers


def script_spec(tmp_path, hosts: int, output: str) -> str:
    code_folders(tmp_path)
    path = tmp_path / "job.yaml"
    path.write_text(yaml.safe_dump({
        "AlgorithmSpecification": {"TrainingImage": "smw-test/toolkit:latest"},
        "RoleArn": ROLE,
        "HyperParameters": {"epochs": 2, "lr": "0.1"},
        "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": hosts},
        "OutputDataConfig": {"S3OutputPath": output},
        "Workbench": {"SourceDir": "src", "EntryPoint": "train.py", "Dependencies": ["shared/helpers"],
                      "StopGracePeriodSeconds": 2},
    }))
    return str(path)


@pytest.mark.parametrize("hosts", [1, 2])
def test_the_real_training_toolkit_runs_the_script_with_its_dependency(tmp_path, images, docker_client, hosts):
    from workbench.engine.api import describe_job, job_paths

    name = unique(f"toolkit{hosts}")
    assert main(["run", script_spec(tmp_path, hosts, str(tmp_path / "output")), "--name", name]) == 0
    record = describe_job(name)
    assert record["TrainingJobStatus"] == "Completed", record.get("FailureReason")
    # The five hyperparameters as the SDK writes them (values JSON-encoded), with the user's own.
    assert record["HyperParameters"] == {
        "epochs": "2", "lr": "0.1",
        "sagemaker_submit_directory": '"/opt/ml/code"', "sagemaker_program": '"train.py"',
        "sagemaker_container_log_level": "20", "sagemaker_job_name": json.dumps(name),
        "sagemaker_region": '"us-east-1"',
    }
    for index in range(1, hosts + 1):
        host = f"algo-{index}"
        seen = json.loads((job_paths(name).opt_ml(host) / "model" / f"{host}.json").read_text())
        assert seen["argv"] == ["--epochs", "2", "--lr", "0.1"]
        assert (seen["program"], seen["module_dir"], seen["cwd"]) == ("train.py", "/opt/ml/code", "/opt/ml/code")
        assert seen["hps"] == {"epochs": 2, "lr": 0.1}
        assert seen["code"] == ["data", "helpers", "train.py"]  # SourceDir's entries and the dependency, at the root
    from workbench.engine.api import read_logs

    lines = [text for _, _, text in read_logs(name)]
    assert sum("hello from algo-" in line for line in lines) == hosts
    assert any("Reporting training SUCCESS" in line for line in lines)
    assert leftovers(docker_client, name) == []


def test_submit_packs_and_uploads_sourcedir_as_the_sdk_does(tmp_path, bucket, s3, received, capsys):
    name = unique("scripted")
    spec = script_spec(tmp_path, 2, f"s3://{bucket}/runs")
    (tmp_path / "src" / "link.py").symlink_to(tmp_path / "shared" / "helpers" / "greet.py")  # followed, as the SDK's tar
    assert main(["submit", spec, "--name", name]) == 0
    capsys.readouterr()
    [request] = received("SageMaker.CreateTrainingJob")
    uri = f"s3://{bucket}/runs/{name}/source/sourcedir.tar.gz"
    assert request["HyperParameters"] == {
        "epochs": "2", "lr": "0.1",
        "sagemaker_submit_directory": json.dumps(uri), "sagemaker_program": '"train.py"',
        "sagemaker_container_log_level": "20", "sagemaker_job_name": json.dumps(name),
        "sagemaker_region": '"us-east-1"',
    }
    assert "Workbench" not in request
    body = s3.get_object(Bucket=bucket, Key=f"runs/{name}/source/sourcedir.tar.gz")
    assert body.get("ServerSideEncryption") == "aws:kms"
    with tarfile.open(fileobj=io.BytesIO(body["Body"].read()), mode="r:gz") as tar:
        members = {m.name: m for m in tar.getmembers()}
        assert sorted(members) == ["data", "data/tiny.csv", "helpers", "helpers/__init__.py", "helpers/greet.py",
                                   "link.py", "train.py"]
        assert members["link.py"].isfile()  # dereferenced
        assert tar.extractfile("train.py").read().decode() == TRAIN
