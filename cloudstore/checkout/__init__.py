"""Journeys that cross domains: place, pay, cancel, refund, and HQ's view of an order.

Each journey is one module composing the domains' functions in one lock order: the order row first, then
stock rows in key order (location, then SKU), always ``FOR NO KEY UPDATE``. No domain imports this package.
"""
