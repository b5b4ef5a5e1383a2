"""Referral routes: stores' KOCs, consumers' touches and earnings, HQ's ledger and settlements."""

from __future__ import annotations

from typing import TYPE_CHECKING

from litestar import Controller, get, patch, post
from litestar.di import Provide
from litestar.params import FromPath, FromQuery, JSONBody

from cloudstore.auth.guards import Caller, require_consumer, require_staff
from cloudstore.http.deps import DbSession, Limit, Shop, provide_shop_tenant
from cloudstore.http.problems import problems
from cloudstore.lib.errors import Forbidden
from cloudstore.lib.paging import check_limit
from cloudstore.referrals.schemas import (
    BeneficiaryKind,
    BindingRead,
    Earnings,
    EntryStatus,
    KocCreate,
    KocPage,
    KocRead,
    KocUpdate,
    LedgerPage,
    SettlementCreate,
    SettlementPage,
    SettlementRead,
    TouchCreate,
    TouchResult,
)
from cloudstore.referrals.service import KocService, LedgerService, TouchService

if TYPE_CHECKING:
    from litestar.datastructures import State

    from cloudstore.auth.tokens import Principal

__all__ = (
    "DistributorEarningsController",
    "KocController",
    "LedgerController",
    "ShopReferralController",
    "StoreEarningsController",
)


def _store_id(principal: Principal) -> int:
    if principal.store_id is None:
        raise Forbidden("this token is not bound to a store")
    return principal.store_id


class KocController(Controller):
    """Store staff register their KOCs and see what each brought."""

    path = "/v1/store/kocs"
    tags = ["store"]
    dependencies = {"principal": Provide(require_staff("store"))}

    @post("/", responses=problems(401, 403, 409, 422), summary="Register a KOC")
    async def create(self, data: JSONBody[KocCreate], principal: Caller, state: State, db: DbSession) -> KocRead:
        """A KOC of the caller's store with a fresh code, its share link and QR code route.

        ``consumer_id`` links the KOC to a consumer account of this tenant (so they can see their earnings);
        an unknown consumer is a 422, one who is already a KOC a 409.
        """
        return await KocService(db, state.settings).create(
            principal.tenant_id, principal.tenant, _store_id(principal), data
        )

    @get("/", responses=problems(401, 403, 422), summary="List the store's KOCs")
    async def list_kocs(
        self,
        principal: Caller,
        state: State,
        db: DbSession,
        limit: Limit = None,
        cursor: FromQuery[str | None] = None,
    ) -> KocPage:
        """The store's KOCs, oldest first, each with touches, paid orders, net sales and net earnings (fen)."""
        return await KocService(db, state.settings).list(
            principal.tenant_id, principal.tenant, _store_id(principal), cursor=cursor, limit=check_limit(limit)
        )

    @get("/{code:str}", responses=problems(401, 403, 404), summary="Read one of the store's KOCs")
    async def read(self, code: FromPath[str], principal: Caller, state: State, db: DbSession) -> KocRead:
        """One KOC of this store; another store's KOC is not found."""
        return await KocService(db, state.settings).get(
            principal.tenant_id, principal.tenant, _store_id(principal), code
        )

    @patch("/{code:str}", responses=problems(401, 403, 404, 422), summary="Update or deactivate a KOC")
    async def update(
        self, code: FromPath[str], data: JSONBody[KocUpdate], principal: Caller, state: State, db: DbSession
    ) -> KocRead:
        """Rename, change the phone, or set ``active``: an inactive KOC's links bind nobody and it earns nothing."""
        return await KocService(db, state.settings).update(
            principal.tenant_id, principal.tenant, _store_id(principal), code, data
        )


class StoreEarningsController(Controller):
    """A store's commission."""

    path = "/v1/store/earnings"
    tags = ["store"]
    dependencies = {"principal": Provide(require_staff("store"))}

    @get("/", responses=problems(401, 403, 422), summary="The store's commission balances and entries")
    async def earnings(
        self,
        principal: Caller,
        db: DbSession,
        limit: Limit = None,
        cursor: FromQuery[str | None] = None,
    ) -> Earnings:
        """Pending, available and settled balances, and the entries newest first (reversals negative)."""
        return await LedgerService(db).earnings(
            principal.tenant_id, "store", _store_id(principal), cursor=cursor, limit=check_limit(limit)
        )


class DistributorEarningsController(Controller):
    """A distributor's commission."""

    path = "/v1/distributor/earnings"
    tags = ["distributor"]
    dependencies = {"principal": Provide(require_staff("distributor"))}

    @get("/", responses=problems(401, 403, 422), summary="The distributor's commission balances and entries")
    async def earnings(
        self,
        principal: Caller,
        db: DbSession,
        limit: Limit = None,
        cursor: FromQuery[str | None] = None,
    ) -> Earnings:
        """Pending, available and settled balances, and the entries newest first (reversals negative)."""
        if principal.distributor_id is None:
            raise Forbidden("this token is not bound to a distributor")
        return await LedgerService(db).earnings(
            principal.tenant_id, "distributor", principal.distributor_id, cursor=cursor, limit=check_limit(limit)
        )


class ShopReferralController(Controller):
    """Consumers open share links and, when they are KOCs, see their earnings."""

    path = "/v1/shop/{tenant:str}"
    tags = ["shop"]
    dependencies = {"shop": Provide(provide_shop_tenant), "consumer": Provide(require_consumer)}

    @post("/touches", responses=problems(401, 404, 422), summary="Record opening a share link")
    async def touch(self, data: JSONBody[TouchCreate], shop: Shop, consumer: Caller, db: DbSession) -> TouchResult:
        """Record the touch and bind the consumer under the tenant's attribution policy.

        The answer says who the consumer is bound to and until when. A link carrying the consumer's own KOC
        code, or a KOC bound to the consumer's own code, is refused (``outcome`` ``self_referral`` or
        ``loop``): that KOC is not bound. An unknown store, or a KOC not of that store, is not found.
        """
        return await TouchService(db).touch(shop.id, consumer.subject_id, data)

    @get("/me/binding", responses=problems(401, 404), summary="The consumer's binding")
    async def binding(self, shop: Shop, consumer: Caller, db: DbSession) -> BindingRead:
        """The store and KOC the consumer is bound to, protection and validity; never bound is not found."""
        return await TouchService(db).binding(shop.id, consumer.subject_id)

    @get("/me/earnings", responses=problems(401, 404, 422), summary="A KOC consumer's earnings")
    async def earnings(
        self,
        shop: Shop,
        consumer: Caller,
        db: DbSession,
        limit: Limit = None,
        cursor: FromQuery[str | None] = None,
    ) -> Earnings:
        """For a consumer who is also a KOC: balances and entries. A consumer who is not a KOC is not found."""
        ledger = LedgerService(db)
        koc_id = await ledger.consumer_koc_id(shop.id, consumer.subject_id)
        return await ledger.earnings(shop.id, "koc", koc_id, cursor=cursor, limit=check_limit(limit))


class LedgerController(Controller):
    """HQ reads the commission ledger and settles it."""

    path = "/v1/hq"
    tags = ["hq"]
    dependencies = {"principal": Provide(require_staff("hq"))}

    @get("/ledger", responses=problems(401, 403, 404, 422), summary="The commission ledger")
    async def ledger(
        self,
        principal: Caller,
        db: DbSession,
        beneficiary_kind: FromQuery[BeneficiaryKind | None] = None,
        beneficiary: FromQuery[str | None] = None,
        order_no: FromQuery[str | None] = None,
        status: FromQuery[EntryStatus | None] = None,
        limit: Limit = None,
        cursor: FromQuery[str | None] = None,
    ) -> LedgerPage:
        """Entries newest first (a reversal's amount is negative) and the balances of everything filtered.

        ``beneficiary`` (a store, distributor or KOC code) needs ``beneficiary_kind``; ``status`` filters the
        entries, not the balances.
        """
        return await LedgerService(db).ledger(
            principal.tenant_id,
            kind=beneficiary_kind,
            beneficiary=beneficiary,
            order_no=order_no,
            status=status,
            cursor=cursor,
            limit=check_limit(limit),
        )

    @post("/settlements", responses=problems(401, 403, 404, 409, 422), summary="Settle available commission")
    async def settle(self, data: JSONBody[SettlementCreate], principal: Caller, db: DbSession) -> SettlementRead:
        """Move available entries to settled and record what is paid to whom.

        Entries net per beneficiary (reversals included). A beneficiary whose reversals outweigh its
        available commission is skipped and keeps its entries; naming it alone, or a run with nothing to
        settle, is a 409 ``invalid_state``.
        """
        return await LedgerService(db).settle(principal.tenant_id, data, actor=principal.actor)

    @get("/settlements", responses=problems(401, 403, 422), summary="List settlements")
    async def list_settlements(
        self,
        principal: Caller,
        db: DbSession,
        limit: Limit = None,
        cursor: FromQuery[str | None] = None,
    ) -> SettlementPage:
        """Settlements newest first, each with its payouts."""
        return await LedgerService(db).settlements(principal.tenant_id, cursor=cursor, limit=check_limit(limit))

    @get("/settlements/{settlement_no:str}", responses=problems(401, 403, 404), summary="Read a settlement")
    async def read_settlement(self, settlement_no: FromPath[str], principal: Caller, db: DbSession) -> SettlementRead:
        """One settlement and what it paid to whom."""
        return await LedgerService(db).settlement(principal.tenant_id, settlement_no)
