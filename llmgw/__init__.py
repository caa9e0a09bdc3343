"""The gateway repository's core: what the Sceptre plugins, the tools, the emulator and the tests share.

Organised by domain (docs/architecture.md has the layout and the import rules): ``images`` (the
build context, its tag, building, pushing, the base image's signature), ``secrets`` (reading and
writing secrets, the values they must hold, seeding them), ``lambda_package`` (the functions' zips
and their code keys), ``parameters`` (a template's parameters and rules, checked offline),
``specialise`` (a template as it deploys), ``stacks`` (the five stacks, their outputs, a launch's
failure), ``config_vars`` (the Jinja extension behind ``required``), ``pipeline_macros``, ``buckets``,
``iam``, ``aws_errors`` and ``net``. Nothing here imports Sceptre: the plugins adapt it to Sceptre.
"""
