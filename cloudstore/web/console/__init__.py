"""The staff console at ``/console``: HQ, distributors and stores sign in and see what their role may see.

Pages are server-rendered (Jinja2 templates under ``templates/console/``, htmx as progressive enhancement),
and every page calls the service its JSON route calls, with the same rules.

Adding pages (the extension point):

- **Routes.** Write a Litestar ``Controller`` under ``/console/...`` (``include_in_schema = False``), give it
  ``exception_handlers = console_handlers()`` and a dependency ``Provide(console_page("hq"))`` (any roles),
  and list it in :data:`cloudstore.wiring.CONTROLLERS`. The handler's ``user: Staff`` parameter is the
  signed-in :class:`~cloudstore.web.console.session.ConsoleUser`; its session is already scoped to the
  user's tenant, and a disabled account or a changed password has already ended the sign-in.
- **Rendering.** ``render(user, "console/….html", {...})`` renders a template that extends
  ``console/base.html`` (blocks ``title`` and ``main``) with the navigation, the user and the CSRF token.
- **Forms.** A POST handler reads its form with ``await posted_form(request, user)``: a form without the
  user's CSRF token (``<input type="hidden" name="csrf" value="{{ csrf }}">``) is refused.
- **Navigation.** One list, :data:`cloudstore.web.console.nav.NAV`: add a :class:`NavItem` with the roles
  that see it.
- **HQ home.** ``GET /console`` for HQ renders :func:`cloudstore.web.console.shell.hq_home`; the dashboard
  replaces that function's body. Store profiles are linked at ``/console/stores/{code}``.
"""

from __future__ import annotations

from cloudstore.web.console.nav import NAV, NavItem
from cloudstore.web.console.session import ConsoleUser, Staff, console_handlers, console_page, posted_form, render

__all__ = ("NAV", "ConsoleUser", "NavItem", "Staff", "console_handlers", "console_page", "posted_form", "render")
