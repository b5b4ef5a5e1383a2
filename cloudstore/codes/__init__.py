"""One item, one code: unit and case codes, their batches, shipments to the store network, and scans."""
