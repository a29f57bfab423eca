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


def test_docker_parts_of_a_long_line_become_bounded_lines():
    """Docker cuts a line over 16 KiB into parts, each with its time in front; the parts
    are joined, cut at the limit (never inside a UTF-8 character) and marked."""
    from workbench.engine.logs import SPLIT_MARK, LineSplitter

    splitter = LineSplitter(limit=8)
    stamp = b"2026-11-21T23:49:05.123456789Z "
    lines = splitter.feed(stamp + b"abcdefg\xc3") + splitter.feed(stamp + b"\xa9hij\r\n")
    lines += splitter.feed(stamp + b"tail") + splitter.finish()
    assert [text for _, text in lines] == ["abcdefg" + SPLIT_MARK, "éhij", "tail"]
    assert lines[0][0] == 1795304945.123456789


def test_a_takeover_skips_what_was_stored_and_cuts_a_half_written_line(tmp_path):
    """A new follower reads docker's lines again from the last stored second: the lines
    stored at the last microsecond are skipped (docker's times have nanoseconds), the
    rest kept, and a line the dead writer left half-written is read again."""
    from workbench.engine.logs import iso_micro
    from workbench.engine.store import log_boundary

    paths = JobPaths(tmp_path)
    paths.logs.mkdir()
    paths.log("algo-1").write_text("1970-01-01T00:00:01.000000Z one\n1970-01-01T00:00:02.000001Z two\n"
                                   "1970-01-01T00:00:02.000001Z two\n1970-01-01T00:00:03.0000")
    boundary = log_boundary(paths, "algo-1")
    assert paths.log("algo-1").read_text().endswith("two\n")
    assert (boundary.stamp, boundary.stored) == ("1970-01-01T00:00:02.000001Z", 2)
    again = [(1.0000004, "one"), (2.0000012, "two"), (2.0000009, "two"), (2.0000011, "two"), (3.0, "three")]
    assert iso_micro(2.0000012) == boundary.stamp
    assert boundary.new(again[:2]) + boundary.new(again[2:]) == again[3:]
    assert log_boundary(JobPaths(tmp_path / "none"), "algo-1") is None


def test_a_second_read_skips_exactly_the_messages_already_read():
    """Docker may close a follow stream just before a container's last message (a final
    line with no newline was lost about one run in three), so the reader reads once more
    from the last message's second on. Docker trims the fraction's trailing zeros
    (`.1Z` is later than `.09Z`), and several messages may share one time."""
    import calendar

    from workbench.engine.logs import MessagesRead

    first = [b"2026-11-21T23:49:05.09Z a\n", b"2026-11-21T23:49:05.1Z b\n", b"2026-11-21T23:49:05.1Z c\n"]
    read = MessagesRead()
    for chunk in first:
        read.note(chunk)
    assert read.since == calendar.timegm((2026, 11, 21, 23, 49, 5, 0, 0, 0))
    again = [b"2026-11-21T23:49:05.000000001Z a0\n", *first, b"2026-11-21T23:49:05.1Z d\n",
             b"2026-11-21T23:49:05.2Z e"]
    assert [c for c in again if not read.seen(c)] == [b"2026-11-21T23:49:05.1Z d\n", b"2026-11-21T23:49:05.2Z e"]
