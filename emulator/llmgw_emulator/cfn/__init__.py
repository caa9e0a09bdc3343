"""The emulator's CloudFormation models, as moto lays out its own: one module per service.

``types/`` adds the types moto 5.2 lacks; ``fixes/`` replaces moto's model of a type it gets wrong
(a later ``CloudFormationModel`` subclass for a type wins over moto's); ``base`` is what they share.
server.py imports ``types`` and ``fixes``, which registers them, before the first stack operation;
importing this package alone imports neither, so ``base`` stays cheap for the other modules.
"""
