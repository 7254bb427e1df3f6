"""Who is acting: identities from OpenID Connect, roles, and how they signed in."""
