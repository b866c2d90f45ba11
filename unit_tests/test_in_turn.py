"""Readings run side by side and are handed over one after another (source_pendo.in_turn)."""

from __future__ import annotations

import threading

import pytest

from source_pendo.in_turn import BATCH_SIZE, ITEMS_BUFFERED, in_turn

WAIT = 5.0


def never_ends_batch(item):
    return False


def numbers(first, count):
    return lambda: iter(range(first, first + count))


def test_every_item_of_one_reading_comes_before_the_next_readings_in_their_order():
    readings = [numbers(0, 3 * BATCH_SIZE + 7), numbers(10_000, 5), numbers(20_000, BATCH_SIZE)]
    got = list(in_turn(readings, ahead=2, ends_batch=never_ends_batch))
    assert got == [*range(0, 3 * BATCH_SIZE + 7), *range(10_000, 10_005), *range(20_000, 20_000 + BATCH_SIZE)]


def test_a_later_reading_runs_while_the_first_is_still_being_read():
    second_started = threading.Event()

    def first():
        yield "first waits for the second"
        yield "second started" if second_started.wait(WAIT) else "second never started"

    def second():
        second_started.set()
        yield "second"

    assert list(in_turn([first, second], ahead=1, ends_batch=lambda item: True)) == [
        "first waits for the second",
        "second started",
        "second",
    ]


def test_no_more_than_ahead_readings_run_beyond_the_one_handed_over():
    started = {index: threading.Event() for index in range(5)}
    seen_by_the_first = []

    def reading(index):
        def read():
            started[index].set()
            if index == 0:
                # Readings 3 and 4 cannot start before this one's items are all handed over.
                both_ahead = started[1].wait(WAIT) and started[2].wait(WAIT)
                seen_by_the_first.extend(i for i, event in started.items() if event.is_set())
                assert both_ahead
            yield index

        return read

    assert list(in_turn([reading(i) for i in range(5)], ahead=2, ends_batch=lambda item: True)) == [0, 1, 2, 3, 4]
    assert seen_by_the_first == [0, 1, 2]


def test_a_reading_ahead_holds_up_to_its_item_bound_however_small_its_batches():
    """A reading ahead that ends a batch after every item (a checkpoint per window without rows)
    reads on until it holds ITEMS_BUFFERED items, and makes no more before its turn."""
    first_may_end = threading.Event()
    bound_reached = threading.Event()
    beyond_bound = threading.Event()

    def first():
        yield "first"
        first_may_end.wait(WAIT)

    def second():
        for index in range(ITEMS_BUFFERED + 50):
            if index == ITEMS_BUFFERED:
                bound_reached.set()  # ITEMS_BUFFERED items handed over; this one waits for room
            if index == ITEMS_BUFFERED + 1:
                beyond_bound.set()
            yield index

    items = in_turn([first, second], ahead=1, ends_batch=lambda item: True)
    assert next(items) == "first"
    assert bound_reached.wait(WAIT), "the reading ahead stopped before holding ITEMS_BUFFERED items"
    assert not beyond_bound.is_set()
    first_may_end.set()
    assert list(items) == list(range(ITEMS_BUFFERED + 50))


def test_a_readings_error_is_raised_in_its_turn_after_the_items_before_it():
    def failing():
        yield "before"
        raise ValueError("broken")

    items = in_turn([numbers(0, 2), failing, numbers(5, 1)], ahead=2, ends_batch=never_ends_batch)
    got = []
    with pytest.raises(ValueError, match="broken"):
        for item in items:
            got.append(item)
    assert got == [0, 1, "before"]


def test_readings_ahead_stop_when_their_items_are_no_longer_wanted():
    stopped = threading.Event()

    def endless():
        try:
            while True:
                yield 1
        finally:
            stopped.set()

    items = in_turn([numbers(0, 1), endless], ahead=1, ends_batch=never_ends_batch)
    assert next(items) == 0
    items.close()
    assert stopped.wait(WAIT), "the reading ahead kept running after the consumer stopped"


@pytest.mark.parametrize("readings, ahead", [(1, 3), (3, 0)])
def test_one_reading_or_none_ahead_is_read_in_the_calling_thread(readings, ahead):
    def reading():
        yield threading.current_thread()

    assert set(in_turn([reading] * readings, ahead, ends_batch=never_ends_batch)) == {threading.current_thread()}
