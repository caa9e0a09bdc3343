"""The stacks' secrets: reading and writing them (``store``), what they must hold (``values``), seeding them."""
