"""Structured logs: one JSON object a line, carrying the delivery, repository and PR."""

from __future__ import annotations

import json
import logging

from app.server.logs import JsonFormatter, log_context


def test_every_line_is_json_with_its_context() -> None:
    record = logging.LogRecord(
        "app.server.http", logging.INFO, __file__, 1, "job %s queued", (7,), None
    )
    with log_context(delivery_id="d-1", repository="o/r"), log_context(pr=3):
        line = JsonFormatter().format(record)
    entry = json.loads(line)
    assert entry["message"] == "job 7 queued"
    assert (entry["delivery_id"], entry["repository"], entry["pr"]) == ("d-1", "o/r", 3)
    outside = json.loads(JsonFormatter().format(record))
    assert "delivery_id" not in outside
