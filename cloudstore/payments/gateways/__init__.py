"""Payment gateways behind :class:`~cloudstore.payments.gateways.base.PaymentProvider`.

``base`` holds the Protocol, its value types and errors; each gateway (``local``, ``wechat``) imports only
from it, and services depend on the Protocol, never on a concrete gateway.
"""
