"""The composer's document: typed edits, nothing lost, the validator's verdicts, safe saves."""

import pytest

from workbench.cli import main
from workbench.spec import Problem, read_spec_file
from workbench.tui.draft import ChangedOnDisk, SpecDraft, assign_problems, typed_value, value_text


def test_edits_are_typed_by_the_api_model():
    draft = SpecDraft()
    draft.set_text("ResourceConfig.InstanceCount", "2")
    draft.set_text("HyperParameters.epochs", "5")
    draft.set_text("AlgorithmSpecification.ContainerEntrypoint", "python3 'my script.py' --x 1")
    draft.set_text("EnableManagedSpotTraining", "true")
    draft.set_text("Workbench.StopGracePeriodSeconds", "7")
    assert draft.data == {
        "ResourceConfig": {"InstanceCount": 2},
        "HyperParameters": {"epochs": "5"},
        "AlgorithmSpecification": {"ContainerEntrypoint": ["python3", "my script.py", "--x", "1"]},
        "EnableManagedSpotTraining": True,
        "Workbench": {"StopGracePeriodSeconds": 7},
    }
    assert value_text("AlgorithmSpecification.ContainerEntrypoint",
                      draft.get("AlgorithmSpecification.ContainerEntrypoint")) == "python3 'my script.py' --x 1"
    assert draft.dirty


def test_a_value_that_does_not_fit_is_kept_and_reported_at_its_field():
    draft = SpecDraft({"AlgorithmSpecification": {"TrainingImage": "img:1"}})
    draft.set_text("ResourceConfig.InstanceCount", "two")
    assert draft.get("ResourceConfig.InstanceCount") == "two"
    problems = draft.check().problems
    assert any(p.path == "ResourceConfig.InstanceCount" and "must be an integer" in p.message for p in problems)
    assert typed_value("StoppingCondition.MaxRuntimeInSeconds", "1.5x") == "1.5x"


def test_clearing_a_field_removes_it_and_empty_parents():
    draft = SpecDraft({"CheckpointConfig": {"S3Uri": "s3://b/c"}, "InputDataConfig": [{"ChannelName": "a"}]})
    draft.set_text("CheckpointConfig.S3Uri", "")
    assert "CheckpointConfig" not in draft.data
    draft.set_value("InputDataConfig[0].ChannelName", None)
    assert draft.data == {"InputDataConfig": [{}]}  # the list keeps its item


def test_validation_is_the_validate_command(tmp_path, capsys):
    path = tmp_path / "job.yaml"
    path.write_text("AlgorithmSpecification:\n  TrainingImage: img\nTrainingJobName: bad_name\n"
                    "ResourceConfig:\n  InstanceType: ml.nope\n")
    draft = SpecDraft.open(path)
    mine = sorted(p.format(str(path)) for p in draft.check().problems)
    assert main(["validate", str(path)]) == 2
    printed = sorted(line for line in capsys.readouterr().err.splitlines() if line)
    assert mine == printed and len(mine) == 2
    sagemaker = draft.check("sagemaker").problems
    assert any(p.path == "RoleArn" for p in sagemaker)


def test_save_never_silently_overwrites_a_file_changed_on_disk(tmp_path):
    path = tmp_path / "job.yaml"
    path.write_text("HyperParameters:\n  a: '1'\n")
    draft = SpecDraft.open(path)
    draft.set_text("HyperParameters.b", "2")
    path.write_text("HyperParameters:\n  a: 'changed elsewhere'\n")
    with pytest.raises(ChangedOnDisk):
        draft.save()
    assert "changed elsewhere" in path.read_text()
    draft.save(overwrite=True)
    assert read_spec_file(path) == {"HyperParameters": {"a": "1", "b": "2"}}
    assert not draft.dirty and not draft.changed_on_disk()
    other = tmp_path / "other.yaml"
    other.write_text("x: 1\n")
    with pytest.raises(ChangedOnDisk):
        draft.save(other)  # an existing file under a new name: ask first
    draft.save(tmp_path / "new.yaml")
    assert draft.path == (tmp_path / "new.yaml").resolve()


def test_a_new_spec_file_name_is_a_new_spec(tmp_path):
    draft = SpecDraft.open(tmp_path / "fresh.yaml")
    assert draft.data == {} and draft.path == (tmp_path / "fresh.yaml").resolve()
    assert not draft.changed_on_disk()


def test_each_problem_is_shown_at_one_field():
    fields = ["AlgorithmSpecification.TrainingImage", "AlgorithmSpecification.TrainingInputMode",
              "HyperParameters", "InputDataConfig", "ResourceConfig.InstanceCount"]
    problems = [
        Problem("AlgorithmSpecification", "is required"),  # a missing section: its first field
        Problem("HyperParameters.epochs", "bad"),  # inside a map: the map's editor
        Problem("InputDataConfig[1].DataSource.S3DataSource.S3Uri", "missing"),
        Problem("VpcConfig.Subnets", "no field for it"),
    ]
    shown, orphans = assign_problems(problems, fields)
    assert [p.message for p in shown["AlgorithmSpecification.TrainingImage"]] == ["is required"]
    assert [p.message for p in shown["HyperParameters"]] == ["bad"]
    assert [p.message for p in shown["InputDataConfig"]] == ["missing"]
    assert [p.message for p in orphans] == ["no field for it"]


def test_a_saved_spec_follows_the_umask_and_keeps_an_existing_files_mode(tmp_path):
    """Tour: a spec saved from the composer came out 0600 (the atomic write's temporary
    file mode) where every other file the user writes is 0644; a teammate could not read it.
    Job records stay private."""
    import os
    import stat

    from workbench.fileio import write_text_atomic

    old = os.umask(0o022)
    try:
        draft = SpecDraft({"AlgorithmSpecification": {"TrainingImage": "img:1"}})
        new = draft.save(tmp_path / "new.yaml")
        assert stat.S_IMODE(new.stat().st_mode) == 0o644
        shared = tmp_path / "shared.yaml"
        shared.write_text("AlgorithmSpecification:\n  TrainingImage: img:0\n")
        shared.chmod(0o664)
        opened = SpecDraft.open(shared)
        opened.set_text("AlgorithmSpecification.TrainingImage", "img:2")
        opened.save()
        assert stat.S_IMODE(shared.stat().st_mode) == 0o664 and "img:2" in shared.read_text()
        os.umask(0o077)
        SpecDraft({"A": 1}).save(tmp_path / "private.yaml")
        assert stat.S_IMODE((tmp_path / "private.yaml").stat().st_mode) == 0o600
        os.umask(0o022)
        write_text_atomic(tmp_path / "record.json", "{}")
        assert stat.S_IMODE((tmp_path / "record.json").stat().st_mode) == 0o600
        assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []
    finally:
        os.umask(old)


def test_a_jobs_source_opens_as_itself_only_when_it_is_what_the_job_ran_with(tmp_path, state_home):
    """Tour: `e` on a rerun opened its parent's spec.yaml from the state directory (the
    rerun's source), so saving would have overwritten another job's record."""
    from workbench.paths import state_dir
    from workbench.spec import resolve
    from workbench.tui.draft import ran_from

    spec = tmp_path / "job.yaml"
    spec.write_text("AlgorithmSpecification:\n  TrainingImage: img:1\nHyperParameters:\n  epochs: '3'\n"
                    "InputDataConfig:\n  - ChannelName: train\n    DataSource:\n      S3DataSource:\n"
                    "        S3DataType: S3Prefix\n        S3Uri: data/\n")
    ran = resolve(read_spec_file(spec), base_dir=tmp_path, name="job-1")
    assert ran_from(spec, ran)
    assert not ran_from(spec, {**ran, "HyperParameters": {"epochs": "9"}})  # run with an override
    record = state_dir() / "jobs" / "parent" / "spec.yaml"
    record.parent.mkdir(parents=True)
    record.write_text(spec.read_text())
    assert not ran_from(record, ran)  # a job's record, never
    assert not ran_from(tmp_path / "gone.yaml", ran)


def test_the_resource_mode_switch_keeps_what_the_other_mode_held():
    """The composer's switch between one instance type and instance groups: the first
    switch makes one group of the type and count (and back, the first group's); after
    that each mode gets back what it held."""
    draft = SpecDraft({"ResourceConfig": {"InstanceType": "ml.c5.xlarge", "InstanceCount": 3, "VolumeSizeInGB": 50}})
    assert draft.resource_mode == "single" and not draft.dirty
    draft.set_resource_mode("groups")
    assert draft.resource_mode == "groups" and draft.dirty
    assert draft.get("ResourceConfig") == {"VolumeSizeInGB": 50, "InstanceGroups": [
        {"InstanceGroupName": "group-1", "InstanceType": "ml.c5.xlarge", "InstanceCount": 3}]}
    draft.set_value("ResourceConfig.InstanceGroups[1]", {"InstanceGroupName": "b", "InstanceType": "ml.m5.large",
                                                          "InstanceCount": 1})
    draft.set_resource_mode("single")
    assert draft.get("ResourceConfig") == {"VolumeSizeInGB": 50, "InstanceType": "ml.c5.xlarge", "InstanceCount": 3}
    draft.set_text("ResourceConfig.InstanceCount", "4")
    draft.set_resource_mode("groups")
    assert [g["InstanceGroupName"] for g in draft.get("ResourceConfig.InstanceGroups")] == ["group-1", "b"]
    assert draft.get("ResourceConfig.InstanceCount") is None
    draft.set_resource_mode("groups")  # already: nothing changes
    assert len(draft.get("ResourceConfig.InstanceGroups")) == 2
    draft.set_resource_mode("single")
    assert draft.get("ResourceConfig.InstanceCount") == 4
    with pytest.raises(ValueError):
        draft.set_resource_mode("cluster")


def test_a_spec_with_groups_opens_in_groups_mode_and_switches_to_its_first_group():
    draft = SpecDraft({"ResourceConfig": {"InstanceGroups": [
        {"InstanceGroupName": "train", "InstanceType": "ml.g5.xlarge", "InstanceCount": 2},
        {"InstanceGroupName": "data", "InstanceType": "ml.c5.xlarge", "InstanceCount": 1}]}})
    assert draft.resource_mode == "groups" and not draft.mixed_resources
    draft.set_value("ResourceConfig.InstanceType", "ml.m5.large")  # both set: the form shows both, to fix
    assert draft.mixed_resources
    draft.delete("ResourceConfig.InstanceType")
    draft.set_resource_mode("single")
    assert draft.get("ResourceConfig") == {"InstanceType": "ml.g5.xlarge", "InstanceCount": 2}
    empty = SpecDraft()
    assert empty.resource_mode == "single"
    empty.set_resource_mode("groups")  # nothing to carry over: a default group
    assert empty.get("ResourceConfig.InstanceGroups") == [
        {"InstanceGroupName": "group-1", "InstanceType": "ml.m5.large", "InstanceCount": 1}]
