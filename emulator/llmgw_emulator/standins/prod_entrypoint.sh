#!/bin/sh
# Stands in for /app/docker/prod_entrypoint.sh of LiteLLM's image, which the
# emulator's tasks cannot pull: like it, run the proxy with the arguments given.
# The image's optional SEPARATE_HEALTH_APP and USE_DDTRACE modes are refused,
# not imitated (the emulator's tasks run `litellm` from .venv-gateway).
if [ "${SEPARATE_HEALTH_APP:-}" = "1" ] || [ "${USE_DDTRACE:-}" = "true" ]; then
  echo "emulator: SEPARATE_HEALTH_APP and USE_DDTRACE are not modelled by the local stand-in for LiteLLM's image" >&2
  exit 70
fi
# LiteLLM's server would reach the database through Prisma, whose engines are downloaded at
# run time from a host these machines cannot reach: it runs without one here.
unset DATABASE_URL
exec litellm "$@"
