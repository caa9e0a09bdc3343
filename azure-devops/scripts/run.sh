#!/usr/bin/env bash
# Run Sceptre or tools.ops with the environment's --var flags, built from the values the step
# passes in `env:`. Azure DevOps pastes a $(macro) into script text before bash reads it, so a
# variable-group value must never appear in a script: here it arrives as an environment
# variable and is passed on quoted, as one argument. An undefined macro arrives as its own text,
# "$(NAME)"; Sceptre's config (the `required`/`expanded` filters) and tools.ops refuse it,
# naming the variable-group entry to add.
#
#   run.sh sceptre launch -y prod/alb.yaml      (an AWSShellScript@1 step: scriptType filePath)
#   run.sh ops smoke dev
set -euo pipefail
cd "$(dirname "$0")/../.."
tool=${1:?usage: run.sh sceptre|ops ARGUMENTS...}
shift
# AWSShellScript@1 sets AWS_REGION from its regionName input.
vars=(--var "region=${AWS_REGION:?no AWS_REGION: run this from an AWSShellScript@1 step with regionName}")
if [ -n "${ALARM_EMAIL+set}" ]; then vars+=(--var "alarm_email=$ALARM_EMAIL"); fi
if [ -n "${CLOUDTRAIL_LOG_GROUP+set}" ]; then vars+=(--var "cloudtrail_log_group=$CLOUDTRAIL_LOG_GROUP"); fi
# Roles beside the gateway's and this pipeline's that may read the secrets (a --var is not remembered).
if [ -n "${OPERATOR_ROLE_ARNS+set}" ]; then vars+=(--var "operator_role_arns=$OPERATOR_ROLE_ARNS"); fi
if [ -n "${DOMAIN_NAME+set}" ]; then vars+=(--var "domain_name=$DOMAIN_NAME"); fi
if [ -n "${HOSTED_ZONE_ID+set}" ]; then vars+=(--var "hosted_zone_id=$HOSTED_ZONE_ID"); fi
# dev serves plain HTTP only to the variable group's CLIENT_CIDR (the addresses that may reach it).
if [ -n "${CLIENT_CIDR+set}" ]; then vars+=(--var "client_cidr=$CLIENT_CIDR"); fi
# prod's admin UI and its logins answer only the variable group's ADMIN_UI_CIDR.
if [ -n "${ADMIN_UI_CIDR+set}" ]; then vars+=(--var "admin_ui_cidr=$ADMIN_UI_CIDR"); fi
# The task role's Bedrock region follows the variable group's AWS_BEDROCK_REGION (empty: the stack's).
if [ -n "${AWS_BEDROCK_REGION:-}" ]; then vars+=(--var "bedrock_region=$AWS_BEDROCK_REGION"); fi
case $tool in
  sceptre) exec .venv/bin/sceptre "${vars[@]}" "$@" ;;
  ops) exec .venv/bin/python -m tools.ops "${vars[@]}" "$@" ;;
  *) echo "run.sh: unknown tool $tool (sceptre or ops)" >&2; exit 2 ;;
esac
