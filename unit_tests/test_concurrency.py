import threading

import pytest

from source_pendo.concurrency import ordered_map


def test_results_come_in_input_order_whatever_order_calls_finish_in():
    first_may_finish = threading.Event()

    def work(n):
        if n == 0:
            assert first_may_finish.wait(5), "the later calls never ran while the first was under way"
        if n == 3:
            first_may_finish.set()
        return n * 10

    assert list(ordered_map(work, range(8), workers=4)) == [0, 10, 20, 30, 40, 50, 60, 70]


def test_exactly_workers_calls_are_under_way_at_once():
    lock, in_flight, most = threading.Lock(), [0], [0]
    first_three_together = threading.Barrier(3, timeout=5)

    def work(n):
        with lock:
            in_flight[0] += 1
            most[0] = max(most[0], in_flight[0])
        if n < 3:
            first_three_together.wait()  # fails unless three calls run at once
        with lock:
            in_flight[0] -= 1
        return n

    assert list(ordered_map(work, range(20), workers=3)) == list(range(20))
    assert most[0] == 3


def test_an_error_surfaces_in_order():
    def work(n):
        if n == 2:
            raise ValueError("boom")
        return n

    results = ordered_map(work, range(5), workers=2)
    assert next(results) == 0 and next(results) == 1
    with pytest.raises(ValueError):
        next(results)


def test_no_workers_is_plain_map_in_this_thread():
    caller = threading.get_ident()
    assert list(ordered_map(lambda n: (n + 1, threading.get_ident()), [1, 2], workers=0)) == [(2, caller), (3, caller)]


def test_one_worker_calls_ahead_in_another_thread():
    caller = threading.get_ident()
    results = list(ordered_map(lambda n: (n + 1, threading.get_ident()), [1, 2], workers=1))
    assert [value for value, _ in results] == [2, 3] and all(thread != caller for _, thread in results)
