"""The hold-back: every line labelled with its request's API Gateway request ID, in the order
read, held only as long as its request may still be learnt, and never beyond the bounds."""

from __future__ import annotations

from apilogs.join.label import Labeller, label_events
from apilogs.model import LogEvent
from tests.unit.join.test_correlate import (
    LID1,
    LID2,
    PRIMES,
    RID1,
    RID2,
    by_time,
    ev,
    invocation,
    request_lines,
    timed_out,
)


def labels(events: list[LogEvent], **kwargs: object) -> list[tuple[str, str | None, bool]]:
    return [
        (e.event.message, e.request_id, e.probable)
        for e in label_events(events, **kwargs)  # type: ignore[arg-type]
    ]


def test_every_line_of_two_interleaved_requests_names_its_request_in_order() -> None:
    a = request_lines(RID1, LID1, 1000, stream="s-a", lambda_lines=["print A"])
    b = request_lines(RID2, LID2, 1003, stream="s-b", lambda_lines=["print B"])
    events = by_time(a, b)
    got = list(label_events(events))
    assert [g.event for g in got] == events  # the order read, every line once
    owner = {id(e): RID1 for e in a} | {id(e): RID2 for e in b}
    assert all(g.request_id == owner[id(g.event)] for g in got)
    assert not any(g.probable for g in got)


def test_a_lambda_line_waits_only_while_a_call_to_its_function_is_unanswered() -> None:
    lines = request_lines(RID1, LID1, 0)
    labeller = Labeller()
    out = []
    start = next(i for i, e in enumerate(lines) if e.message.startswith("START"))
    for event in lines[: start + 1]:
        out += labeller.add(event)
    # API Gateway's own lines go out at once; the START waits for the line naming it.
    assert [o.event for o in out] == lines[:start] and labeller.held == 1
    for event in lines[start + 1 :]:
        out += labeller.add(event)
    assert {o.request_id for o in out} == {RID1} and labeller.held == 0


def test_an_invocation_no_request_called_is_not_held() -> None:
    orphan = [ev(PRIMES, 5, f"START RequestId: {LID2} Version: $LATEST", "s-x")]
    labeller = Labeller()
    [out] = labeller.add(orphan[0])
    assert out.request_id is None and labeller.held == 0


def test_nothing_is_held_longer_than_the_hold_back() -> None:
    # No execution log (an HTTP API): every Lambda line waits for its request, up to 2 s here.
    lines = [e for e in request_lines(RID1, LID1, 0) if e.source is PRIMES]
    later = ev(PRIMES, 5_000, "much later", "s-other")
    labeller = Labeller(hold_ms=2_000, expect_calls=False)
    out = []
    for event in lines:
        out += labeller.add(event)
    assert out == [] and labeller.held == len(lines)
    out += labeller.add(later)
    assert [o.event for o in out][: len(lines)] == lines
    assert all(o.request_id is None for o in out) and labeller.released_unknown == len(lines)
    # Following: the stream goes quiet once they are read (at 1 s on the wall clock); they go
    # 2 s after that, the wall clock moving the stream's time on.
    labeller = Labeller(hold_ms=2_000, expect_calls=False)
    for event in lines:
        labeller.add(event)
    newest = lines[-1].raw.timestamp
    assert labeller.advance(1_000) == [] and labeller.advance(2_900 - newest) == []
    assert len(labeller.advance(3_100 - newest)) == len(lines)


def test_memory_is_bounded_by_max_held() -> None:
    labeller = Labeller(hold_ms=10**9, max_held=5, expect_calls=False)
    for n in range(50):
        labeller.add(
            ev(PRIMES, n, f"START RequestId: {n:08x}-1111-4a2b-9c3d-0123456789ab", f"s{n}")
        )
        assert labeller.held <= 5
    assert len(labeller.flush()) == 5


def test_lines_joined_by_timing_are_probable_and_wait_for_their_report() -> None:
    request = timed_out(RID1, 0)
    lines = invocation(LID1, 4, 25_000)
    got = list(label_events(by_time(request, lines), hold_ms=30_000))
    by_message = {g.event.message: g for g in got}
    assert by_message["a plain print between start and report"].request_id == RID1
    assert all(by_message[e.message].probable for e in lines)
    assert not any(by_message[e.message].probable for e in request)
    # Confirmed by the REPORT's trace ID when it comes within the hold-back: not probable.
    traced = invocation(LID1, 4, 25_000, trace="1-5f84c7a1-0d5b0e8a4b2c3d4e5f6a7b8c")
    got = list(label_events(by_time(timed_out(RID1, 0), traced), hold_ms=30_000))
    assert {g.request_id for g in got} == {RID1} and not any(g.probable for g in got)


def test_following_a_known_line_does_not_wait_behind_one_still_unknown() -> None:
    # A's Lambda lines are named only when API Gateway logs A's answer, after B has begun.
    a = request_lines(RID1, LID1, 0, stream="s-a")
    b = request_lines(RID2, LID2, 10, stream="s-b")
    events = by_time(a, b)
    owner = {id(e): RID1 for e in a} | {id(e): RID2 for e in b}
    a_start = next(e for e in a if e.message.startswith("START"))

    in_order = Labeller()
    assert [o for e in events[: events.index(b[0]) + 1] for o in in_order.add(e)][-1].event is (
        events[events.index(a_start) - 1]
    )  # in order, B's first line waits behind A's START

    # A's lines (at 5-7 ms) block the lines after them until the stream is at 9 ms.
    following = Labeller(in_order=False, block_ms=2)
    out = []
    for event in events:
        got = following.add(event)
        if event is b[0]:
            assert [g.event for g in got] == [b[0]] and following.held >= 1
        out += got
        out += following.advance(event.raw.timestamp)  # a batch per line
    assert following.held == 0
    assert sorted(id(o.event) for o in out) == sorted(id(e) for e in events)  # each line once
    assert all(o.request_id == owner[id(o.event)] for o in out)
    late = {o.event.message for o in out if o.late}
    assert a_start.message in late  # it went out after B's lines, and says so
    # API Gateway's own lines are known when read: none waits, none is late.
    assert not any(o.late for o in out if o.event.source is not PRIMES)


def test_following_still_lets_a_line_go_when_its_time_is_up() -> None:
    lines = [e for e in request_lines(RID1, LID1, 0) if e.source is PRIMES]
    labeller = Labeller(hold_ms=2_000, expect_calls=False, in_order=False)
    assert [o for e in lines for o in labeller.add(e)] == []
    newest = lines[-1].raw.timestamp
    assert labeller.advance(1_000) == [] and labeller.advance(2_900 - newest) == []
    out = labeller.advance(3_100 - newest)
    assert [o.event for o in out] == lines and labeller.released_unknown == len(lines)
    assert all(o.request_id is None for o in out)


def test_following_memory_is_bounded_by_max_held() -> None:
    labeller = Labeller(hold_ms=10**9, max_held=5, expect_calls=False, in_order=False)
    for n in range(50):
        labeller.add(
            ev(PRIMES, n, f"START RequestId: {n:08x}-1111-4a2b-9c3d-0123456789ab", f"s{n}")
        )
        assert labeller.held <= 5


def test_following_a_quick_request_keeps_its_order() -> None:
    # Both requests are answered within the block: every line in the order read, none late.
    a = request_lines(RID1, LID1, 0, stream="s-a")
    b = request_lines(RID2, LID2, 10, stream="s-b")
    events = by_time(a, b)
    following = Labeller(in_order=False)  # blocks for 500 ms of stream time
    out = []
    for event in events:
        out += following.add(event)
        out += following.advance(event.raw.timestamp + 1_000)  # the wall clock is ahead
    assert [o.event for o in out] == events and not any(o.late for o in out)


def test_following_lines_read_from_the_past_still_wait_for_their_request() -> None:
    # `get --watch -s 10m`: the first reads bring lines minutes old, in several batches. A
    # line waits hold_ms from when it was read, not from its own time (long gone by then).
    lines = request_lines(RID1, LID1, 0)
    start = next(i for i, e in enumerate(lines) if e.message.startswith("START"))
    now = 600_000
    for in_order in (True, False):
        labeller = Labeller(in_order=in_order)
        out = labeller.advance(now)
        for event in lines[: start + 1]:
            out += labeller.add(event)
        out += labeller.advance(now + 1_000)  # the batch ends between the START and its answer
        for event in lines[start + 1 :]:
            out += labeller.add(event)
        out += labeller.advance(now + 2_000)
        assert {o.request_id for o in out} == {RID1} and labeller.released_unknown == 0


def test_following_gives_every_line_once_with_the_label_a_window_gives() -> None:
    import random

    for seed in range(30):
        rnd = random.Random(seed)
        requests = []
        t = 0
        for n in range(8):
            t += rnd.randrange(0, 60)
            rid = f"{n:08x}-6f04-11e6-97ac-c34deb0b3dd9"
            lid = f"{n:08x}-1111-4a2b-9c3d-0123456789ab"
            requests.append(request_lines(rid, lid, t, stream=f"s-{n}"))
        events = by_time(*requests)
        window = {id(g.event): g.request_id for g in label_events(events)}
        following = Labeller(in_order=False, block_ms=rnd.choice((0, 3, 20, 500)))
        out = []
        for event in events:
            out += following.add(event)
            if rnd.random() < 0.3:  # a batch ends
                out += following.advance(event.raw.timestamp + 1_000)
        out += following.advance(events[-1].raw.timestamp + 2_000)
        assert following.held == 0, seed
        assert sorted(id(o.event) for o in out) == sorted(id(e) for e in events), seed
        assert all(o.request_id == window[id(o.event)] for o in out), seed


def _rid(n: int) -> str:
    return f"{n:08x}-6f04-11e6-97ac-c34deb0b3dd9"


def _lid(n: int) -> str:
    return f"{n:08x}-1111-4a2b-9c3d-0123456789ab"


def test_many_calls_to_one_function_each_line_names_its_own_request() -> None:
    # Forty requests call the same function, two ms apart: a held START is looked at again
    # while calls made after it pile up; it still finds the call made before it.
    requests = [request_lines(_rid(n), _lid(n), 2 * n, stream=f"s-{n}") for n in range(40)]
    events = by_time(*requests)
    got = list(label_events(events))
    assert [g.event for g in got] == events
    owner = {id(e): _rid(n) for n, lines in enumerate(requests) for e in lines}
    assert all(g.request_id == owner[id(g.event)] and not g.probable for g in got)


def test_following_a_call_read_late_still_holds_the_invocation_it_may_have_started() -> None:
    a, b, c = (request_lines(_rid(n), _lid(n), 300 * n, stream=f"s-{n}") for n in range(3))
    start = next(i for i, e in enumerate(a) if e.message.startswith("START"))
    following = Labeller(in_order=False)
    out = []
    # The calls of B and C are read first; A's, older, comes late, then its Lambda's START.
    for event in [*b[:start], *c[:start]]:
        out += following.add(event)
    for event in a[: start + 1]:
        out += following.add(event, late=True)
    assert a[start] not in [o.event for o in out]  # waits: A's call is unanswered
    for event in a[start + 1 :]:
        out += following.add(event, late=True)
    [labelled] = [o for o in out if o.event is a[start]]
    assert labelled.request_id == _rid(0) and not labelled.probable


def test_following_a_running_function_shows_its_lines_with_a_probable_label() -> None:
    # API Gateway names the invocation only once the function has answered: while it runs,
    # its lines go half a second after they were read, with the ID of the one request that
    # called it; the lines after the answer carry the confirmed ID.
    lines = request_lines(RID1, LID1, 0)
    start = next(i for i, e in enumerate(lines) if e.message.startswith("START"))
    labeller = Labeller(in_order=False)
    out = labeller.advance(1_000)
    for event in lines[: start + 2]:  # the call, the START, a first print
        out += labeller.add(event)
    out += labeller.advance(1_100)
    assert lines[start] not in [o.event for o in out]  # read 100 ms ago: may still be named
    out += labeller.advance(1_600)
    first = {o.event.message: o for o in out}
    for event in lines[start : start + 2]:
        assert first[event.message].request_id == RID1 and first[event.message].probable
    assert labeller.guessed == 2
    for event in lines[start + 2 :]:
        out += labeller.add(event)
    out += labeller.advance(1_700)
    assert sorted(id(o.event) for o in out) == sorted(id(e) for e in lines)
    rest = [o for o in out if any(o.event is e for e in lines[start + 2 :])]
    assert all(o.request_id == RID1 and not o.probable for o in rest)


def test_following_no_label_is_guessed_when_two_requests_may_have_called() -> None:
    a = request_lines(RID1, LID1, 0, stream="s-a")
    b = request_lines(RID2, LID2, 1, stream="s-b")  # calls the same function 1 ms later
    events = by_time(a, b)
    a_start = next(e for e in a if e.message.startswith("START"))
    labeller = Labeller(in_order=False)
    out = labeller.advance(1_000)
    upto = events.index(a_start) + 1
    for event in events[:upto]:
        out += labeller.add(event)
    out += labeller.advance(5_000)
    assert a_start not in [o.event for o in out] and labeller.guessed == 0
    for event in events[upto:]:
        out += labeller.add(event)
    out += labeller.advance(5_100)
    owner = {id(e): RID1 for e in a} | {id(e): RID2 for e in b}
    assert sorted(id(o.event) for o in out) == sorted(id(e) for e in events)
    assert all(o.request_id == owner[id(o.event)] and not o.probable for o in out)
    # A window read never guesses: it reads on to the answer.
    window = list(label_events(events[:upto]))
    assert not any(w.probable for w in window)


def test_lines_labelled_when_read_keep_their_label_and_late_flag_behind_a_waiting_head() -> None:
    # A request's START waits for the line naming it; API Gateway's lines read meanwhile wait
    # behind it, each with its own ID, and (in order) with the late flag it was given.
    first = request_lines(RID1, LID1, 0)
    start = next(i for i, e in enumerate(first) if e.message.startswith("START"))
    other = [e for e in request_lines(RID2, LID2, 1) if e.raw.source.function_name is None]
    labeller = Labeller()
    out = []
    for event in first[: start + 1]:
        out += labeller.add(event)
    behind = [(event, i % 2 == 1) for i, event in enumerate(other)]
    for event, late in behind:
        out += labeller.add(event, late=late)
    assert labeller.held == 1 + len(behind)
    out += labeller.flush()
    after = out[start:]
    assert [o.event for o in after] == [first[start], *(event for event, _ in behind)]
    assert [(o.request_id, o.late, o.probable, o.phase) for o in after[1:]] == [
        (event.line.request_id, late, False, None) for event, late in behind
    ]


def test_lines_let_go_without_a_request_are_said_by_why() -> None:
    from apilogs.fetch.stats import FetchStats
    from apilogs.labeling import say_unlabelled

    lines = [e for e in request_lines(RID1, LID1, 0) if e.source is PRIMES]
    # Their time ran out: no request named them within the hold-back.
    timed = Labeller(hold_ms=2_000, expect_calls=False)
    for event in [*lines, ev(PRIMES, 5_000, "much later", "s-other")]:
        timed.add(event)
    stats = FetchStats()
    assert say_unlabelled(timed, stats, 0) == len(lines) == timed.unclaimed
    assert stats.take_notices() == [
        f"{len(lines)} lines were printed without a request: no request named their invocation "
        "within 2 s (the function was called from elsewhere, or a request waited longer for it: "
        "--hold-back)"
    ]
    # Too many waited at once: the hold-back's memory bound let the first go.
    crowded = Labeller(hold_ms=10**9, max_held=2, expect_calls=False)
    for event in lines:
        crowded.add(event)
    stats = FetchStats()
    assert crowded.crowded == len(lines) - 2 and crowded.unclaimed == 0
    say_unlabelled(crowded, stats, 0)
    assert stats.take_notices() == [
        f"{len(lines) - 2} lines were printed without a request: 2 lines waited for theirs at "
        "once, the most the hold-back keeps"
    ]
