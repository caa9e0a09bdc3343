#!/bin/sh
# Refuse to start with a master key that is not a LiteLLM key: an unseeded
# secret holds the placeholder UNSEEDED, which anyone reading the template knows.
case "${LITELLM_MASTER_KEY:-}" in
  sk-?*) ;;
  *)
    echo "entrypoint: LITELLM_MASTER_KEY is missing or not an sk- key; run the seeding hook (sceptre launch) first" >&2
    exit 64
    ;;
esac
exec /app/docker/prod_entrypoint.sh "$@"
