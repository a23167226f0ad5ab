#!/usr/bin/env bash
# `tunnel-client doctor`: the checks, their order, text and JSON reports,
# exit codes, secrets never printed, and the progress spinner on a TTY.
# Real processes on 127.0.0.1 (dev mcp-stub, dev control-plane, a node
# stand-in server). TLS, mutual TLS and proxies: net_enterprise.sh.
#
# usage: cli_doctor.sh CASE TUNNEL_CLIENT_BINARY
case_name=${1:?case}
bin=${2:?tunnel-client binary}
source "$(dirname "$0")/cli_common.sh"

tid=tunnel_0123456789abcdef0123456789abcdef
key=doctorcanary0123456789

# start_tunnel_cp: a dev control plane that knows $tid and accepts $key;
# doctor finds it through CONTROL_PLANE_BASE_URL in tc_env.
start_tunnel_cp() {
  start_cp --tunnel-id "$tid" --api-key "$key"
  tc_env=(CONTROL_PLANE_API_KEY="$key" CONTROL_PLANE_BASE_URL="$cp")
}

# doctor_json ARGS...: doctor --json into $work/d.json (stderr d.err);
# sets $rc.
doctor_json() {
  tcli doctor --json "$@" >"$work/d.json" 2>"$work/d.err"
  rc=$?
}

expect_fail() { # CHECK_ID
  [[ $rc == 2 ]] || fail "exit status $rc, want 2"
  [[ ! -s $work/d.err ]] || fail "stderr is not empty: $(cat "$work/d.err")"
  jq_check "$work/d.json" ".result == \"fail\" and (.failed_checks | index(\"$1\")) != null" \
    "failed_checks has $1"
  jq_check "$work/d.json" "[.checks[] | select(.id == \"$1\")][0] |
    .status == \"FAIL\" and (.why | length > 0) and (.next | length > 0)" "$1 has why and next"
}

case $case_name in
doctor_ok_http)
  start_stub
  start_tunnel_cp
  doctor_json --control-plane.tunnel-id "$tid" --mcp.server-url "$stub/mcp" \
    --health.listen-addr 127.0.0.1:0
  [[ $rc == 0 ]] || fail "exit status $rc, want 0"
  jq_check "$work/d.json" '.result == "ok" and .failed_checks == [] and
    (.next | startswith("tunnel-client run "))' "result ok with a run command"
  jq_check "$work/d.json" '[.checks[].id] == ["config_source","profile_load","tunnel_id",
    "control_plane_api_key","tunnels_management_url","runtime_api_keys_url",
    "admin_api_keys_url","chatgpt_connector_settings_url","network_settings",
    "control_plane_reachable","mcp_target","mcp_server_reachable","oauth_metadata",
    "health_listener","ui","codex_plugin"]' \
    "checks in the documented order"
  jq_check "$work/d.json" '[.checks[] | select(.id == "control_plane_reachable")][0].summary ==
    "'"$cp"' knows tunnel '"$tid"' and accepts the API key (HTTP 200)"' "control plane reached"
  jq_check "$work/d.json" 'all(.checks[]; (keys | sort) == ["evidence","id","next","status","summary","why"])' \
    "every check has the same fields"
  jq_check "$work/d.json" '[.checks[] | select(.id == "oauth_metadata")][0].status == "PASS"' \
    "the stub's OAuth metadata is found"
  jq_check "$work/d.json" '[.checks[] | select(.id == "control_plane_api_key")][0].summary ==
    "env:CONTROL_PLANE_API_KEY"' "key source named"
  grep -q "$key" "$work/d.json" && fail "the API key is printed"
  # Text mode: aligned CHECK lines, RESULT ok and the NEXT command.
  tcli doctor --control-plane.tunnel-id "$tid" --mcp.server-url "$stub/mcp" \
    --health.listen-addr 127.0.0.1:0 >"$work/d.out" 2>"$work/d.err" || fail "text run failed"
  grep -Eq '^CHECK tunnel_id {16}PASS tunnel_0123' "$work/d.out" || fail "CHECK line format"
  grep -q '^RESULT ok$' "$work/d.out" || fail "no RESULT ok"
  grep -q "^NEXT   tunnel-client run --control-plane.tunnel-id $tid --mcp.server-url $stub/mcp" \
    "$work/d.out" || fail "NEXT line does not repeat the flags"
  grep -q "$key" "$work/d.out" && fail "the API key is printed"
  [[ ! -s $work/d.err ]] || fail "stderr not empty when stderr is not a TTY"
  ;;

doctor_missing_key)
  start_stub
  doctor_json --control-plane.tunnel-id "$tid" --mcp.server-url "$stub/mcp" \
    --health.listen-addr 127.0.0.1:0
  expect_fail control_plane_api_key
  # Text + --explain: a why/evidence/next block and the failure trailer.
  tcli doctor --explain --control-plane.tunnel-id "$tid" --mcp.server-url "$stub/mcp" \
    --health.listen-addr 127.0.0.1:0 >"$work/d.out" 2>"$work/d.err"
  [[ $? == 2 ]] || fail "text mode exit status, want 2"
  grep -q '^CHECK control_plane_api_key   FAIL$' "$work/d.out" || fail "no explain header"
  grep -q '^Why this matters: ' "$work/d.out" || fail "no why"
  grep -q '^Evidence:$' "$work/d.out" || fail "no evidence"
  grep -q '^What to do next:$' "$work/d.out" || fail "no next steps"
  grep -q '^  1\. ' "$work/d.out" || fail "next steps are not numbered"
  grep -q '^RESULT fail$' "$work/d.out" || fail "no RESULT fail"
  grep -q '^FAILED_CHECKS control_plane_api_key$' "$work/d.out" || fail "FAILED_CHECKS"
  grep -q '^EXIT_CODE 2$' "$work/d.out" || fail "EXIT_CODE"
  ;;

doctor_bad_tunnel_id)
  start_stub
  tc_env=(CONTROL_PLANE_API_KEY="$key")
  doctor_json --control-plane.tunnel-id tunnel_NOTVALID --mcp.server-url "$stub/mcp"
  expect_fail tunnel_id
  # A config error ends the report: URL checks and codex_plugin only.
  jq_check "$work/d.json" '[.checks[].id][-5:] == ["tunnels_management_url",
    "runtime_api_keys_url","admin_api_keys_url","chatgpt_connector_settings_url",
    "codex_plugin"]' "report ends after a config error"
  ;;

doctor_unreachable)
  start_tunnel_cp
  doctor_json --control-plane.tunnel-id "$tid" --mcp.server-url http://127.0.0.1:1/mcp \
    --health.listen-addr 127.0.0.1:0
  expect_fail mcp_server_reachable
  jq_check "$work/d.json" '.failed_checks == ["mcp_server_reachable"]' "only the MCP server fails"
  jq_check "$work/d.json" '[.checks[] | select(.id == "mcp_server_reachable")][0].summary |
    startswith("cannot connect to http://127.0.0.1:1")' "connection refused named"
  jq_check "$work/d.json" '[.checks[] | select(.id == "oauth_metadata")][0].status == "SKIP"' \
    "OAuth not checked on an unreachable server"
  ;;

doctor_oauth_broken)
  start_fake fake prmd-500
  start_tunnel_cp
  doctor_json --control-plane.tunnel-id "$tid" --mcp.server-url "$fake/mcp" \
    --health.listen-addr 127.0.0.1:0
  expect_fail oauth_metadata
  jq_check "$work/d.json" '[.checks[] | select(.id == "oauth_metadata")][0].evidence |
    any(test("HTTP 500"))' "evidence names the 500"
  # Every candidate 404: no OAuth, which passes.
  start_fake plain ""
  doctor_json --control-plane.tunnel-id "$tid" --mcp.server-url "$fake/mcp" \
    --health.listen-addr 127.0.0.1:0
  [[ $rc == 0 ]] || fail "all-404 discovery: exit $rc, want 0"
  ;;

doctor_control_plane)
  # control_plane_reachable asks the control plane about this tunnel with
  # this key (GET /v1/tunnels/{id}, never a poll): each refusal and a
  # control plane that is down fail it with what to do; a stdio target
  # does not hide it.
  start_stub
  start_tunnel_cp
  auth="Authorization: Bearer $key"
  cp_check() { # SUMMARY_TEST WHAT
    jq_check "$work/d.json" "[.checks[] | select(.id == \"control_plane_reachable\")][0] |
      .status == \"FAIL\" and (.summary | $1) and (.next | length > 0)" "$2"
  }
  tc_env=(CONTROL_PLANE_API_KEY=not-the-key CONTROL_PLANE_BASE_URL="$cp")
  doctor_json --control-plane.tunnel-id "$tid" --mcp.server-url "$stub/mcp" \
    --health.listen-addr 127.0.0.1:0
  expect_fail control_plane_reachable
  cp_check "startswith(\"$cp rejected the API key (HTTP 401\")" "wrong key"
  tc_env=(CONTROL_PLANE_API_KEY="$key" CONTROL_PLANE_BASE_URL="$cp")
  doctor_json --control-plane.tunnel-id tunnel_ffffffffffffffffffffffffffffffff \
    --mcp.command "sh -c cat" --health.listen-addr 127.0.0.1:0
  expect_fail control_plane_reachable
  cp_check ". == \"$cp does not know tunnel id tunnel_ffffffffffffffffffffffffffffffff (HTTP 404)\"" \
    "unknown tunnel id (stdio target)"
  jq_check "$work/d.json" '[.checks[] | select(.id == "control_plane_reachable")][0].next |
    any(test("settings/organization/tunnels"))' "404: where to copy the id from"
  # Text with --explain: the failure block says what to do.
  tcli doctor --explain --control-plane.tunnel-id tunnel_ffffffffffffffffffffffffffffffff \
    --mcp.server-url "$stub/mcp" --health.listen-addr 127.0.0.1:0 >"$work/d.out" 2>"$work/d.err"
  [[ $? == 2 ]] || fail "text mode exit status, want 2"
  grep -q '^CHECK control_plane_reachable  FAIL .*does not know tunnel id' "$work/d.out" ||
    fail "no CHECK line for the control plane"
  grep -q '^FAILED_CHECKS control_plane_reachable$' "$work/d.out" || fail "FAILED_CHECKS"
  [[ $(cp_stat .polls) == 0 ]] || fail "doctor polled the control plane"
  # The control plane is down.
  tc_env=(CONTROL_PLANE_API_KEY="$key" CONTROL_PLANE_BASE_URL=http://127.0.0.1:1)
  doctor_json --control-plane.tunnel-id "$tid" --mcp.server-url "$stub/mcp" \
    --health.listen-addr 127.0.0.1:0
  expect_fail control_plane_reachable
  cp_check 'startswith("cannot connect to http://127.0.0.1:1")' "control plane down"
  # Accepted: PASS.
  tc_env=(CONTROL_PLANE_API_KEY="$key" CONTROL_PLANE_BASE_URL="$cp")
  doctor_json --control-plane.tunnel-id "$tid" --mcp.server-url "$stub/mcp" \
    --health.listen-addr 127.0.0.1:0
  [[ $rc == 0 ]] || fail "accepted: exit $rc, want 0"
  grep -q "$key" "$work/d.json" && fail "the API key is printed"
  ;;

doctor_stdio)
  start_tunnel_cp
  doctor_json --control-plane.tunnel-id "$tid" --mcp.command "no-such-mcp-server-xyz --stdio" \
    --health.listen-addr 127.0.0.1:0
  expect_fail mcp_command_executable
  jq_check "$work/d.json" '[.checks[] | select(.id == "mcp_server_reachable" or
    .id == "oauth_metadata") | .status] == ["SKIP","SKIP"]' "network checks skipped for stdio"
  # A script whose #! interpreter is missing.
  printf '#!/nonexistent/interpreter\n' >"$work/server.sh"
  chmod +x "$work/server.sh"
  doctor_json --control-plane.tunnel-id "$tid" --mcp.command "$work/server.sh" \
    --health.listen-addr 127.0.0.1:0
  expect_fail mcp_command_executable
  # sh -c 'exec ...' wrapping a real MCP server passes: it is started and
  # answers initialize.
  doctor_json --control-plane.tunnel-id "$tid" \
    --mcp.command "sh -c 'exec $node_bin $here/faults_stdio_server.mjs'" \
    --health.listen-addr 127.0.0.1:0
  [[ $rc == 0 ]] || fail "a real stdio server: exit $rc, want 0 ($(cat "$work/d.json"))"
  jq_check "$work/d.json" '[.checks[] | select(.id == "mcp_server_reachable")][0] |
    .status == "PASS" and (.summary | test("answered initialize"))' "the server answered"
  # A program that exists but is no MCP server fails the start check.
  doctor_json --control-plane.tunnel-id "$tid" --mcp.command "sh -c 'cat'" \
    --health.listen-addr 127.0.0.1:0
  expect_fail mcp_server_reachable
  jq_check "$work/d.json" '[.checks[] | select(.id == "mcp_server_reachable")][0].summary |
    test("wrote the initialize request back")' "cat is no MCP server"
  # A server that dies at start: doctor shows its last stderr lines.
  doctor_json --control-plane.tunnel-id "$tid" \
    --mcp.command "sh -c 'echo starting up >&2; echo fatal: no config file >&2; exit 4'" \
    --health.listen-addr 127.0.0.1:0
  expect_fail mcp_server_reachable
  jq_check "$work/d.json" '[.checks[] | select(.id == "mcp_server_reachable")][0] |
    (.summary | test("exited with status 4")) and
    (.evidence | index("stderr: fatal: no config file")) != null' \
    "exit status and the last stderr lines"
  ;;

doctor_health_taken)
  start_stub
  start_tunnel_cp
  hostport=${stub#http://}
  doctor_json --control-plane.tunnel-id "$tid" --mcp.server-url "$stub/mcp" \
    --health.listen-addr "$hostport"
  expect_fail health_listener
  jq_check "$work/d.json" '[.checks[] | select(.id == "ui")][0].status == "SKIP"' \
    "ui skipped when the health check fails"
  ;;

doctor_profile_errors)
  # A named profile that does not exist: config_source fails, only the URL
  # checks follow.
  doctor_json --profile nosuch
  expect_fail config_source
  jq_check "$work/d.json" '[.checks[].id] == ["config_source","tunnels_management_url",
    "runtime_api_keys_url","admin_api_keys_url","chatgpt_connector_settings_url"]' \
    "only URL checks after config_source"
  # An unknown key in the profile: profile_load fails.
  mkdir -p "$work/p"
  printf 'config_version: 1\ncontrol_plane:\n  tunnel_idd: x\n' >"$work/p/bad.yaml"
  doctor_json --profile-dir "$work/p" --profile bad
  expect_fail profile_load
  jq_check "$work/d.json" '[.checks[] | select(.id == "profile_load")][0].summary |
    test("bad.yaml:3")' "file:line in the summary"
  # Two sources at once.
  doctor_json --profile a --config /x.yaml
  expect_fail config_source
  ;;

doctor_bad_flag)
  tcli doctor --bogus-flag >"$work/d.out" 2>"$work/d.err"
  [[ $? == 1 ]] || fail "unknown flag: exit status, want 1"
  one_line "$work/d.err" "unknown flag"
  grep -q 'bogus-flag' "$work/d.err" || fail "error does not name the flag"
  tcli doctor --help >"$work/d.out" 2>&1 || fail "--help failed"
  grep -q '^Examples:' "$work/d.out" || fail "--help has no examples"
  ;;

doctor_tty_progress)
  # Under a pseudo-terminal the network checks draw a spinner on stderr;
  # with --json (or without a TTY) nothing but the report is printed.
  command -v script >/dev/null || fail "script(1) is not installed (util-linux)"
  start_fake slowmcp ""
  start_tunnel_cp
  cmd="env -i PATH='$bindir:$PATH' HOME='$work' CONTROL_PLANE_API_KEY=$key '$bin' doctor \
--control-plane.base-url '$cp' --control-plane.tunnel-id $tid --mcp.server-url '$fake/mcp' \
--health.listen-addr 127.0.0.1:0"
  script -qfec "$cmd" /dev/null >"$work/tty.out" 2>&1 </dev/null
  grep -q 'checking mcp_server_reachable' "$work/tty.out" || fail "no progress on a TTY"
  grep -q 'checking control_plane_reachable' "$work/tty.out" || fail "no progress for the control plane"
  grep -q $'\r' "$work/tty.out" || fail "progress does not redraw with CR"
  grep -q '^RESULT ok' <(tr -d '\r' <"$work/tty.out" | sed 's/\x1b\[K//g') ||
    fail "no RESULT ok under the TTY"
  script -qfec "$cmd --json" /dev/null >"$work/ttyjson.out" 2>&1 </dev/null
  grep -q 'checking' "$work/ttyjson.out" && fail "progress drawn with --json"
  tr -d '\r' <"$work/ttyjson.out" | "$jq_bin" -e '.result == "ok"' >/dev/null ||
    fail "--json output on a TTY is not only JSON"
  ;;

*)
  fail "unknown case"
  ;;
esac
exit 0
