"""The pager alone: which rows of an answer are emitted, and where the read stands after it."""

from source_pendo.pager import START, Page, Position, after


def answer(*visitors, batch=2):
    """(rows, records) pairs as a body's reads bring them in; a record is (visitor, its n-th row)."""
    rows = [{"visitorId": visitor} for visitor in visitors]
    records = [(visitor, visitors[:index].count(visitor)) for index, visitor in enumerate(visitors)]
    return [(rows[i : i + batch], records[i : i + batch]) for i in range(0, len(rows), batch)]


def read(position, body, page_size, unique=False, buffer_rows=100):
    page = Page(position, lambda row: row["visitorId"], page_size, unique, buffer_rows)
    return list(page.read(body)), page.position


def test_a_short_page_is_the_last_and_emits_everything():
    emitted, position = read(START, answer("a", "a", "b"), page_size=5)
    assert emitted == [("a", 0), ("a", 1), ("b", 0)]
    assert position.done and position.after == "b"


def test_a_full_page_holds_back_its_last_group_and_reads_on_after_the_group_before():
    emitted, position = read(START, answer("a", "b", "b", "c", "c"), page_size=5)
    assert emitted == [("a", 0), ("b", 0), ("b", 1)]
    assert position == after("b") and position.query() == ((">", "b"), True)


def test_a_group_that_fills_a_page_is_asked_for_alone_then_reading_goes_on_after_it():
    emitted, position = read(after("a"), answer("b", "b", "b"), page_size=3)
    assert emitted == []
    assert position.query() == (("==", "b"), False)
    emitted, position = read(position, answer("b", "b", "b", "b"), page_size=3)
    assert [record for record, _ in emitted] == ["b"] * 4
    assert position == after("b")


def test_a_group_too_big_to_hold_is_asked_for_alone_from_where_it_starts():
    emitted, position = read(START, answer("a", "b", "b", "b", "b", "c", batch=1), page_size=50, buffer_rows=2)
    assert emitted == [("a", 0)]
    assert position.query() == (("==", "b"), False) and position.after == "b"


def test_an_answer_that_breaks_off_keeps_only_complete_groups():
    def broken():
        yield from answer("a", "b", "b")
        raise ConnectionError("reset")

    page = Page(START, lambda row: row["visitorId"], 10, unique=False)
    emitted = []
    try:
        for record in page.read(broken()):
            emitted.append(record)
    except ConnectionError:
        pass
    assert emitted == [("a", 0)] and page.position == after("a")


def test_a_whole_group_that_breaks_off_skips_what_it_emitted_when_asked_again():
    page = Page(Position("b", started=True, whole_group=True), lambda row: row["visitorId"], 2, unique=False)
    body = iter(answer("b", "b", "b", "b"))
    emitted = [record for _, record in zip(range(3), page.read(body))]
    assert len(emitted) == 3 and page.position.skip == 3
    emitted, position = read(page.position, answer("b", "b", "b", "b"), page_size=2)
    assert emitted == [("b", 3)] and position == after("b")


def test_unique_ids_need_no_holding_back():
    emitted, position = read(START, answer("a", "b", "c"), page_size=3, unique=True)
    assert emitted == [("a", 0), ("b", 0), ("c", 0)]
    assert position == after("c") and not position.done
    emitted, position = read(position, [], page_size=3, unique=True)
    assert emitted == [] and position.done
