"""After-sales: a consumer's refund of unshipped units or return of shipped ones, and staff's decisions on it."""
