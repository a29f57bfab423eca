"""Host logs read as they grow: merged in time order, partial lines held back."""

from workbench.engine.store import JobPaths, LogTail


def test_merged_in_time_order_and_partial_lines_wait(tmp_path):
    paths = JobPaths(tmp_path)
    paths.logs.mkdir()
    paths.log("algo-1").write_text("1970-01-01T00:00:01.000000Z one\n1970-01-01T00:00:03.000000Z three\n")
    paths.log("algo-2").write_text("1970-01-01T00:00:02.000000Z two\n1970-01-01T00:00:04.000000Z fo")
    tail = LogTail(paths)
    assert [(h, t) for _, h, t in tail.merged()] == [("algo-1", "one"), ("algo-2", "two"), ("algo-1", "three")]
    with open(paths.log("algo-2"), "a") as handle:
        handle.write("ur\n")
    assert tail.read() == {"algo-2": [(4.0, "four")]}
    tail.close()


def test_reads_are_bounded(tmp_path):
    paths = JobPaths(tmp_path)
    paths.logs.mkdir()
    paths.log("algo-1").write_text("".join(f"1970-01-01T00:00:01.000000Z line {i}\n" for i in range(1000)))
    tail = LogTail(paths)
    first = tail.read(limit=1000)["algo-1"]
    assert 0 < len(first) < 1000
    rest = []
    while batch := tail.read(limit=1000):
        rest += batch["algo-1"]
    assert [t for _, t in first + rest] == [f"line {i}" for i in range(1000)]
    tail.close()


def test_a_relative_base_dir_is_fine(tmp_path, monkeypatch):
    from workbench.spec import check_spec

    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()
    spec = check_spec({"AlgorithmSpecification": {"TrainingImage": "img"}, "InputDataConfig": [
        {"ChannelName": "train", "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "data/"}}}]},
        base_dir=".")
    assert spec.data["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3Uri"] == (tmp_path / "data").as_uri() + "/"
