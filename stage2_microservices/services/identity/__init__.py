"""Identity service: users, passwords, access tokens and the JWKS."""
