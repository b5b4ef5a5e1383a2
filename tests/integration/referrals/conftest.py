"""Fixtures shared by the referral suites."""

from __future__ import annotations

import pytest
from litestar import Litestar

from tests.integration.referrals.helpers import Net, seed_net
from tests.support import Api, TenantHandle


@pytest.fixture
async def net(api: Api, app: Litestar, tenant: TenantHandle) -> Net:
    """The referral store network (distributors DA and DB, stores SA and SB, their staff tokens)."""
    return await seed_net(api, app, tenant)
