"""``kind: gateway``: an API gateway routing operations, authenticating and rate-limiting them."""
