"""Rows as the recorders append them (simulator.metrics.recorder, .streaming): packed rows of
an ``array("d")``, every value as the float it is, in field order."""

from __future__ import annotations

import struct

import pytest

from simulator.core.request import REJECTED, UNFINISHED
from simulator.metrics.recorder import Recorder, packer
from simulator.metrics.streaming import StreamingRecorder


def _rows(column, width: int) -> list[list[float]]:
    values = column.tolist()
    return [values[i:i + width] for i in range(0, len(values), width)]


@pytest.mark.parametrize("recorder", [Recorder(), StreamingRecorder(0.0, 100.0, 1.0)], ids=["full", "summary"])
def test_spans_requests_and_tallies_are_recorded_value_for_value(recorder):
    log = recorder.span_log("api", "service", 4, ["get", "put"])
    log.add(1.25, 1.5, 2.75, 3.0, REJECTED, 1)  # done: the release
    log.add(0.1, 0.2, 0.3, 0.4, 0, 0, 0.35)
    log.add_unfinished(7.0, 8.0, 9.5)
    recorder.request_done(0.5, 2.0, REJECTED, 2, 1)
    count = log.counter("hits")
    count(4.5)
    count(6.0)
    assert _rows(log.rows, 7) == [[1.25, 1.5, 2.75, 3.0, 3.0, 1.0, 2.75], [0.1, 0.2, 0.3, 0.4, 0.0, 0.0, 0.35],
                                  [7.0, 8.0, 9.5, 9.5, float(UNFINISHED), 0.0, 9.5]]
    assert _rows(recorder.requests, 5) == [[0.5, 2.0, 3.0, 2.0, 1.0]]
    assert _rows(log.tallies, 2) == [[4.5, 0.0], [6.0, 0.0]]


def test_a_row_of_the_wrong_length_is_refused():
    with pytest.raises(struct.error):
        packer(3)(1.0, 2.0)
