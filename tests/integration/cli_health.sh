#!/usr/bin/env bash
# `tunnel-client health`: probes /healthz and /readyz (500 ms each) of a
# running agent — here a node stand-in with scripted answers, and a real
# `run` against `dev control-plane` + `dev mcp-stub` — with the three
# locators, unix sockets, --pid, --require-control-plane-poll, JSON output
# and exit codes (0 healthy, 2 not, 1 wrong command line).
#
# usage: cli_health.sh CASE TUNNEL_CLIENT_BINARY
# Exit 77 (skipped) in health_real_daemon when the agent has no /readyz yet.
case_name=${1:?case}
bin=${2:?tunnel-client binary}
source "$(dirname "$0")/cli_common.sh"

# health ARGS...: into $work/h.out / h.err; sets $rc.
health() {
  tcli health "$@" >"$work/h.out" 2>"$work/h.err"
  rc=$?
}

case $case_name in
health_ok)
  start_fake agent ready
  health --url "$fake"
  [[ $rc == 0 ]] || fail "exit $rc, want 0"
  grep -q '^Result: OK$' "$work/h.out" || fail "text does not end with Result: OK"
  [[ $(tail -n 1 "$work/h.out") == 'Result: OK' ]] || fail "Result is not the last line"
  health --url "$fake" --json
  [[ $rc == 0 ]] || fail "--json exit $rc, want 0"
  jq_check "$work/h.out" ".result == \"ok\" and .base_url == \"$fake\" and
    .ui_url == \"$fake/ui\" and .locator.kind == \"url\" and
    .locator.resolved_base_url == \"$fake\" and
    .healthz.ok and .healthz.status == 200 and .healthz.body == \"live\" and
    .readyz.ok and .readyz.body == \"ready\" and .control_plane_poll == null" "JSON fields"
  # The other locators reach the same agent.
  health --url-file "$work/agent.url" --json
  [[ $rc == 0 ]] || fail "--url-file exit $rc"
  jq_check "$work/h.out" '.locator.kind == "url_file" and .result == "ok"' "url_file locator"
  health --port "${fake##*:}"
  [[ $rc == 0 ]] || fail "--port exit $rc"
  # --pid of a live process passes.
  health --url "$fake" --pid $$
  [[ $rc == 0 ]] || fail "--pid of a live process: exit $rc"
  ;;

health_not_ready)
  start_fake agent not-ready
  health --url "$fake" --json
  [[ $rc == 2 ]] || fail "exit $rc, want 2"
  [[ ! -s $work/h.err ]] || fail "stderr not empty: $(cat "$work/h.err")"
  jq_check "$work/h.out" '.result == "fail" and .healthz.ok and (.readyz.ok | not) and
    .readyz.status == 503 and .readyz.body == "mcp probe failed: connection refused"' \
    "readyz reason reported"
  health --url "$fake"
  [[ $rc == 2 ]] || fail "text exit $rc, want 2"
  grep -q 'mcp probe failed: connection refused' "$work/h.out" || fail "reason not shown"
  [[ $(tail -n 1 "$work/h.out") == 'Result: FAIL' ]] || fail "no Result: FAIL"
  ;;

health_slow)
  # /readyz answers after 10 s: the 500 ms probe gives up long before. The
  # probe's own elapsed time (libcurl's timeout message) pins the 500 ms;
  # the whole command's time only has to stay below the 10 s, so a slow
  # start of the binary on a loaded machine does not matter.
  start_fake agent slow-ready
  start=$(date +%s%3N)
  health --url "$fake" --json
  took=$(($(date +%s%3N) - start))
  [[ $rc == 2 ]] || fail "exit $rc, want 2"
  ((took < 9000)) || fail "took ${took} ms: health waited for the 10 s answer"
  jq_check "$work/h.out" '.healthz.ok and (.readyz.ok | not) and
    (.readyz.error | test("timed out after [0-9]+ milliseconds"))' "timeout reported as an error"
  probe_ms=$("$jq_bin" -r '.readyz.error | capture("after (?<ms>[0-9]+) milliseconds").ms' "$work/h.out")
  ((probe_ms >= 500 && probe_ms < 2000)) ||
    fail "the /readyz probe gave up after ${probe_ms} ms; its timeout is 500 ms"
  ;;

health_poll)
  start_fake agent ready
  health --url "$fake" --json --require-control-plane-poll
  [[ $rc == 2 ]] || fail "no poll yet: exit $rc, want 2"
  jq_check "$work/h.out" '.result == "fail" and (.control_plane_poll.ok | not) and
    .control_plane_poll.last_poll_at == null' "poll required but none"
  start_fake polled ready,polled
  health --url "$fake" --json --require-control-plane-poll
  [[ $rc == 0 ]] || fail "polled: exit $rc, want 0"
  jq_check "$work/h.out" '.control_plane_poll.ok and
    (.control_plane_poll.last_poll_at | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T"))' "last poll shown"
  # Polls that all failed do not count: only a successful one does.
  start_fake failing ready,poll-failing
  health --url "$fake" --json --require-control-plane-poll
  [[ $rc == 2 ]] || fail "only failed polls: exit $rc, want 2"
  jq_check "$work/h.out" '(.control_plane_poll.ok | not) and
    (.control_plane_poll.error | test("no control-plane poll has succeeded yet.*HTTP 401"))' \
    "failed polls reported as such"
  ;;

health_poll_failing)
  # A real agent whose every poll fails — refused (401), unknown tunnel id
  # (404), control plane down (connection refused) — never passes
  # --require-control-plane-poll, and its last-successful-poll gauge stays 0;
  # the same agent against a control plane that accepts it passes.
  start_stub
  start_cp --tunnel-id tunnel_22222222222222222222222222222222
  down=http://127.0.0.1:$(free_port)
  n=0
  for setup in "wrong-key $cp tunnel_22222222222222222222222222222222" \
    "local-tunnel-client-dev-proxy $cp tunnel_44444444444444444444444444444444" \
    "local-tunnel-client-dev-proxy $down tunnel_22222222222222222222222222222222" \
    "local-tunnel-client-dev-proxy $cp tunnel_22222222222222222222222222222222"; do
    read -r akey base atid <<<"$setup"
    n=$((n + 1))
    env -i PATH="$PATH" HOME="$work" CONTROL_PLANE_API_KEY="$akey" "$bin" run \
      --control-plane.base-url "$base" --control-plane.tunnel-id "$atid" \
      --mcp.server-url "$stub/mcp" --health.listen-addr 127.0.0.1:0 \
      --control-plane.poll-timeout 1s --health.url-file "$work/agent$n.url" \
      >"$work/agent$n.log" 2>&1 &
    apid=$!
    pids+=("$apid")
    wait_file "$work/agent$n.url" "$apid" "tunnel-client run"
    h=$(cat "$work/agent$n.url")
    if ((n < 4)); then
      polls=0
      for ((i = 0; i < 200 && polls < 2; i++)); do # two polls have failed
        polls=$("$curl_bin" -sS --max-time 5 "$h/metrics" |
          awk '$1 ~ /^tunnel_client_polls_total\{result="(http|network)_error"\}$/ {n += $2} END {print n + 0}')
        sleep 0.05
      done
      ((polls >= 2)) || fail "setup $n ($setup): fewer than 2 failed polls"
      health --url "$h" --json --require-control-plane-poll
      [[ $rc == 2 ]] || fail "setup $n ($setup): exit $rc, want 2"
      jq_check "$work/h.out" '.result == "fail" and (.control_plane_poll.ok | not) and
        .control_plane_poll.last_poll_at == null and
        (.control_plane_poll.error | startswith("no control-plane poll has succeeded yet"))' \
        "setup $n ($setup): failed polls are not a poll"
      gauge=$("$curl_bin" -sS --max-time 5 "$h/metrics" |
        awk '$1 == "tunnel_client_last_successful_poll_timestamp_seconds" {print $2}')
      [[ $gauge == 0 ]] || fail "setup $n ($setup): last successful poll gauge is '$gauge', want 0"
    else
      ok=
      for ((i = 0; i < 100; i++)); do
        health --url "$h" --json --require-control-plane-poll
        [[ $rc == 0 ]] && { ok=1; break; }
        sleep 0.1
      done
      [[ -n $ok ]] || fail "accepted agent: not OK within 10s: $(cat "$work/h.out")"
      jq_check "$work/h.out" '.control_plane_poll.ok and
        (.control_plane_poll.last_poll_at | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T"))' "successful poll shown"
    fi
    kill -TERM "$apid"
    await_exit "$apid" 20 || fail "setup $n: agent still running after SIGTERM"
  done
  ;;

health_unix)
  start_fake agent ready --unix "$work/ops.sock"
  [[ $fake == http+unix://* ]] || fail "fake server wrote $fake"
  health --url-file "$work/agent.url" --json
  [[ $rc == 0 ]] || fail "http+unix: exit $rc, want 0"
  jq_check "$work/h.out" '.healthz.ok and .readyz.ok' "probes over the unix socket"
  ;;

health_failures)
  # Nothing listening, a missing URL file, a dead --pid: exit 2.
  health --url http://127.0.0.1:1 --json
  [[ $rc == 2 ]] || fail "refused: exit $rc, want 2"
  jq_check "$work/h.out" '(.healthz.ok | not) and (.healthz.error | length > 0)' "connect error"
  health --url-file "$work/missing.url" --json
  [[ $rc == 2 ]] || fail "missing url file: exit $rc, want 2"
  jq_check "$work/h.out" '.result == "fail" and (.locator.error | test("missing.url"))' \
    "locator error"
  start_fake agent ready
  sh -c 'exit 0' &
  dead=$!
  wait $dead
  health --url "$fake" --pid "$dead" --json
  [[ $rc == 2 ]] || fail "dead pid: exit $rc, want 2"
  jq_check "$work/h.out" '.process.running == false' "process not running"
  # Wrong command lines: exit 1, one line on stderr.
  health
  [[ $rc == 1 ]] || fail "no locator: exit $rc, want 1"
  one_line "$work/h.err" "no locator"
  health --url "$fake" --port 1
  [[ $rc == 1 ]] || fail "two locators: exit $rc, want 1"
  one_line "$work/h.err" "two locators"
  health --port 99999
  [[ $rc == 2 ]] || fail "bad port: exit $rc, want 2"
  tcli health --help >"$work/h.out" || fail "--help failed"
  grep -q '^Examples:' "$work/h.out" || fail "--help has no examples"
  ;;

health_real_daemon)
  # A real agent from an init-written profile: /healthz now; /readyz and
  # /api/status per the agreed contract (skipped while the agent has none).
  start_stub
  start_cp --tunnel-id tunnel_22222222222222222222222222222222
  tcli init --profile-dir "$work/p" --profile real \
    --tunnel-id tunnel_22222222222222222222222222222222 \
    --mcp-server-url "$stub/mcp" --health-listen-addr 127.0.0.1:0 >"$work/init.out" 2>&1 ||
    fail "init failed"
  env -i PATH="$PATH" HOME="$work" CONTROL_PLANE_API_KEY=local-tunnel-client-dev-proxy \
    CONTROL_PLANE_BASE_URL="$cp" CONTROL_PLANE_POLL_TIMEOUT=1s "$bin" run \
    --profile-dir "$work/p" --profile real --health.url-file "$work/agent.url" \
    --pid.file "$work/agent.pid" >"$work/agent.log" 2>&1 &
  pids+=($!)
  wait_file "$work/agent.url" $! "tunnel-client run"
  readyz=$("$curl_bin" -s -o /dev/null -w '%{http_code}' "$(cat "$work/agent.url")/readyz")
  if [[ $readyz == 404 ]]; then
    health --url-file "$work/agent.url" --json
    jq_check "$work/h.out" '.healthz.ok and .readyz.status == 404' "healthz ok"
    echo "SKIP [$case_name]: the agent serves no /readyz yet" >&2
    exit 77
  fi
  ok=
  for ((i = 0; i < 40; i++)); do
    health --url-file "$work/agent.url" --pid-file "$work/agent.pid" \
      --require-control-plane-poll --json
    [[ $rc == 0 ]] && { ok=1; break; }
    sleep 0.25
  done
  [[ -n $ok ]] || fail "agent not healthy within 10s: $(cat "$work/h.out")"
  jq_check "$work/h.out" '.readyz.body | startswith("ready")' "readyz body"
  jq_check "$work/h.out" '.process.running and .control_plane_poll.ok' "pid and poll"
  ;;

*)
  fail "unknown case"
  ;;
esac
exit 0
