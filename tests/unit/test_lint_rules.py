"""Image lint rules that the image config alone decides."""

from workbench.engine.lint import config_findings, effective_command


def spec(**algo):
    return {"AlgorithmSpecification": {"TrainingImage": "x", **algo}}


def rules(config, **algo):
    return [f.rule for f in config_findings(config, spec(**algo))]


def test_effective_command_follows_sagemaker():
    config = {"Entrypoint": ["/usr/bin/python3", "/app/run.py"]}
    assert effective_command(config, spec()) == (["/usr/bin/python3", "/app/run.py"], ["train"])
    assert effective_command(config, spec(ContainerArguments=["--x"])) == (["/usr/bin/python3", "/app/run.py"], ["--x"])
    assert effective_command(config, spec(ContainerEntrypoint=["bash"])) == (["bash"], [])


def test_shell_form_entrypoint():
    assert rules({"Entrypoint": ["/bin/sh", "-c", "python train.py"]}) == ["shell-entrypoint"]
    assert rules({"Entrypoint": ["python3", "train.py"]}) == []
    assert rules({}, ContainerEntrypoint=["bash", "-c", "python train.py"]) == ["shell-entrypoint"]


def test_init_entrypoint():
    assert rules({"Entrypoint": ["/usr/bin/tini", "--"]}) == ["init-entrypoint"]
    assert rules({"Entrypoint": ["dumb-init"]}) == ["init-entrypoint"]


def test_workdir_under_opt_ml():
    assert rules({"WorkingDir": "/opt/ml/code"}) == ["baked-opt-ml"]
    assert rules({"WorkingDir": "/opt/program"}) == []
