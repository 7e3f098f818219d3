#!/usr/bin/env bash
# The main job of ferry, end to end, on the embedded SQLite store, in a temporary folder:
# a dev tenant filled with the retail example, exported into git with the example's environment
# files, promoted to empty test and prod tenants (prod's gate refuses it until test has it), with
# each environment's hosts, owners and secrets; then a change made in dev promoted the same way.
#
#   examples/promote.sh            # builds ferry with cargo, or uses FERRY=/path/to/ferry
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
if [[ -z "${FERRY:-}" ]]; then
  echo "building ferry (first time: a few minutes)" >&2
  cargo build --locked --quiet --manifest-path "$here/Cargo.toml"
  FERRY="${CARGO_TARGET_DIR:-$here/target}/debug/ferry"
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
export GIT_AUTHOR_NAME="${GIT_AUTHOR_NAME:-ferry demo}" GIT_AUTHOR_EMAIL="${GIT_AUTHOR_EMAIL:-demo@example.com}"
export GIT_COMMITTER_NAME="${GIT_COMMITTER_NAME:-$GIT_AUTHOR_NAME}" GIT_COMMITTER_EMAIL="${GIT_COMMITTER_EMAIL:-$GIT_AUTHOR_EMAIL}"
# Each step prints its command, then runs it; its output follows, before the next step's.
if [[ -t 2 && -z "${NO_COLOR:-}" ]]; then bold=$'\033[1m' plain=$'\033[0m'; else bold='' plain=''; fi
header() {
  local arg line='$'
  [[ $1 == "$FERRY" ]] && { line+=' ferry'; shift; }
  for arg in "$@"; do
    if [[ $arg =~ ^[][A-Za-z0-9_./:=@+~^-]+$ ]]; then line+=" $arg"
    elif [[ $arg != *"'"* ]]; then line+=" '$arg'"
    else line+=" $(printf '%q' "$arg")"; fi
  done
  printf '\n%s%s%s\n' "$bold" "$line" "$plain" >&2
}
step() { header "$@"; "$@"; }
# A step that is meant to fail: its error is shown, and the script goes on.
step_fails() {
  header "$@"
  if "$@"; then echo "expected this step to fail" >&2; return 1; fi
}
# A step whose status lines are many: only the last N are shown (all of them if it fails).
step_tail() {
  local n=$1 err=$work/step.err status=0
  shift
  header "$@"
  "$@" 2>"$err" || status=$?
  if (( status != 0 )); then cat "$err" >&2; return "$status"; fi
  tail -n "$n" "$err" >&2
}

step "$FERRY" tenant init sqlite:dev.db --name retail-dev --platform-version 4.5.0 \
  --engine maxcompute --engine-mode single --cluster cn-shanghai-mc-01
step_tail 1 "$FERRY" object put --tenant sqlite:dev.db "$here/examples/retail/objects"
step_tail 1 "$FERRY" init repo
step_tail 2 "$FERRY" export --from sqlite:dev.db --repo repo --commit -m "First export of retail-dev"
for env in test prod; do
  step "$FERRY" tenant init "sqlite:$env.db" --name "retail-$env" --platform-version 4.5.0 \
    --engine maxcompute --engine-mode single --cluster cn-shanghai-mc-01
done
# What test and prod differ in (hosts, databases, owners, queues, where secrets come from),
# committed beside the objects: the example's environment files.
cp -R "$here/examples/retail/environments/." repo/environments/
git -C repo add environments
git -C repo commit -qm "Environments: test and prod"
# The secrets CI would hold: variables, and a CA certificate file on the runner. Their values
# go only into each tenant's secret table, never into git, a plan or this output.
for env in dev test prod; do
  mkdir -p "secrets/$env"
  printf -- '-----BEGIN CERTIFICATE-----\n(demo %s CA)\n-----END CERTIFICATE-----\n' "$env" \
    > "secrets/$env/crm-root.crt"
done
export FERRY_TEST_ORDERS_MYSQL_PASSWORD="demo-test-$RANDOM$RANDOM" FERRY_TEST_CRM_PASSWORD="demo-test-$RANDOM$RANDOM"
export FERRY_PROD_ORDERS_MYSQL_PASSWORD="demo-prod-$RANDOM$RANDOM" FERRY_PROD_CRM_PASSWORD="demo-prod-$RANDOM$RANDOM"
export FERRY_PROD_MC_ACCESS_KEY_SECRET="demo-prod-$RANDOM$RANDOM"
cd repo
# prod requires test: the gate refuses objects test has not had applied.
step_fails "$FERRY" apply --env prod --auto-approve
step "$FERRY" plan --env test --out ../test.json > /dev/null
step "$FERRY" apply ../test.json
step "$FERRY" plan --env prod --out ../prod.json > /dev/null
step "$FERRY" apply ../prod.json

# A change in dev: a new schedule for one task, promoted dev → test → prod.
"$FERRY" object get --tenant sqlite:../dev.db compute_task/retail_dw/dwd_trd_order_di \
  | sed 's/^cron = .*/cron = "0 30 3 * * ?"/' > ../changed.toml
step "$FERRY" object put --tenant sqlite:../dev.db ../changed.toml
step "$FERRY" export --from sqlite:../dev.db --commit -m "Run the order task later"
step "$FERRY" diff HEAD~1..HEAD
step "$FERRY" plan --env prod
step "$FERRY" apply --env test --auto-approve > /dev/null
step "$FERRY" apply --env prod --auto-approve > /dev/null
step "$FERRY" history --tenant sqlite:../prod.db
step "$FERRY" plan --env prod --detailed-exitcode

# The second change, as a pull request makes it, on a branch: a task's SQL and schedule edited,
# a data source renamed (its dependent follows the new name), a quality rule deleted with the
# rule template only it used; and CI's CRM password rotated for test and prod.
edit() { sed "$2" "$1" > "$1.new" && mv "$1.new" "$1"; }
git checkout -qb second-change
task=objects/development/compute_task/retail_dw/ads_inventory_month_end.toml
edit "$task" "s/^WHERE   f.ds = '\${month_end}'\$/&\\
AND     f.onhand_qty > 0/"
edit "$task" 's/^cron = "0 0 4 1 \* ?"$/cron = "0 0 5 1 * ?"/'
edit objects/global/data_source/holo_retail.toml 's/^name = "holo_retail"$/name = "holo_serving"/'
git mv objects/global/data_source/holo_retail.toml objects/global/data_source/holo_serving.toml
edit objects/development/realtime_task/retail_rt/rt_store_live_sales.toml 's#"data_source/holo_retail"#"data_source/holo_serving"#'
git rm -q objects/quality/quality_rule/fct_payment_channel_not_null.toml \
  objects/quality/rule_template/null_ratio_threshold.toml
git commit -qam "Filter empty stock, rename the serving source, drop the payment channel rule"
export FERRY_TEST_CRM_PASSWORD="demo-test-rotated-$RANDOM$RANDOM" FERRY_PROD_CRM_PASSWORD="demo-prod-rotated-$RANDOM$RANDOM"
step "$FERRY" diff HEAD~1..HEAD
# The comment the pull request gets (CI posts it, and saves the plans for the apply on merge):
# prod protects its data sources, so its guard refuses the rename, and the review says so.
step_fails "$FERRY" review --env test --env prod --prune --out-dir ../plans
