"""referrals domain."""
