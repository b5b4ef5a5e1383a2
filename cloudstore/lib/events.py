"""In-transaction domain events: an emitter publishes, the subscribers it was wired with run in its transaction.

The subscribers are handed in once, at start-up (see :mod:`cloudstore.wiring`), as an :class:`EventBus`
attached to the process's session factory; :func:`publish` finds the bus on the session it is given. So an
emitter needs nothing but its session, and nothing is registered by importing a module. Subscribers run in
the caller's transaction, so a change and its consequences commit together; they must not commit and must
not do network I/O.

A subscriber on a hot path may instead return what it writes as statement parts
(:class:`~cloudstore.lib.db.Part`, wired as ``parts``): the emitter asks for them with :func:`parts_of` before
its own write and sends them in that write's statement, so reacting to the event costs no round trip.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from cloudstore.lib.db import Part

__all__ = ("EventBus", "PartsSubscriber", "Subscriber", "attach", "parts_of", "publish")

Subscriber = Callable[["AsyncSession", Any], Awaitable[None]]
PartsSubscriber = Callable[[Any], "Sequence[Part]"]
_BUS = "cloudstore.events"


class EventBus:
    """Which subscribers run, in order, for each type of event."""

    def __init__(
        self,
        subscribers: Mapping[type, Sequence[Subscriber]],
        parts: Mapping[type, Sequence[PartsSubscriber]] | None = None,
    ) -> None:
        self._subscribers = {kind: tuple(fns) for kind, fns in subscribers.items()}
        self._parts = {kind: tuple(fns) for kind, fns in (parts or {}).items()}

    def subscribers(self, kind: type) -> tuple[Subscriber, ...]:
        """The subscribers of events of type ``kind`` (none: an empty tuple)."""
        return self._subscribers.get(kind, ())

    async def publish(self, session: AsyncSession, event: object) -> None:
        """Run every subscriber of ``event`` in the caller's transaction."""
        for fn in self.subscribers(type(event)):
            await fn(session, event)

    def parts(self, event: object) -> list[Part]:
        """What the parts subscribers of ``event`` write, in order, as parts of the emitter's statement."""
        return [part for fn in self._parts.get(type(event), ()) for part in fn(event)]


def attach(sessions: async_sessionmaker[AsyncSession], bus: EventBus) -> None:
    """Make every session ``sessions`` opens from now on publish through ``bus``."""
    sessions.configure(info={_BUS: bus})


def _bus(session: AsyncSession) -> EventBus:
    bus = session.info.get(_BUS)
    if not isinstance(bus, EventBus):
        raise RuntimeError("this session has no event bus: attach one to its session factory at start-up")
    return bus


async def publish(session: AsyncSession, event: object) -> None:
    """Run every subscriber of ``event`` in the caller's transaction.

    Raises:
        RuntimeError: the session's factory was never given a bus (a wiring mistake, not a runtime state).
    """
    await _bus(session).publish(session, event)


def parts_of(session: AsyncSession, event: object) -> list[Part]:
    """The statement parts the parts subscribers of ``event`` write: the emitter sends them in its own write.

    An event published this way is not also :func:`publish`-ed; the emitter does one or the other.

    Raises:
        RuntimeError: the session's factory was never given a bus.
    """
    return _bus(session).parts(event)
