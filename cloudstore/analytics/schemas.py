"""Report types."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

import msgspec

__all__ = (
    "AnalyticsPolicyDoc",
    "Cohort",
    "ConsumerInsight",
    "ConsumerPage",
    "DayFigures",
    "Funnel",
    "FunnelStep",
    "KocFigures",
    "KocLeaderboard",
    "Overview",
    "Recomputed",
    "SegmentCount",
    "Segments",
    "StockSuggestion",
    "StockSuggestions",
    "StoreProfile",
    "StoreSales",
    "StoreSalesReport",
)


class StoreSales(msgspec.Struct):
    """One store's online sales in the period, credited to it whoever shipped them."""

    store: str
    distributor: str | None
    orders: int
    net_sales: int  # what consumers paid for goods, less refunds (fen)
    in_store_sales: int  # goods this store shipped or handed over itself
    cloud_shelf_sales: int  # goods a warehouse shipped for this store's orders
    commission: int  # the store's commission booked on these orders, net of reversals


class StoreSalesReport(msgspec.Struct):
    """Sales per credited store for ``[since, until)``, largest first."""

    since: datetime
    until: datetime
    items: list[StoreSales]
    total_net_sales: int


# --- analysis models -------------------------------------------------------------------------------------------------

Thresholds = Annotated[list[Annotated[int, msgspec.Meta(ge=0)]], msgspec.Meta(min_length=4, max_length=4)]


class AnalyticsPolicyDoc(msgspec.Struct, forbid_unknown_fields=True):
    """``PUT /v1/hq/policies/analytics``: the RFM score thresholds and the lifecycle stages' days.

    Recency scores 5 within ``recency_days[0]`` days of the last paid order, 4 within ``[1]``, … 1 beyond
    ``[3]``; frequency and monetary score 1 plus how many of their thresholds the consumer reaches (paid orders;
    net goods in fen). A consumer is ``new`` within ``new_days`` of their first paid order (or first touch, with
    none) and at most one order, ``active`` within ``active_days`` of their last one, ``dormant`` within
    ``churn_days``, else ``churned``.
    """

    recency_days: Thresholds = msgspec.field(default_factory=lambda: [30, 60, 90, 180])
    frequency_orders: Thresholds = msgspec.field(default_factory=lambda: [2, 3, 5, 8])
    monetary_fen: Thresholds = msgspec.field(default_factory=lambda: [10000, 30000, 100000, 300000])
    new_days: Annotated[int, msgspec.Meta(ge=1, le=3650)] = 30
    active_days: Annotated[int, msgspec.Meta(ge=1, le=3650)] = 90
    churn_days: Annotated[int, msgspec.Meta(ge=1, le=3650)] = 180


class DayFigures(msgspec.Struct):
    """One UTC day of the overview."""

    date: date
    gmv: int
    orders: int


class Overview(msgspec.Struct):
    """``GET /v1/hq/analytics/overview``: the chain's online sales in ``[since, until)`` by payment time."""

    since: datetime
    until: datetime
    gmv: int  # Σ line paid (after discounts, without delivery fees) of the orders paid in the window
    refunds: int  # what was refunded of those orders' goods (refunds and returns)
    net_sales: int  # gmv - refunds
    orders: int
    aov: int  # gmv // orders (rounded down to the fen); 0 without orders
    paying_consumers: int  # distinct consumers who paid in the window
    bound_consumers: int  # consumers whose binding (active or lapsed) names a store
    in_store_sales: int  # of gmv, what the credited store's own location ships
    cloud_shelf_sales: int  # of gmv, what other locations (warehouses, other stores) ship
    by_day: list[DayFigures]


class StoreProfile(msgspec.Struct):
    """A store's profile (终端画像) for ``[since, until)``."""

    since: datetime
    until: datetime
    store: str
    gmv: int
    refunds: int
    net_sales: int
    orders: int
    aov: int
    in_store_sales: int
    cloud_shelf_sales: int
    touches: int  # links opened (and units scanned) for this store in the window
    new_bindings: int  # consumers whose current binding to this store began in the window
    bound_consumers: int  # consumers whose binding names this store now
    conversion: float  # of the consumers first touched at this store in the window, the share who paid an order
    repeat_rate: float  # of the consumers who paid this store in the window, the share who paid it twice or more
    refund_rate: float  # refunds / gmv
    commission: int  # the store's commission on these orders, net of reversals
    active_kocs: int  # the store's KOCs with a touch or a credited order in the window
    gmv_percentile: float  # the share (%) of the brand's stores whose GMV in the window is at most this store's


class FunnelStep(msgspec.Struct):
    """How many of the cohort reached a step."""

    step: str
    consumers: int


class Cohort(msgspec.Struct):
    """The funnel of the consumers first touched in one ISO week (starting Monday, UTC)."""

    week: date
    steps: list[FunnelStep]


class Funnel(msgspec.Struct):
    """AARRR of the consumers first touched in ``[since, until)``: touched, bound, first order, repeat, referred."""

    since: datetime
    until: datetime
    store: str | None
    koc: str | None
    steps: list[FunnelStep]
    cohorts: list[Cohort]


class SegmentCount(msgspec.Struct):
    """Consumers in one RFM segment or lifecycle stage."""

    name: str
    consumers: int


class Segments(msgspec.Struct):
    """``GET /v1/hq/analytics/segments``: counts as of the last recompute (``scored_at``)."""

    scored_at: datetime | None
    segments: list[SegmentCount]
    lifecycle: list[SegmentCount]


class ConsumerInsight(msgspec.Struct):
    """One consumer as the segments see them."""

    consumer_id: int
    bound_store: str | None
    recency_days: int | None
    orders: int
    net_goods: int
    segment: str | None
    lifecycle: str | None
    tags: list[str]


class ConsumerPage(msgspec.Struct):
    """A page of consumers, by id; ``next_cursor`` is null on the last page."""

    items: list[ConsumerInsight]
    next_cursor: str | None


class KocFigures(msgspec.Struct):
    """One KOC's line of the leaderboard."""

    koc: str
    store: str
    touches: int
    bindings: int
    orders: int
    sales: int  # what its credited orders paid for goods, less what was refunded of them
    commission: int


class KocLeaderboard(msgspec.Struct):
    """KOCs by sales in ``[since, until)``, most first."""

    since: datetime
    until: datetime
    items: list[KocFigures]


class StockSuggestion(msgspec.Struct):
    """A cloud-shelf SKU the store's consumers bought that another location shipped, with the evidence."""

    sku: str
    units: int
    orders: int
    consumers: int
    goods: int  # what those units were paid (fen)


class StockSuggestions(msgspec.Struct):
    """What the store should carry offline, most units first."""

    since: datetime
    until: datetime
    store: str
    items: list[StockSuggestion]


class Recomputed(msgspec.Struct):
    """``POST /v1/hq/analytics/recompute``: how many consumers were scored, and when."""

    consumers: int
    scored_at: datetime
