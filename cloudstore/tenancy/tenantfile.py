"""Tenant definition files (TOML): a brand's whole set-up in one file, applied idempotently.

``cloudstore tenants apply tenants/<name>.toml`` creates what is missing and updates what differs, matching
everything by its business key; applying the same file again changes nothing. Each section is applied by
its own domain's service, in dependency order, all in one transaction. This module reads the file, creates
the tenant and applies the policies; the other domains' appliers are handed in, in order, by
:mod:`cloudstore.wiring`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec
from sqlalchemy import text

from cloudstore.lib.db import Database, set_tenant
from cloudstore.tenancy.schemas import (
    AttributionPolicyDoc,
    CommissionPolicyDoc,
    OrderPolicyDoc,
    RoutingPolicyDoc,
    Slug,
)

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from cloudstore.lib.settings import Settings

__all__ = (
    "ApplyReport",
    "SectionApplier",
    "StaffEntry",
    "TenantFile",
    "apply_file",
    "apply_policies",
    "apply_tenant_file",
)


class PoliciesSection(msgspec.Struct, forbid_unknown_fields=True):
    """Policies; a missing one keeps its defaults."""

    routing: RoutingPolicyDoc | None = None
    attribution: AttributionPolicyDoc | None = None
    commission: CommissionPolicyDoc | None = None
    orders: OrderPolicyDoc | None = None


class StaffEntry(msgspec.Struct, forbid_unknown_fields=True):
    """A staff account (auth's section applies these); its password is set only when the account is created."""

    username: str
    password: str
    role: str
    store: str | None = None
    distributor: str | None = None


class TenantFile(msgspec.Struct, forbid_unknown_fields=True):
    """The file format. Sections other than ``tenant`` and ``policies`` belong to their domains."""

    slug: Slug
    name: str
    admin: StaffEntry
    policies: PoliciesSection = msgspec.field(default_factory=PoliciesSection)
    distributors: list[dict[str, Any]] = msgspec.field(default_factory=list)
    locations: list[dict[str, Any]] = msgspec.field(default_factory=list)
    stores: list[dict[str, Any]] = msgspec.field(default_factory=list)
    products: list[dict[str, Any]] = msgspec.field(default_factory=list)
    stock: list[dict[str, Any]] = msgspec.field(default_factory=list)
    staff: list[StaffEntry] = msgspec.field(default_factory=list)
    kocs: list[dict[str, Any]] = msgspec.field(default_factory=list)
    pricing: dict[str, Any] = msgspec.field(default_factory=dict)
    codes: list[dict[str, Any]] = msgspec.field(default_factory=list)


class ApplyReport(msgspec.Struct):
    """What applying a file did, per section: created, updated, unchanged."""

    tenant: str
    counts: dict[str, dict[str, int]] = msgspec.field(default_factory=dict)

    def count(self, section: str, outcome: str, n: int = 1) -> None:
        """Record ``n`` objects of ``section`` with ``outcome`` (created, updated, unchanged)."""
        bucket = self.counts.setdefault(section, {"created": 0, "updated": 0, "unchanged": 0})
        bucket[outcome] = bucket.get(outcome, 0) + n

    @property
    def created_tenant(self) -> bool:
        """Whether this file created its tenant (rather than finding it)."""
        return self.counts.get("tenant", {}).get("created", 0) > 0

    @property
    def changed(self) -> int:
        """How many objects were created or updated."""
        return sum(c.get("created", 0) + c.get("updated", 0) for c in self.counts.values())

    def summary(self) -> str:
        """One line per section."""
        lines = [f"tenant {self.tenant}: {self.changed} change(s)"]
        for section, c in self.counts.items():
            lines.append(f"  {section}: {c['created']} created, {c['updated']} updated, {c['unchanged']} unchanged")
        return "\n".join(lines)


#: ``applier(session, tenant_id, doc, report, settings)``: one domain's part of a file.
SectionApplier = Callable[["AsyncSession", int, "TenantFile", ApplyReport, "Settings"], Awaitable[None]]


async def _ensure_tenant(session: AsyncSession, doc: TenantFile, report: ApplyReport) -> int:
    row = (await session.execute(text("SELECT id, name FROM tenants WHERE slug = :s"), {"s": doc.slug})).first()
    if row is None:
        from cloudstore.tenancy.service import TenantService

        await TenantService(session).create(slug=doc.slug, name=doc.name)
        report.count("tenant", "created")
        tenant_id = (
            await session.execute(text("SELECT id FROM tenants WHERE slug = :s"), {"s": doc.slug})
        ).scalar_one()
        await set_tenant(session, tenant_id)
        return int(tenant_id)
    tenant_id = int(row.id)
    if row.name != doc.name:
        await session.execute(text("UPDATE tenants SET name = :n WHERE id = :i"), {"n": doc.name, "i": tenant_id})
        report.count("tenant", "updated")
    else:
        report.count("tenant", "unchanged")
    await set_tenant(session, tenant_id)
    return tenant_id


async def apply_policies(
    session: AsyncSession, tenant_id: int, doc: TenantFile, report: ApplyReport, settings: Settings
) -> None:
    """Set the policies the file names; one already as written is left alone."""
    from cloudstore.tenancy.service import TenantService, load_policies

    current = await load_policies(session, tenant_id)
    service = TenantService(session)
    for kind in ("routing", "attribution", "commission", "orders"):
        wanted = getattr(doc.policies, kind)
        if wanted is None:
            continue
        if msgspec.to_builtins(wanted) == msgspec.to_builtins(getattr(current, kind)):
            report.count("policies", "unchanged")
        else:
            await service.set_policy(tenant_id, kind, wanted)
            report.count("policies", "updated")
    del settings


async def apply_tenant_file(
    session: AsyncSession, doc: TenantFile, settings: Settings, sections: Sequence[SectionApplier]
) -> ApplyReport:
    """Apply a parsed file in the caller's transaction: find or create its tenant, then each of ``sections`` in turn."""
    report = ApplyReport(tenant=doc.slug)
    tenant_id = await _ensure_tenant(session, doc, report)
    for applier in sections:
        await applier(session, tenant_id, doc, report, settings)
    return report


def parse_file(path: Path) -> TenantFile:
    """Read and validate a tenant file; errors name the offending field."""
    return msgspec.toml.decode(path.read_bytes(), type=TenantFile)


async def apply_file(
    database_url: str, path: Path, settings: Settings, sections: Sequence[SectionApplier]
) -> ApplyReport:
    """Apply ``path`` with ``sections`` to the database at ``database_url`` in one transaction, as the runtime role."""
    doc = parse_file(path)
    db = Database(database_url, pool_size=1, max_overflow=0)
    try:
        async with db.sessions() as session, session.begin():
            return await apply_tenant_file(session, doc, settings, sections)
    finally:
        await db.dispose()
