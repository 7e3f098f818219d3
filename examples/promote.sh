#!/usr/bin/env bash
# The main job of ferry, end to end, on the embedded SQLite store, in a temporary folder:
# a dev tenant filled with the retail example, exported into git, planned and applied to an empty
# prod tenant, then a change made in dev promoted the same way.
#
#   examples/promote.sh            # uses `cargo run`, or FERRY=/path/to/ferry
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
if [[ -z "${FERRY:-}" ]]; then
  cargo build --quiet --manifest-path "$here/Cargo.toml"
  FERRY="$here/target/debug/ferry"
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
export GIT_AUTHOR_NAME="${GIT_AUTHOR_NAME:-ferry demo}" GIT_AUTHOR_EMAIL="${GIT_AUTHOR_EMAIL:-demo@example.com}"
step() { printf '\n\033[1m$ %s\033[0m\n' "$*" >&2; "$@"; }

step "$FERRY" tenant init sqlite:dev.db --name retail-dev --platform-version 4.5.0 \
  --engine maxcompute --engine-mode single --cluster cn-shanghai-mc-01
step "$FERRY" object put --tenant sqlite:dev.db "$here/examples/retail/objects" 2> >(tail -1 >&2)
step "$FERRY" init repo
step "$FERRY" export --from sqlite:dev.db --repo repo --commit -m "First export of retail-dev" 2> >(tail -2 >&2)
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
