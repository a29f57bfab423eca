"""The log view: bounded, follows until you scroll up, counts new lines, filters, searches,
wraps and shows timestamps."""

from textual.app import App, ComposeResult

from tests.tui.conftest import screen_text, wait_for
from workbench.tui.widgets.host_log import HostLog
from workbench.tui.widgets.log_view import clean


class LogApp(App):
    def __init__(self, host=None, max_lines=1000):
        super().__init__()
        self.host = host
        self.max_lines = max_lines

    def compose(self) -> ComposeResult:
        yield HostLog(self.host, max_lines=self.max_lines)


def status_text(log: HostLog) -> str:
    return str(log.query_one("#log-status").content)


def numbered(start, count, host="algo-1"):
    return [(1000.0 + i, f"line {i} of {host}") for i in range(start, start + count)]


async def test_follows_then_pauses_when_scrolled_up_and_counts_new_lines():
    app = LogApp("algo-1")
    async with app.run_test(size=(60, 12)) as pilot:
        log = app.query_one(HostLog)
        view = log.view
        log.append("algo-1", numbered(0, 100))
        await pilot.pause()
        assert view.following and "line 99 of algo-1" in screen_text(app)
        view.focus()
        await pilot.press("pageup")
        await pilot.pause()
        assert not view.following
        log.append("algo-1", numbered(100, 25))
        await pilot.pause()
        assert view.unseen == 25
        text = screen_text(app)
        assert "+25 new lines" in text and "line 124" not in text
        await pilot.press("f")
        await wait_for(pilot, lambda: view.following and "line 124 of algo-1" in screen_text(app))
        assert "following" in screen_text(app) and view.unseen == 0


async def test_memory_stays_bounded_and_markers_pass_the_filter():
    app = LogApp("algo-1", max_lines=500)
    async with app.run_test(size=(60, 12)) as pilot:
        log = app.query_one(HostLog)
        for start in range(0, 20_000, 1000):
            log.append("algo-1", numbered(start, 1000))
        await pilot.pause()
        view = log.view
        assert view.line_count <= 550 and view.received == 20_000
        assert view.lines[-1] == "line 19999 of algo-1"
        log.add_marker(2000.0, "… 10 lines skipped")
        view.set_filter("no such text")
        assert view.lines == ["… 10 lines skipped"]


async def test_filter_search_wrap_and_timestamps_from_the_keyboard():
    app = LogApp(None)
    async with app.run_test(size=(50, 14)) as pilot:
        log = app.query_one(HostLog)
        log.extend([(1000.5, "algo-1", "loss=0.5 epoch 1"), (1001.25, "algo-2", "loss=0.4 epoch 1"),
                    (1002.0, "algo-1", "accuracy 0.9 " + "x" * 80)])
        log.view.focus()
        await pilot.pause()
        await pilot.press("slash", *"loss")
        await pilot.pause()
        assert log.view.lines == ["loss=0.5 epoch 1", "loss=0.4 epoch 1"]
        assert "filter “loss”: 2 of 3 lines" in status_text(log)
        await pilot.press("escape")  # clears the filter
        await pilot.pause()
        assert len(log.view.lines) == 3
        await pilot.press("ctrl+f", *"epoch", "enter")
        await pilot.pause()
        assert log.view.search_text == "epoch" and log.view.match_count() == 2
        assert "2 matching lines" in status_text(log)
        strip = log.view.render_line(0)
        match_style = log.view.get_component_rich_style("log-view--match", partial=True)
        assert any(seg.text == "epoch" and seg.style and seg.style.bgcolor == match_style.bgcolor
                   for seg in strip)
        await pilot.press("escape")
        log.view.focus()
        await pilot.press("t")
        await pilot.pause()
        assert "00:16:40.500 algo-1 | loss=0.5" in screen_text(app)  # 1000.5 s after the epoch, UTC
        await pilot.press("w")
        await pilot.pause()
        text = screen_text(app)
        assert "xxxxx" in text.splitlines()[3]  # the long line continues on the next row
        assert log.view.virtual_size.height > 3


async def test_search_then_n_and_N_move_between_matches_k_of_n():
    """Tour: ctrl+f, type "match", enter: the focus stayed in the search box, so n typed
    "matchn" instead of going to the next match, and the status said only how many lines
    matched. Enter now hands the keys to the log; n/N move and the status says "k of n"."""
    app = LogApp("algo-1")
    async with app.run_test(size=(60, 12)) as pilot:
        log = app.query_one(HostLog)
        log.append("algo-1", [(1000.0 + i, f"line {i}" + (" match" if i % 10 == 0 else "")) for i in range(100)])
        log.view.focus()
        await pilot.pause()
        await pilot.press("ctrl+f", *"match", "enter")
        await pilot.pause()
        view = log.view
        assert app.focused is view and view.search_text == "match" and view.match_count() == 10
        first = view.current_match
        assert first >= 1 and f"{first} of 10 matching lines" in status_text(log)
        await pilot.press("n")
        await pilot.pause()
        assert view.search_text == "match" and view.current_match == first % 10 + 1
        assert f"{first % 10 + 1} of 10" in status_text(log)
        await pilot.press("N", "N")
        await pilot.pause()
        assert view.current_match == (first - 2) % 10 + 1
        for _ in range(10):  # round the end and back to where it was
            await pilot.press("n")
        await pilot.pause()
        assert view.current_match == (first - 2) % 10 + 1
        await pilot.press("escape")
        await pilot.pause()
        assert view.search_text == "" and view.current_match == 0


def test_control_characters_and_ansi_are_cleaned():
    assert clean("\x1b[31mred\x1b[0m text") == "red text"
    assert clean("a\tb") == "a       b"
    assert clean("bell\x07") == "bell\ufffd"
    assert clean("plain") == "plain"
