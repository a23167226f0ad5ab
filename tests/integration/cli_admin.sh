#!/usr/bin/env bash
# `tunnel-client admin tunnels` and `admin-profiles` against a real dev
# control plane (127.0.0.1:0) serving the tunnel management API with its own
# admin key, in a private HOME.
#
# usage: cli_admin.sh CASE TUNNEL_CLIENT_BINARY
set -uo pipefail

case_name=${1:?case}
bin=${2:?tunnel-client binary}

# shellcheck source=../lib/common.sh
source "$(dirname "$0")/../lib/common.sh"
init_work tc-adm
fail_logs=('*.stderr' '*.stdout')
fail_tail=15
rand() { od -An -tx1 -N8 /dev/urandom | tr -d ' \n'; }
RUNTIME_KEY="sk-runtime-$(rand)"
ADMIN_KEY="sk-admin-$(rand)"
TUNNEL_ID="tunnel_22222222222222222222222222222222"

# tc NAME [VAR=VALUE...] -- ARGS...: the CLI with a clean environment.
tc() {
  local name=$1
  shift
  local envs=()
  while [[ $1 != -- ]]; do
    envs+=("$1")
    shift
  done
  shift
  env -i PATH="$PATH" HOME="$work" CONTROL_PLANE_BASE_URL="$CP" \
    "${envs[@]}" timeout 20 "$bin" "$@" \
    >"$work/$name.stdout" 2>"$work/$name.stderr" </dev/null
  rc=$?
}

jqf() { "$jq_bin" -r "$1" "$2"; }

assert_error() {
  local name=$1 want=$2 needle=$3
  [[ $rc -eq $want ]] || fail "$name: exit status $rc, want $want"
  local lines
  lines=$(wc -l <"$work/$name.stderr")
  [[ $lines -eq 1 ]] || fail "$name: stderr has $lines lines, want 1"
  grep -qF -- "$needle" "$work/$name.stderr" ||
    fail "$name: stderr lacks '$needle': $(cat "$work/$name.stderr")"
  [[ -s $work/$name.stdout ]] && fail "$name: stdout not empty"
  assert_no_keys "$work/$name.stderr"
}

assert_no_keys() {
  local f
  for f in "$@"; do
    grep -qF -e "${RUNTIME_KEY#sk-}" -e "${ADMIN_KEY#sk-}" "$f" &&
      fail "a key value leaked into $f"
  done
  return 0
}

"$bin" dev control-plane --listen 127.0.0.1:0 --api-key "$RUNTIME_KEY" \
  --admin-key "$ADMIN_KEY" --url-file "$work/cp.url" \
  >"$work/cp.out" 2>"$work/cp.err" &
pids+=($!)
for ((i = 0; i < 200; i++)); do
  [[ -s $work/cp.url ]] && break
  sleep 0.05
done
[[ -s $work/cp.url ]] || fail "dev control-plane did not start"
CP=$(cat "$work/cp.url")
ADM=(OPENAI_ADMIN_KEY="$ADMIN_KEY")

case $case_name in
admin_tunnels_crud)
  tc c1 "${ADM[@]}" -- admin tunnels create --name prod-mcp \
    --description "Prod MCP" --organization-id org-1 --organization-id org-2 --json
  [[ $rc -eq 0 ]] || fail "create exit $rc"
  id=$(jqf .id "$work/c1.stdout")
  [[ $id =~ ^tunnel_[0-9a-f]{32}$ ]] || fail "created id '$id'"
  [[ $(jqf .name "$work/c1.stdout") == prod-mcp ]] || fail "name"
  [[ $(jqf '.organization_ids | join(",")' "$work/c1.stdout") == org-1,org-2 ]] || fail "orgs"
  [[ $(jqf .request_id "$work/c1.stdout") =~ ^local-admin-[0-9]+$ ]] || fail "request_id"

  tc c2 "${ADM[@]}" -- admin tunnels create --name staging --description s \
    --workspace-id ws-1
  [[ $rc -eq 0 ]] || fail "text create exit $rc"
  grep -q '^Tunnel tunnel_' "$work/c2.stdout" || fail "text create: no 'Tunnel <id>'"
  grep -q '^  Workspaces: *ws-1$' "$work/c2.stdout" || fail "text create: no Workspaces line"
  grep -q '25-30 seconds' "$work/c2.stdout" || fail "text create: no wait note"

  tc l1 "${ADM[@]}" -- admin tunnels list --organization-id org-2 --json
  [[ $rc -eq 0 && $(jqf '.tunnels | map(.id) | join(",")' "$work/l1.stdout") == "$id" ]] ||
    fail "list by org: $(cat "$work/l1.stdout")"
  tc l2 "${ADM[@]}" -- admin tunnels list --workspace-id ws-1
  [[ $rc -eq 0 ]] && grep -q 'Name: *staging' "$work/l2.stdout" || fail "list by workspace"
  tc l3 "${ADM[@]}" -- admin tunnels list --organization-id org-1 --workspace-id ws-1
  assert_error l3 1 "exactly one scope"

  tc g1 "${ADM[@]}" -- admin tunnels get "$id"
  [[ $rc -eq 0 ]] || fail "get exit $rc"
  grep -q "^Tunnel $id$" "$work/g1.stdout" || fail "get text"
  grep -q '^  Name: *prod-mcp$' "$work/g1.stdout" || fail "get Name line"
  grep -q '^  Organizations: *org-1, org-2$' "$work/g1.stdout" || fail "get Organizations"

  tc u1 "${ADM[@]}" -- admin tunnels update "$id" --name renamed --organization-id org-3 --json
  [[ $rc -eq 0 ]] || fail "update exit $rc"
  [[ $(jqf .name "$work/u1.stdout") == renamed ]] || fail "update name"
  [[ $(jqf .description "$work/u1.stdout") == "Prod MCP" ]] || fail "update touched description"
  [[ $(jqf '.organization_ids | join(",")' "$work/u1.stdout") == org-3 ]] || fail "update orgs"
  tc u2 "${ADM[@]}" -- admin tunnels update "$id"
  assert_error u2 1 "nothing to update"

  tc d1 "${ADM[@]}" -- admin tunnels delete "$id" --confirm
  [[ $rc -eq 0 ]] && grep -q "^Deleted tunnel $id" "$work/d1.stdout" || fail "delete"
  tc g2 "${ADM[@]}" -- admin tunnels get "$id" --json
  [[ $rc -eq 1 && $(jqf .error.status_code "$work/g2.stdout") == 404 ]] ||
    fail "get after delete: rc $rc"
  tc h1 -- admin tunnels --help
  [[ $rc -eq 0 ]] && grep -q '^Examples:' "$work/h1.stdout" || fail "admin tunnels --help"
  tc h2 -- help admin
  [[ $rc -eq 0 ]] && grep -q 'delete TUNNEL_ID --confirm' "$work/h2.stdout" || fail "help admin"
  assert_no_keys "$work"/*.stdout
  ;;

admin_key_rules)
  create=(admin tunnels create --name n --description d --organization-id o)
  # Writes never use the runtime key: not as fallback...
  tc k1 CONTROL_PLANE_API_KEY="$RUNTIME_KEY" -- "${create[@]}"
  assert_error k1 1 "never used to change tunnels"
  # ...not when named by --admin-key...
  tc k2 CONTROL_PLANE_API_KEY="$RUNTIME_KEY" -- "${create[@]}" \
    --admin-key env:CONTROL_PLANE_API_KEY
  assert_error k2 1 "names the runtime API key"
  tc k3 OPENAI_API_KEY="$RUNTIME_KEY" -- "${create[@]}" --admin-key env:OPENAI_API_KEY
  assert_error k3 1 "names the runtime API key"
  # ...nor when the admin key has the runtime key's value.
  tc k4 CONTROL_PLANE_API_KEY="$RUNTIME_KEY" OPENAI_ADMIN_KEY="$RUNTIME_KEY" -- \
    admin tunnels delete "$TUNNEL_ID" --confirm
  assert_error k4 1 "is the runtime API key"
  # A literal --admin-key is refused (and not echoed).
  tc k5 -- "${create[@]}" --admin-key "$ADMIN_KEY"
  assert_error k5 1 "must be env:NAME or file:PATH"
  # delete needs --confirm, checked before any request.
  tc k6 "${ADM[@]}" -- admin tunnels delete "$TUNNEL_ID"
  assert_error k6 1 "without --confirm"
  tc k6b "${ADM[@]}" -- admin tunnels get "$TUNNEL_ID"
  [[ $rc -eq 0 ]] || fail "the tunnel is gone after a refused delete"
  # env: and file: references work; a file reference loses its newline.
  printf '%s\n' "$ADMIN_KEY" >"$work/admin.key"
  tc k7 -- "${create[@]}" --admin-key "file:$work/admin.key"
  [[ $rc -eq 0 ]] || fail "file: admin key: exit $rc"
  tc k8 MYKEY="$ADMIN_KEY" -- "${create[@]}" --admin-key env:MYKEY --json
  [[ $rc -eq 0 ]] || fail "env: admin key: exit $rc"
  # OPENAI_ADMIN_KEY is trimmed.
  tc k9 OPENAI_ADMIN_KEY="  $ADMIN_KEY  " -- "${create[@]}"
  [[ $rc -eq 0 ]] || fail "trimmed OPENAI_ADMIN_KEY: exit $rc"
  # Reads may fall back to the runtime key.
  tc k10 CONTROL_PLANE_API_KEY="$RUNTIME_KEY" -- admin tunnels get "$TUNNEL_ID" --json
  [[ $rc -eq 0 && $(jqf .id "$work/k10.stdout") == "$TUNNEL_ID" ]] ||
    fail "get with the runtime key: rc $rc"
  # No key at all.
  tc k11 -- admin tunnels get "$TUNNEL_ID"
  assert_error k11 1 "no admin key"
  # Duplicate ids are refused.
  tc k12 "${ADM[@]}" -- admin tunnels create --name n --description d \
    --organization-id o --organization-id o
  assert_error k12 1 "duplicate id"
  ;;

admin_error_rendering)
  # 404 from the API: status, code, message and request id on one line.
  tc e1 "${ADM[@]}" -- admin tunnels get tunnel_00000000000000000000000000000000
  assert_error e1 1 "request GET /v1/tunnels/tunnel_00000000000000000000000000000000 failed: 404 tunnel_not_found: tunnel not found (x-request-id: local-admin-"
  # The same with --json: the error object on stdout, exit 1.
  tc e2 "${ADM[@]}" -- admin tunnels get tunnel_00000000000000000000000000000000 --json
  [[ $rc -eq 1 ]] || fail "--json error exit $rc"
  [[ $(jqf .error.status_code "$work/e2.stdout") == 404 &&
    $(jqf .error.code "$work/e2.stdout") == tunnel_not_found &&
    $(jqf .error.method "$work/e2.stdout") == GET &&
    $(jqf .error.message "$work/e2.stdout") == "tunnel not found" &&
    $(jqf .error.request_id "$work/e2.stdout") =~ ^local-admin-[0-9]+$ &&
    $(jqf .error.path "$work/e2.stdout") == /v1/tunnels/tunnel_00000000000000000000000000000000 ]] ||
    fail "--json error object: $(cat "$work/e2.stdout")"
  # A wrong admin key on a write: 401 rendered, key not echoed.
  tc e3 OPENAI_ADMIN_KEY=sk-wrong-key -- admin tunnels create --name n \
    --description d --organization-id o
  assert_error e3 1 "request POST /v1/tunnels failed: 401 invalid_api_key:"
  grep -q 'sk-wrong-key' "$work/e3.stderr" && fail "wrong key echoed"
  # 400 from the API (scope required by the server for list).
  tc e4 "${ADM[@]}" -- admin tunnels list --tenant-id ''
  [[ $rc -eq 1 ]] || fail "empty tenant exit $rc"
  grep -q 'failed: 400 tunnel_scope_required' "$work/e4.stderr" || fail "400 rendering"
  # Nobody listening: the transport error, one line.
  tc e5 "${ADM[@]}" -- admin tunnels get "$TUNNEL_ID" \
    --control-plane.base-url http://127.0.0.1:9
  assert_error e5 1 "request GET /v1/tunnels/$TUNNEL_ID failed:"
  tc e6 -- admin tunnels frobnicate
  assert_error e6 1 'unknown command "frobnicate"'
  tc e7 -- admin tunnels get
  assert_error e7 1 "needs exactly one TUNNEL_ID"
  ;;

admin_profiles)
  state="$work/.local/state/tunnel-client"
  tc p1 -- admin-profiles set prod --admin-key env:PROD_ADMIN --control-plane-base-url "$CP"
  [[ $rc -eq 0 ]] && grep -q 'Saved admin profile prod (active)' "$work/p1.stdout" || fail "set"
  [[ $(stat -c %a "$state/admin_profiles.yaml") == 600 ]] || fail "admin_profiles.yaml mode"
  tc p2 -- admin-profiles set dev --activate=false
  [[ $rc -eq 0 ]] || fail "set dev"
  tc p3 -- admin-profiles list --json
  [[ $(jqf .active_profile "$work/p3.stdout") == prod ]] || fail "active"
  [[ $(jqf '.profiles[] | select(.name=="dev") | .admin_key' "$work/p3.stdout") == env:OPENAI_ADMIN_KEY ]] ||
    fail "default key ref"
  [[ $(jqf '.profiles[] | select(.name=="prod") | .control_plane_base_url' "$work/p3.stdout") == "$CP" ]] ||
    fail "base url"
  tc p4 -- admin-profiles list
  grep -qE '^\* prod +http://127\.0\.0\.1:[0-9]+ +env:PROD_ADMIN$' "$work/p4.stdout" ||
    fail "text list: $(cat "$work/p4.stdout")"
  tc p5 -- admin-profiles set bad --admin-key "$ADMIN_KEY"
  assert_error p5 1 "must be env:NAME or file:PATH"
  tc p6 -- admin-profiles set bad --admin-key env:CONTROL_PLANE_API_KEY
  assert_error p6 1 "runtime API key"
  tc p7 -- admin-profiles activate dev
  [[ $rc -eq 0 && $(jqf .active_profile "$state/admin_profiles.yaml") == dev ]] || fail "activate"
  tc p8 -- admin-profiles activate nope
  assert_error p8 1 'no admin profile "nope"'
  # runtimes uses the profile's key reference and base URL to create a
  # tunnel; the alias then pins the profile, so delete is refused.
  tc p9 PROD_ADMIN="$ADMIN_KEY" -- runtimes create --alias svc --admin-profile prod \
    --organization-id org-7 --json
  [[ $rc -eq 0 ]] || fail "runtimes create with the profile: exit $rc"
  [[ $(jqf .tunnel_id "$work/p9.stdout") =~ ^tunnel_ ]] || fail "no tunnel id"
  tc p10 -- admin-profiles delete prod
  assert_error p10 1 'used by runtime alias "svc"'
  tc p11 -- runtimes rm svc
  [[ $rc -eq 0 ]] || fail "runtimes rm svc: exit $rc"
  tc p12 -- admin-profiles delete prod
  [[ $rc -eq 0 ]] && grep -q 'Deleted admin profile prod' "$work/p12.stdout" || fail "delete"
  tc p13 -- admin-profiles --help
  [[ $rc -eq 0 ]] && grep -q '^Examples:' "$work/p13.stdout" || fail "--help"
  assert_no_keys "$state/admin_profiles.yaml" "$work"/*.stdout
  ;;

*) fail "unknown case" ;;
esac
echo "PASS [$case_name]"
