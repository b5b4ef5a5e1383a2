"""Fixtures shared by the integration suites."""

from __future__ import annotations

import pytest
from litestar import Litestar

from tests.integration.network import Network, seed
from tests.support import Api, TenantHandle, consumer


@pytest.fixture
async def network(app: Litestar, api: Api, tenant: TenantHandle) -> Network:
    """A seeded store network (see ``tests.integration.network``) and a signed-in consumer."""
    tid = await seed(app, tenant.slug)
    token, cid = await consumer(api, tenant, "shopper")
    return Network(tenant=tenant, tenant_id=tid, consumer_token=token, consumer_id=cid)
