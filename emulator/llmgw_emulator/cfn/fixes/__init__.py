"""Corrections of moto's own CloudFormation models, one module per service.

Each class subclasses ``CloudFormationModel`` for a type moto already models; defined later, it wins.
"""

from . import ec2, ecs, rds

__all__ = ["ec2", "ecs", "rds"]
