"""Bulk APIs for tests, as tests.apiserver responders: each takes many records a request
and answers as the real one does (Salesforce sObject Collections, HubSpot batch with
multi-status, Elasticsearch _bulk, a strict array endpoint that refuses the whole).

A record is bad when its Email has no "@"; a test may also name rows whose items are
answered 429 the first time (`throttle_once`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from .apiserver import Received, Reply


def bad(record: dict[str, Any]) -> bool:
    return "@" not in str(record.get("Email", "@"))


@dataclass
class BulkApi:
    style: str
    throttle_once: set[str] = field(default_factory=set)
    """Order ids whose items are answered 429 the first time they come."""
    requests: int = 0
    batch_sizes: list[int] = field(default_factory=list)
    seen: dict[str, int] = field(default_factory=dict)
    """Order id -> times it was sent."""

    def __call__(self, received: Received) -> Reply:
        self.requests += 1
        answer: Reply = getattr(self, f"_{self.style}")(received)
        return answer

    def _count(self, records: list[dict[str, Any]]) -> None:
        self.batch_sizes.append(len(records))
        for record in records:
            order = str(record.get("Order"))
            self.seen[order] = self.seen.get(order, 0) + 1

    def _throttled(self, record: dict[str, Any]) -> bool:
        order = str(record.get("Order"))
        if order in self.throttle_once:
            self.throttle_once.discard(order)
            return True
        return False

    def _salesforce(self, received: Received) -> Reply:
        body = received.json
        assert body["allOrNone"] is False
        records = body["records"]
        self._count(records)
        results: list[dict[str, Any]] = []
        for record in records:
            if bad(record):
                error = {
                    "statusCode": "INVALID_EMAIL_ADDRESS",
                    "message": f"Email: invalid email address: {record['Email']}",
                    "fields": ["Email"],
                }
                results.append({"id": None, "success": False, "errors": [error]})
            else:
                results.append({"id": f"001{record['Order']}", "success": True, "errors": []})
        return Reply(200, results)

    def _hubspot(self, received: Received) -> Reply:
        inputs = received.json["inputs"]
        self._count(inputs)
        if any("objectWriteTraceId" not in i for i in inputs) and any(map(bad, inputs)):
            return Reply(400, {"status": "error", "message": "Property values were not valid"})
        results: list[dict[str, Any]] = []
        errors: list[dict[str, Any]] = []
        for item in inputs:
            trace = item["objectWriteTraceId"]
            if bad(item):
                errors.append(
                    {
                        "status": "error",
                        "category": "VALIDATION_ERROR",
                        "message": f"Property values were not valid: email {item['Email']}",
                        "context": {"objectWriteTraceId": [trace]},
                    }
                )
            else:
                results.append({"id": f"hs-{item['Order']}", "objectWriteTraceId": trace})
        answer: dict[str, Any] = {"status": "COMPLETE", "results": results}
        if errors:
            answer |= {"numErrors": len(errors), "errors": errors}
        return Reply(207 if errors else 201, answer)

    def _elasticsearch(self, received: Received) -> Reply:
        assert received.headers["Content-Type"] == "application/x-ndjson"
        assert received.body.endswith(b"\n")
        lines = received.body.decode().splitlines()
        actions = [json.loads(line) for line in lines[0::2]]
        documents = [json.loads(line) for line in lines[1::2]]
        self._count(documents)
        items = []
        for action, document in zip(actions, documents, strict=True):
            meta = action["index"]
            if self._throttled(document):
                result = {
                    "status": 429,
                    "error": {
                        "type": "es_rejected_execution_exception",
                        "reason": "rejected execution of coordinating operation",
                    },
                }
            elif bad(document):
                result = {
                    "status": 400,
                    "error": {
                        "type": "mapper_parsing_exception",
                        "reason": f"failed to parse field [Email]: {document['Email']}",
                    },
                }
            else:
                result = {"_id": meta.get("_id", "auto"), "status": 201, "result": "created"}
            items.append({"index": {"_index": meta.get("_index", "x"), **result}})
        errors = any(item["index"]["status"] >= 300 for item in items)
        return Reply(200, {"took": 3, "errors": errors, "items": items})

    def _array(self, received: Received) -> Reply:
        records = received.json
        assert isinstance(records, list)
        self._count(records)
        if any(map(bad, records)):
            return Reply(422, {"message": "The batch has invalid records"})
        return Reply(201, [{"id": f"a-{record['Order']}"} for record in records])
