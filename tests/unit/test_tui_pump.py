"""The pump between a job's event stream and the screen: batches, bounds, the end."""

import threading
import time

from workbench.engine import events as ev
from workbench.tui.pump import EventPump, flush_loop, pump_events


def lines(host, start, count):
    return ev.LogLines(host, tuple((float(i), f"{host} line {i}") for i in range(start, start + count)))


def test_lines_and_events_arrive_in_one_batch_per_drain():
    pump = EventPump(max_lines_per_host=100)
    pump.feed(ev.StatusChanged("InProgress", "Training"))
    pump.feed(lines("algo-1", 0, 3))
    pump.feed(lines("algo-2", 0, 2))
    pump.feed(lines("algo-1", 3, 2))
    batch = pump.drain()
    assert [text for _, text in batch.lines["algo-1"]] == [f"algo-1 line {i}" for i in range(5)]
    assert len(batch.lines["algo-2"]) == 2
    assert [type(e).__name__ for e in batch.events] == ["StatusChanged"]
    assert batch.line_count == 7 and not batch.finished
    assert pump.drain() is None


def test_a_flood_keeps_only_the_newest_lines_and_counts_the_rest():
    pump = EventPump(max_lines_per_host=1000)
    for start in range(0, 50_000, 500):
        pump.feed(lines("algo-1", start, 500))
    batch = pump.drain()
    kept = batch.lines["algo-1"]
    assert len(kept) == 1000
    assert kept[-1][1] == "algo-1 line 49999" and kept[0][1] == "algo-1 line 49000"
    assert batch.dropped == {"algo-1": 49_000}
    assert batch.line_count == 50_000


def test_the_end_of_the_stream_is_its_own_last_batch():
    pump = EventPump()
    pump_events(iter([lines("algo-1", 0, 2), ev.JobFinished("Completed", "Completed")]), pump)
    first = pump.drain()
    assert first.lines and first.events and not first.finished
    assert pump.drain().finished
    assert pump.done
    assert pump.drain() is None


def test_flush_loop_posts_batches_until_the_end():
    pump = EventPump()
    posted = []

    def produce():
        for start in range(0, 100, 10):
            pump.feed(lines("algo-1", start, 10))
            time.sleep(0.01)
        pump.finish()

    producer = threading.Thread(target=produce)
    producer.start()
    flush_loop(pump, posted.append, lambda: False, interval=0.02)
    producer.join()
    assert posted[-1].finished
    assert sum(len(b.lines.get("algo-1", [])) for b in posted) == 100
    assert 2 <= len(posted) < 100  # batched, not one message per line


def test_lines_come_prepared_for_display_in_one_order_across_hosts():
    pump = EventPump(max_lines_per_host=3)
    pump.feed(ev.LogLines("algo-2", ((2.0, "b1"), (4.0, "b2\x1b[0m\tx"))))
    pump.feed(ev.LogLines("algo-1", ((1.0, "a1"), (3.0, "a2"), (5.0, "a3"), (6.0, "a4"))))
    batch = pump.drain()
    assert [e.text for e in batch.merged][1:] == ["b1", "a2", "b2      x", "a3", "a4"]
    assert batch.merged[0].kind == 1 and "1 lines skipped" in batch.merged[0].text  # a1 overflowed
    seqs = [e.seq for e in batch.merged]
    assert seqs == sorted(seqs)
    assert batch.entries["algo-2"][1] is batch.merged[3]  # shared, not copied
    assert batch.entries["algo-1"][0].kind == 1 and [e.text for e in batch.entries["algo-1"][1:]] == ["a2", "a3", "a4"]
    assert batch.merged[3].width == len("b2      x")
    later = pump.drain() or EventPump().drain()
    assert later is None
    pump.feed(ev.LogLines("algo-1", ((7.0, "a5"),)))
    assert pump.drain().merged[0].seq > seqs[-1]  # numbers keep growing across batches
