"""The code domain's services: batches and their generation, shipments, scans and HQ's reads."""

from __future__ import annotations

from cloudstore.codes.service.batches import GENERATE_JOB, BatchService, csv_lines, generate
from cloudstore.codes.service.scans import CodeReadService, ScanCount, policy_from, record_scan
from cloudstore.codes.service.shipments import CodeNotShippable, ShipmentService

__all__ = (
    "GENERATE_JOB",
    "BatchService",
    "CodeNotShippable",
    "CodeReadService",
    "ScanCount",
    "ShipmentService",
    "csv_lines",
    "generate",
    "policy_from",
    "record_scan",
)
