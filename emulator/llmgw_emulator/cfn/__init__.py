"""The emulator's CloudFormation models, as moto lays out its own: one module per service.

``types/`` adds the types moto 5.2 lacks; ``fixes/`` replaces moto's model of a type it gets wrong
(a later ``CloudFormationModel`` subclass for a type wins over moto's). Importing this package
registers them all, so server.py imports it before the first stack operation.
"""

from . import fixes, types

__all__ = ["fixes", "types"]
