#!/bin/sh
# ferry in any CI system (Jenkins, Buildkite, …): the steps of the GitHub and GitLab templates
# on the same ferry commands, as one script. Copy it into the repository and call it from the
# pipeline:
#
#   ferry-ci.sh review           # on a change request: fmt --check, validate, the review comment
#   ferry-ci.sh apply ENV        # after the merge: apply the reviewed plan of ENV (or a new one)
#   ferry-ci.sh drift ENV        # nightly: export ENV into the branch ferry/drift-ENV, push it
#
# Settings, from the environment:
#   FERRY_REPO            the tenant repository's folder (the one with ferry.toml; default .)
#   FERRY_ENVS            the environments a review plans (default "test prod")
#   FERRY_PLANS           where plans and the comment are kept (default plans; keep it as the
#                         job's artifact: `apply` uses the reviewed plans found there)
#   FERRY_ALLOW_DELETES   1 when the change may delete objects (a label or an approval said so)
#   FERRY_LOCK_WAIT       how long an apply waits for a tenant lock (default 10m)
#   FERRY_TENANT          drift: the tenant to export (default: none, the command says so)
#   FERRY                 the ferry binary (default ferry, on PATH)
# An apply needs the variables (and files) the environment file's `[[secret]]` entries name;
# ferry never prints their values. Exit: 0 done; 1 error; 3 review: deletes not allowed.
set -eu

ferry=${FERRY:-ferry}
repo=${FERRY_REPO:-.}
plans=${FERRY_PLANS:-plans}
envs=${FERRY_ENVS:-test prod}

usage() {
  echo "usage: $0 review | apply ENV | drift ENV" >&2
  exit 1
}

review() {
  "$ferry" fmt --check --repo "$repo"
  "$ferry" validate --repo "$repo"
  mkdir -p "$plans"
  set --
  for env in $envs; do set -- "$@" --env "$env"; done
  status=0
  "$ferry" review --repo "$repo" "$@" --prune --out-dir "$plans" --detailed-exitcode \
    > "$plans/comment.md" || status=$?
  echo "the review comment is $plans/comment.md (post it, or update the one starting with <!-- ferry:review -->)" >&2
  case $status in
    0 | 2) ;;
    3)
      if [ "${FERRY_ALLOW_DELETES:-0}" != 1 ]; then
        echo "the plan deletes objects: set FERRY_ALLOW_DELETES=1 once a reviewer allowed it" >&2
        exit 3
      fi ;;
    *) echo "ferry review failed, or a guard refused a plan (the comment says which)" >&2; exit 1 ;;
  esac
}

apply() {
  env=$1
  plan="$plans/$env.plan.json"
  if [ -f "$plan" ]; then
    echo "applying the reviewed plan $plan" >&2
  else
    mkdir -p "$plans"
    echo "no reviewed plan at $plan: planning HEAD" >&2
    "$ferry" plan --repo "$repo" --env "$env" --prune --out "$plan"
  fi
  "$ferry" apply "$plan" --repo "$repo" --lock-wait "${FERRY_LOCK_WAIT:-10m}"
}

drift() {
  env=$1
  branch="ferry/drift-$env"
  if [ -z "${FERRY_TENANT:-}" ]; then
    echo "drift: set FERRY_TENANT to the tenant of environments/$env.toml" >&2
    exit 1
  fi
  base=$(git rev-parse HEAD)
  git checkout -B "$branch"
  "$ferry" export --repo "$repo" --from "$FERRY_TENANT" --env "$env" --commit \
    -m "Drift: what $env has that the repository does not"
  if [ "$(git rev-parse HEAD)" = "$base" ]; then
    echo "$env has no drift" >&2
    return 0
  fi
  git push --force origin "$branch"
  echo "$env drifted: open a pull request from $branch" >&2
}

[ $# -ge 1 ] || usage
command=$1
shift
case $command in
  review) [ $# -eq 0 ] || usage; review ;;
  apply) [ $# -eq 1 ] || usage; apply "$1" ;;
  drift) [ $# -eq 1 ] || usage; drift "$1" ;;
  *) usage ;;
esac
