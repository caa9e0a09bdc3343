#!/bin/sh
# Refuse to start with a master key this gateway does not accept: an unseeded secret
# holds the placeholder UNSEEDED, which anyone reading the template knows. The rule is
# llmgw_common.gateway_secrets.MASTER_KEY_RULE (sk- and at least 32 ASCII letters or
# digits); tests/unit/core/test_master_key_rule.py holds this copy to it.
key="${LITELLM_MASTER_KEY:-}"
rest="${key#sk-}"
valid=yes
[ "$rest" != "$key" ] && [ "${#rest}" -ge 32 ] || valid=no
case "$rest" in
  *[!abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789]*) valid=no ;;
esac
unset key rest
if [ "$valid" != yes ]; then
  echo "entrypoint: LITELLM_MASTER_KEY is missing or not sk- and at least 32 letters or digits; run the seeding hook (sceptre launch) first" >&2
  exit 64
fi
# With a shared-state cache configured, serve only once it answers (see wait_for_redis.py).
if [ -n "${REDIS_HOST:-}" ]; then
  python3 /app/gateway/wait_for_redis.py || exit $?
fi
exec /app/docker/prod_entrypoint.sh "$@"
