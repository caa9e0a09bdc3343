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
# With a shared-state cache configured, serve only once it answers (see wait_for_redis.py).
if [ -n "${REDIS_HOST:-}" ]; then
  python3 /app/gateway/wait_for_redis.py || exit $?
fi
exec /app/docker/prod_entrypoint.sh "$@"
