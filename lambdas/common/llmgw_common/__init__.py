"""Code shared by the rotation functions and the Sceptre hooks: one definition of each secret value."""
