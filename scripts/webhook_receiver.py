#!/usr/bin/env python3
"""An example warehouse receiver: verifies cloudstore webhook deliveries and prints each event.

    WEBHOOK_SECRET=whsec_... scripts/webhook_receiver.py [--port 9000]

Register it with ``POST /v1/hq/webhooks {"url": "http://127.0.0.1:9000/hooks", "events": ["order.paid", ...]}``
(outside prod a loopback URL is accepted). A bad signature is answered 401, a repeated ``webhook-id`` 200
without acting again (deliveries are at least once), anything else 204.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

try:
    from standardwebhooks import Webhook, WebhookVerificationError
except ImportError:  # pragma: no cover - run from the project's .venv, or pip install standardwebhooks
    sys.exit("needs the standardwebhooks package: .venv/bin/python scripts/webhook_receiver.py")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=9000)
    parser.add_argument("--secret", default=os.environ.get("WEBHOOK_SECRET"), help="default: $WEBHOOK_SECRET")
    args = parser.parse_args()
    if not args.secret:
        sys.exit("the endpoint's secret (whsec_...) is needed: --secret or WEBHOOK_SECRET")
    verifier = Webhook(args.secret)
    seen: set[str] = set()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            try:
                event = verifier.verify(body, dict(self.headers.items()))
            except WebhookVerificationError as exc:
                print(f"refused: {exc}", file=sys.stderr)
                self._answer(401)
                return
            message_id = self.headers["webhook-id"]
            if message_id in seen:
                self._answer(200)
                return
            seen.add(message_id)
            # A real WMS would act here: on order.paid fetch GET /v1/hq/orders/{order_no} with its API key and
            # start picking; on shipping, POST /v1/hq/fulfilments/{id}/ship {"carrier","tracking_no"}.
            print(json.dumps({"id": message_id, **event}, ensure_ascii=False), flush=True)
            self._answer(204)

        def _answer(self, status: int) -> None:
            self.send_response(status)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            del format, args

    print(f"listening on http://127.0.0.1:{args.port}/hooks", file=sys.stderr)
    ThreadingHTTPServer(("127.0.0.1", args.port), Handler).serve_forever()


if __name__ == "__main__":
    main()
