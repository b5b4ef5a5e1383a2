"""Pricing at checkout: delivery fees, automatic promotions, coupons, and the pure pricing core."""
