"""One item, one code: batches and their CSV, shipments, scans (authenticity, binding, reward), diversion, history."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from cloudstore.codes.format import new_code, new_codes, parse
from cloudstore.codes.service import batches
from tests.integration.codes.helpers import make_batch, rows, scan, ship
from tests.integration.network import Network, seed
from tests.support import consumer, problem

if TYPE_CHECKING:
    from litestar import Litestar

    from tests.support import Api, TenantHandle


async def _reward_coupon(api: Api, net: Network, code: str = "SCAN-GIFT") -> None:
    r = await api.post(
        "/v1/hq/coupons",
        token=net.tenant.hq_token,
        json={"code": code, "name": "扫码礼", "kind": "amount_off", "value": 500, "total": None, "per_consumer": 1},
    )
    assert r.status_code == 201, r.text
    r = await api.put(
        "/v1/hq/policies/codes",
        token=net.tenant.hq_token,
        json={"bind_on_scan": True, "reward": {"kind": "coupon", "coupon": code}},
    )
    assert r.status_code == 200, r.text


async def test_a_batch_is_generated_in_cases_and_listed_for_the_printer(
    app: Litestar, api: Api, network: Network
) -> None:
    batch = await make_batch(app, api, network, 30, 12)
    assert len(batch.cases) == 3
    assert len(batch.units) == 30
    assert [len(batch.units_of(c)) for c in batch.cases] == [12, 12, 6]
    assert len(set(batch.cases + batch.units)) == 33
    for line in batch.lines:
        assert parse(line["code"]) == (network.tenant_id, line["code"])
        assert line["url"].endswith(f"/c/{line['code']}")
    r = await api.get(f"/v1/hq/code-batches/{batch.batch_no}", token=network.tenant.hq_token)
    body = r.json()
    assert (body["units"], body["cases"], body["generated"], body["units_per_case"]) == (30, 3, 30, 12)

    r = await api.post("/v1/hq/code-batches", token=network.tenant.hq_token, json={"sku": "NOPE", "units": 3})
    problem(r, 404, "not_found")
    r = await api.post("/v1/hq/code-batches", token=network.tenant.hq_token, json={"sku": "TEA-1", "units": 0})
    problem(r, 422, "validation_failed")


async def test_a_case_ships_with_its_units_all_or_none_and_once(app: Litestar, api: Api, network: Network) -> None:
    batch = await make_batch(app, api, network, 24, 12)
    first, second = batch.cases
    r = await ship(api, network, [first], store=network.store)
    assert r.status_code == 201, r.text
    assert r.json()["units"] == 12
    r = await ship(api, network, [first], distributor="D-SZ")
    assert problem(r, 409, "code_not_shippable")["detail"].count(first) == 1
    # A unit of the shipped case is shipped too; a stranger code makes the whole shipment fail.
    r = await ship(api, network, [batch.units_of(first)[0]], store=network.other_store)
    assert batch.units_of(first)[0] in problem(r, 409, "code_not_shippable")["detail"]
    stranger = new_code(network.tenant_id)
    r = await ship(api, network, [second, stranger], store=network.store)
    assert stranger in problem(r, 409, "code_not_shippable")["detail"]
    r = await ship(api, network, [second, "not-a-code"], store=network.store)
    problem(r, 409, "code_not_shippable")
    shipped = await rows(
        app, network.tenant_id, "SELECT count(*) AS n FROM codes WHERE tenant_id = :t AND shipment_id IS NOT NULL"
    )
    assert shipped[0].n == 13  # the first case and its 12 units; nothing of the refused shipments
    r = await ship(api, network, [second], store=network.store, distributor="D-SZ")
    problem(r, 422, "validation_failed")
    r = await ship(api, network, [second], store="NOPE")
    problem(r, 422, "validation_failed")


async def test_a_scan_answers_genuine_counts_scanners_and_rewards_the_first(
    app: Litestar, api: Api, network: Network
) -> None:
    await _reward_coupon(api, network)
    batch = await make_batch(app, api, network, 12, 12)
    assert (await ship(api, network, batch.cases, store=network.store)).status_code == 201
    unit = batch.units[0]
    r = await scan(api, network, network.consumer_token, unit, region="440305")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["result"] == "genuine"
    assert (body["sku"], body["scans"], body["scanners"], body["first_scan"]) == ("TEA-1", 1, 1, True)
    assert body["product"]
    assert body["first_scanned_at"]
    assert (body["store"], body["binding"], body["diversion"]) == (network.store, network.store, False)
    assert body["reward"] == {"kind": "coupon", "coupon": "SCAN-GIFT"}
    mine = await api.get(f"/v1/shop/{network.tenant.slug}/me/coupons", token=network.consumer_token)
    assert [c["coupon"] for c in mine.json()["items"]] == ["SCAN-GIFT"]

    other, _ = await consumer(api, network.tenant, "second-scanner")
    body = (await scan(api, network, other, unit)).json()
    assert (body["scans"], body["scanners"], body["first_scan"], body.get("reward")) == (2, 2, False, None)
    assert body["first_scanned_at"] is not None
    body = (await scan(api, network, network.consumer_token, unit)).json()
    assert (body["scans"], body["scanners"], body.get("reward")) == (3, 2, None)
    touches = await rows(
        app,
        network.tenant_id,
        "SELECT source, outcome FROM touches WHERE tenant_id = :t AND consumer_id = :c",
        c=network.consumer_id,
    )
    assert [(t.source, t.outcome) for t in touches] == [("code", "new"), ("code", "same")]

    # An unshipped unit is genuine-looking but not distributed: no touch, no reward.
    lone = await make_batch(app, api, network, 1)
    body = (await scan(api, network, other, lone.units[0])).json()
    assert (body["result"], body["scans"], body.get("reward"), body.get("binding")) == (
        "not_distributed",
        1,
        None,
        None,
    )


async def test_unknown_and_malformed_codes_answer_alike(
    app: Litestar, api: Api, network: Network, other_tenant: TenantHandle
) -> None:
    other_tid = await seed(app, other_tenant.slug)
    r = await api.post("/v1/hq/code-batches", token=other_tenant.hq_token, json={"sku": "TEA-1", "units": 2})
    await app.state.worker.run_pending()
    theirs = (await rows(app, other_tid, "SELECT code FROM codes WHERE tenant_id = :t ORDER BY seq LIMIT 1"))[0].code
    good = new_code(network.tenant_id)
    mistyped = good[:-2] + good[-1] + good[-2] if good[-1] != good[-2] else good[:-1] + "0"
    answers = []
    for code in (good, mistyped, "hello", "", theirs, theirs.lower()):
        r = await scan(api, network, network.consumer_token, code)
        answers.append((r.status_code, r.json()))
    assert answers == [(200, {"result": "unknown", "scans": 0, "scanners": 0, "diversion": False})] * 6
    assert r.status_code == 200


async def test_scans_bind_under_first_touch_protection_and_last_touch(
    api: Api, app: Litestar, network: Network
) -> None:
    batch = await make_batch(app, api, network, 3)
    assert (await ship(api, network, batch.units, store=network.store)).status_code == 201
    # First touch: a protected binding to the other store holds.
    r = await api.post(
        f"/v1/shop/{network.tenant.slug}/touches", token=network.consumer_token, json={"store": network.other_store}
    )
    assert r.json()["bound_store"] == network.other_store
    body = (await scan(api, network, network.consumer_token, batch.units[0])).json()
    assert (body["store"], body["binding"]) == (network.store, network.other_store)
    touch = await rows(app, network.tenant_id, "SELECT outcome FROM touches WHERE tenant_id = :t AND source = 'code'")
    assert [t.outcome for t in touch] == ["protected"]
    # Last touch with no protection: the scan moves the consumer to the shipped-to store.
    r = await api.put(
        "/v1/hq/policies/attribution",
        token=network.tenant.hq_token,
        json={"model": "last_touch", "protection_days": 0, "binding_days": 30},
    )
    assert r.status_code == 200, r.text
    second, _ = await consumer(api, network.tenant, "last-toucher")
    await api.post(f"/v1/shop/{network.tenant.slug}/touches", token=second, json={"store": network.other_store})
    body = (await scan(api, network, second, batch.units[1])).json()
    assert body["binding"] == network.store
    r = await api.get(f"/v1/shop/{network.tenant.slug}/me/binding", token=second)
    assert r.json()["store"] == network.store
    # A policy that does not bind on scan records the touch and leaves the binding.
    r = await api.put("/v1/hq/policies/codes", token=network.tenant.hq_token, json={"bind_on_scan": False})
    assert r.json() == {"bind_on_scan": False, "reward": None}
    third, _ = await consumer(api, network.tenant, "not-bound")
    body = (await scan(api, network, third, batch.units[2])).json()
    assert body["result"] == "genuine"
    assert "binding" not in body
    r = await api.get(f"/v1/shop/{network.tenant.slug}/me/binding", token=third)
    problem(r, 404, "not_found")
    r = await api.put(
        "/v1/hq/policies/codes",
        token=network.tenant.hq_token,
        json={"bind_on_scan": True, "reward": {"kind": "coupon", "coupon": "NOPE"}},
    )
    problem(r, 404, "not_found")


async def test_diversion_is_signalled_graded_and_sent_as_a_webhook(app: Litestar, api: Api, network: Network) -> None:
    r = await api.post(
        "/v1/hq/webhooks",
        token=network.tenant.hq_token,
        json={"url": "http://127.0.0.1:9/hook", "events": ["code.diversion"]},
    )
    assert r.status_code == 201, r.text
    batch = await make_batch(app, api, network, 12, 6)
    assert (await ship(api, network, batch.cases, distributor="D-SZ")).status_code == 201  # D-SZ serves 4403
    body = (await scan(api, network, network.consumer_token, batch.units[0], region="440305")).json()
    assert (body["result"], body["diversion"]) == ("genuine", False)
    body = (await scan(api, network, network.consumer_token, batch.units[1], region="440106")).json()
    assert body["diversion"] is True
    assert "store" not in body
    r = await api.get("/v1/hq/codes/diversion", token=network.tenant.hq_token)
    [signal] = r.json()["items"]
    assert (signal["distributor"], signal["region"], signal["grade"], signal["consumers"]) == (
        "D-SZ",
        "440106",
        "low",
        1,
    )
    assert signal["batch_no"] == batch.batch_no
    assert signal["codes"] == [batch.units[1]]
    for i, name in enumerate(("guangzhou-1", "guangzhou-2")):
        token, _ = await consumer(api, network.tenant, name)
        await scan(api, network, token, batch.units[2 + i], region="440106")
    [signal] = (await api.get("/v1/hq/codes/diversion?distributor=D-SZ", token=network.tenant.hq_token)).json()["items"]
    assert (signal["grade"], signal["consumers"], signal["scans"]) == ("high", 3, 3)
    r = await api.get("/v1/hq/codes/diversion?distributor=D-NONE", token=network.tenant.hq_token)
    assert r.json()["items"] == []
    r = await api.get("/v1/hq/codes/diversion?since=2999-01-01T00:00:00Z", token=network.tenant.hq_token)
    assert r.json()["items"] == []
    sent = await rows(
        app, network.tenant_id, "SELECT body FROM webhook_deliveries WHERE tenant_id = :t AND event = 'code.diversion'"
    )
    assert len(sent) == 3
    assert all('"distributor":"D-SZ"' in d.body for d in sent)
    # The scan is never refused: the unit still answers genuine.
    body = (await scan(api, network, network.consumer_token, batch.units[1], region="440106")).json()
    assert body["result"] == "genuine"
    assert body["scans"] == 2


async def test_a_codes_history_and_isolation(
    app: Litestar, api: Api, network: Network, other_tenant: TenantHandle
) -> None:
    batch = await make_batch(app, api, network, 6, 6)
    r = await ship(api, network, batch.cases, store=network.store)
    shipment_no = r.json()["shipment_no"]
    unit = batch.units[0]
    await scan(api, network, network.consumer_token, unit, region="440305")
    r = await api.get(f"/v1/hq/codes/{unit}", token=network.tenant.hq_token)
    body = r.json()
    assert (body["batch_no"], body["case"], body["shipment_no"], body["store"]) == (
        batch.batch_no,
        batch.cases[0],
        shipment_no,
        network.store,
    )
    assert [(h["consumer_id"], h["region"]) for h in body["history"]] == [(network.consumer_id, "440305")]
    # Another tenant sees none of it.
    await seed(app, other_tenant.slug)
    problem(await api.get(f"/v1/hq/codes/{unit}", token=other_tenant.hq_token), 404, "not_found")
    problem(await api.get(f"/v1/hq/code-batches/{batch.batch_no}", token=other_tenant.hq_token), 404, "not_found")
    r = await api.get(f"/v1/hq/code-batches/{batch.batch_no}/codes.csv", token=other_tenant.hq_token)
    problem(r, 404, "not_found")
    r = await api.post(
        "/v1/hq/code-shipments", token=other_tenant.hq_token, json={"codes": [unit], "store": "SZ-NS-01"}
    )
    problem(r, 409, "code_not_shippable")
    their_consumer, _ = await consumer(api, other_tenant, "nosy")
    r = await api.post(f"/v1/shop/{other_tenant.slug}/scans", token=their_consumer, json={"code": unit})
    assert r.json() == {"result": "unknown", "scans": 0, "scanners": 0, "diversion": False}
    r = await api.get("/v1/hq/codes/diversion", token=other_tenant.hq_token)
    assert r.json()["items"] == []
    problem(await api.get("/v1/hq/codes/nope", token=network.tenant.hq_token), 404, "not_found")


async def test_a_warehouse_key_with_codes_write_ships(app: Litestar, api: Api, network: Network) -> None:
    batch = await make_batch(app, api, network, 2)
    r = await api.post(
        "/v1/hq/api-keys", token=network.tenant.hq_token, json={"name": "wms", "scopes": ["codes:write"]}
    )
    key = r.json()["key"]
    r = await ship(api, network, batch.units, store=network.store, token=key)
    assert r.status_code == 201, r.text
    problem(await api.get(f"/v1/hq/codes/{batch.units[0]}", token=key), 403, "forbidden")


async def test_the_printed_url_opens_a_page(app: Litestar, api: Api, network: Network) -> None:
    batch = await make_batch(app, api, network, 1)
    await ship(api, network, batch.units, store=network.store)
    r = await api.get(f"/c/{batch.units[0]}")
    assert r.status_code == 200
    assert "正品验证通过" in r.text
    assert "首次扫码" in r.text
    r = await api.get(f"/c/{batch.units[0]}")
    assert "首次扫码时间" in r.text
    assert "共被扫码 2 次" in r.text
    for miss in (new_code(network.tenant_id), "nonsense", "1-" + "0" * 17):
        r = await api.get(f"/c/{miss}")
        assert r.status_code == 200
        assert "未知的码" in r.text


async def test_a_drawn_code_that_collides_is_drawn_again_and_the_old_code_kept(
    app: Litestar, api: Api, network: Network, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = await make_batch(app, api, network, 6, 6)
    taken = first.units[0]
    draws: list[int] = []

    def colliding(tenant_id: int, n: int) -> list[str]:
        fresh = new_codes(tenant_id, n)
        draws.append(n)
        return [taken, *fresh[1:]] if len(draws) == 1 else fresh

    monkeypatch.setattr(batches, "new_codes", colliding)
    second = await make_batch(app, api, network, 4)
    # The chunk with the taken code was rolled back and drawn again in full: 4 fresh codes, none reused.
    assert draws == [4, 4]
    assert len(set(second.units)) == 4
    assert taken not in second.units
    owners = await rows(
        app,
        network.tenant_id,
        "SELECT b.batch_no, count(*) FROM codes c "
        "JOIN code_batches b ON b.tenant_id = c.tenant_id AND b.id = c.batch_id "
        "WHERE c.tenant_id = :t GROUP BY b.batch_no ORDER BY b.batch_no",
    )
    assert {batch_no: n for batch_no, n in owners} == {first.batch_no: 7, second.batch_no: 4}
    r = await api.get(f"/v1/hq/codes/{taken}", token=network.tenant.hq_token)
    assert r.json()["batch_no"] == first.batch_no
