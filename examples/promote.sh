#!/usr/bin/env bash
# The main job of ferry, end to end, on the embedded SQLite store, in a temporary folder:
# a dev tenant filled with the retail example, exported into git, planned and applied to an empty
# prod tenant, then a change made in dev promoted the same way.
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
step "$FERRY" tenant init sqlite:prod.db --name retail-prod --platform-version 4.5.0 \
  --engine maxcompute --engine-mode single --cluster cn-shanghai-mc-01
cd repo
step "$FERRY" plan --to sqlite:../prod.db --out ../plan.json > /dev/null
step "$FERRY" apply ../plan.json

# A change in dev: a new schedule for one task.
"$FERRY" object get --tenant sqlite:../dev.db compute_task/retail_dw/dwd_trd_order_di \
  | sed 's/^cron = .*/cron = "0 30 3 * * ?"/' > ../changed.toml
step "$FERRY" object put --tenant sqlite:../dev.db ../changed.toml
step "$FERRY" export --from sqlite:../dev.db --commit -m "Run the order task later"
step "$FERRY" diff HEAD~1..HEAD
step "$FERRY" plan --to sqlite:../prod.db
step "$FERRY" apply --to sqlite:../prod.db --auto-approve > /dev/null
step "$FERRY" history --tenant sqlite:../prod.db
step "$FERRY" plan --to sqlite:../prod.db --detailed-exitcode
