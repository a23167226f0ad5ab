#!/usr/bin/env bash
# `tunnel-client profiles` and `init`: the sample catalogue (each sample a
# valid profile for the loader), file modes (dir 0700, file 0600), no
# overwrite without --force, strict validation before anything is written,
# `profiles edit` through $VISUAL/$EDITOR, and init's stdio preflight.
#
# usage: cli_profiles.sh CASE TUNNEL_CLIENT_BINARY
case_name=${1:?case}
bin=${2:?tunnel-client binary}
source "$(dirname "$0")/cli_common.sh"

tid=tunnel_0123456789abcdef0123456789abcdef
pd=$work/profiles

# run_tc ARGS...: into $work/c.out / c.err; sets $rc.
run_tc() {
  tcli "$@" >"$work/c.out" 2>"$work/c.err"
  rc=$?
}

mode_of() { stat -c %a "$1"; }

case $case_name in
profiles_samples)
  run_tc profiles samples list
  [[ $rc == 0 ]] || fail "samples list: exit $rc"
  cut -f1 "$work/c.out" >"$work/names.out"
  diff <(printf '%s\n' sample_mcp_enterprise_proxy sample_mcp_remote_no_auth \
    sample_mcp_stdio_local sample_mcp_with_dcr) "$work/names.out" ||
    fail "samples list: names/order"
  awk -F'\t' 'NF != 2 || $2 == "" {exit 1}' "$work/c.out" || fail "name<TAB>summary lines"
  for s in $(cat "$work/names.out"); do
    run_tc profiles samples show "$s"
    [[ $rc == 0 ]] || fail "show $s: exit $rc"
    for h in Sample: Summary: 'Use when:' Required: Optional: Notes:; do
      grep -q "^$h" "$work/c.out" || fail "show $s: no '$h'"
    done
    # The YAML part is a valid profile: `profiles add --from-file` runs it
    # through the loader, and `doctor` reads it as a config.
    sed -n '/^# tunnel-client profile/,$p' "$work/c.out" >"$work/$s.yaml"
    grep -q "tunnel_id: \"$tid\"" "$work/$s.yaml" || fail "$s: no example tunnel id"
    tc_env=(HTTPS_PROXY=http://127.0.0.1:3128 ENTERPRISE_CA_BUNDLE=/etc/hostname)
    run_tc profiles --profile-dir "$pd" add "x$s" --from-file "$work/$s.yaml"
    [[ $rc == 0 ]] || fail "$s is not accepted by the loader: $(cat "$work/c.err")"
    tc_env=()
  done
  grep -q '  commands:' "$work/sample_mcp_stdio_local.yaml" || fail "stdio sample has no mcp.commands"
  grep -q '^ca_bundle: "env:ENTERPRISE_CA_BUNDLE"' "$work/sample_mcp_enterprise_proxy.yaml" ||
    fail "enterprise sample has no ca_bundle reference"
  run_tc profiles samples show nosuch
  [[ $rc == 1 ]] || fail "unknown sample: exit $rc, want 1"
  one_line "$work/c.err" "unknown sample"
  ;;

profiles_add_force)
  run_tc profiles --profile-dir "$pd/nested" add demo --sample sample_mcp_remote_no_auth \
    --tunnel-id "$tid" --mcp-server-url https://mcp.example.com/mcp
  [[ $rc == 0 ]] || fail "add: exit $rc: $(cat "$work/c.err")"
  [[ $(mode_of "$pd/nested") == 700 ]] || fail "dir mode $(mode_of "$pd/nested"), want 700"
  [[ $(mode_of "$pd/nested/demo.yaml") == 600 ]] || fail "file mode, want 600"
  cp "$pd/nested/demo.yaml" "$work/before.yaml"
  run_tc profiles --profile-dir "$pd/nested" add demo --sample sample_mcp_with_dcr \
    --tunnel-id "$tid" --mcp-server-url https://other.example.com/mcp
  [[ $rc == 1 ]] || fail "second add without --force: exit $rc, want 1"
  one_line "$work/c.err" "exists"
  grep -q -- '--force' "$work/c.err" || fail "error does not mention --force"
  cmp -s "$pd/nested/demo.yaml" "$work/before.yaml" || fail "file changed without --force"
  run_tc profiles --profile-dir "$pd/nested" add demo --sample sample_mcp_with_dcr \
    --tunnel-id "$tid" --mcp-server-url https://other.example.com/mcp --force
  [[ $rc == 0 ]] || fail "add --force: exit $rc"
  grep -q other.example.com "$pd/nested/demo.yaml" || fail "--force did not replace"
  [[ $(mode_of "$pd/nested/demo.yaml") == 600 ]] || fail "replaced file mode, want 600"
  # list shows it, text and JSON.
  run_tc profiles --profile-dir "$pd/nested" list --json
  jq_check "$work/c.out" ".profiles == [{\"name\":\"demo\",\"path\":\"$pd/nested/demo.yaml\",
    \"valid\":true,\"error\":null}]" "list --json"
  run_tc profiles list --profile-dir "$pd/nested"
  grep -q "^demo	ok	$pd/nested/demo.yaml$" "$work/c.out" || fail "list text"
  ;;

profiles_strict)
  mkdir -p "$pd"
  check_refused() { # FILE PATTERN WHAT
    run_tc profiles --profile-dir "$pd" add bad --from-file "$1"
    [[ $rc == 1 ]] || fail "$3: exit $rc, want 1"
    one_line "$work/c.err" "$3"
    grep -Eq "$2" "$work/c.err" || fail "$3: error is $(cat "$work/c.err")"
    [[ ! -e $pd/bad.yaml ]] || fail "$3: a refused profile was written"
  }
  printf 'config_version: 1\ncontrol_plane:\n  tunnel_id: %s\n  tunel: x\n' "$tid" >"$work/unknown.yaml"
  check_refused "$work/unknown.yaml" 'unknown.yaml:4.*tunel' "unknown key"
  printf 'config_version: 2\n' >"$work/v2.yaml"
  check_refused "$work/v2.yaml" 'config_version' "config_version 2"
  printf 'control_plane:\n  tunnel_id: tunnel_BAD\n' >"$work/badid.yaml"
  check_refused "$work/badid.yaml" 'tunnel id' "bad tunnel id"
  printf 'control_plane: [1, 2\n' >"$work/syntax.yaml"
  check_refused "$work/syntax.yaml" 'syntax.yaml' "YAML syntax"
  printf 'control_plane:\n  tunnel_id: %s\n  tunnel_id: %s\n' "$tid" "$tid" >"$work/dup.yaml"
  check_refused "$work/dup.yaml" 'dup' "duplicate key"
  # Argument errors are one line too.
  run_tc profiles add bad
  [[ $rc == 1 ]] || fail "add without a source: exit $rc"
  one_line "$work/c.err" "add without a source"
  run_tc profiles add '../evil' --sample sample_mcp_with_dcr
  [[ $rc == 1 ]] || fail "bad name: exit $rc"
  run_tc profiles frobnicate
  [[ $rc == 1 ]] || fail "unknown subcommand: exit $rc"
  one_line "$work/c.err" "unknown subcommand"
  tcli profiles --help >"$work/c.out" || fail "--help"
  grep -q '^Examples:' "$work/c.out" || fail "profiles --help has no examples"
  ;;

profiles_edit)
  run_tc profiles --profile-dir "$pd" add demo --sample sample_mcp_remote_no_auth \
    --tunnel-id "$tid" --mcp-server-url https://mcp.example.com/mcp
  [[ $rc == 0 ]] || fail "add failed"
  cp "$pd/demo.yaml" "$work/orig.yaml"
  # An editor (with an argument in $EDITOR) making a valid change: saved.
  printf '#!/bin/sh\n[ "$1" = "-x" ] || exit 9\nsed -i "s/level: info/level: warn/" "$2"\n' \
    >"$work/ed-ok.sh"
  printf '#!/bin/sh\nprintf "not_a_key: 1\\n" >>"$1"\n' >"$work/ed-bad.sh"
  printf '#!/bin/sh\nexit 3\n' >"$work/ed-fail.sh"
  chmod +x "$work"/ed-*.sh
  tc_env=(EDITOR="$work/ed-ok.sh -x")
  run_tc profiles --profile-dir "$pd" edit demo
  [[ $rc == 0 ]] || fail "valid edit: exit $rc: $(cat "$work/c.err")"
  grep -q 'level: warn' "$pd/demo.yaml" || fail "valid edit not saved"
  [[ $(mode_of "$pd/demo.yaml") == 600 ]] || fail "mode after edit"
  cp "$pd/demo.yaml" "$work/orig.yaml"
  # VISUAL wins over EDITOR; an invalid edit is refused, the file kept.
  tc_env=(VISUAL="$work/ed-bad.sh" EDITOR="$work/ed-ok.sh -x")
  run_tc profiles --profile-dir "$pd" edit demo
  [[ $rc == 1 ]] || fail "invalid edit: exit $rc, want 1"
  one_line "$work/c.err" "invalid edit"
  grep -q 'not_a_key' "$work/c.err" || fail "error does not name the key"
  cmp -s "$pd/demo.yaml" "$work/orig.yaml" || fail "invalid edit changed the profile"
  # A failing editor: nothing saved.
  tc_env=(EDITOR="$work/ed-fail.sh")
  run_tc profiles --profile-dir "$pd" edit demo
  [[ $rc == 1 ]] || fail "failing editor: exit $rc, want 1"
  cmp -s "$pd/demo.yaml" "$work/orig.yaml" || fail "failing editor changed the profile"
  # A new profile starts from the dcr sample.
  tc_env=(EDITOR="$work/ed-ok.sh -x")
  run_tc profiles --profile-dir "$pd" edit fresh
  [[ $rc == 0 ]] || fail "new profile: exit $rc: $(cat "$work/c.err")"
  grep -q 'sample_mcp_with_dcr' "$pd/fresh.yaml" || fail "new profile not seeded from dcr"
  # A new profile left as seeded is not created.
  tc_env=(EDITOR=true)
  run_tc profiles --profile-dir "$pd" edit untouched
  [[ $rc == 0 ]] || fail "unchanged new profile: exit $rc"
  [[ ! -e $pd/untouched.yaml ]] || fail "an unchanged new profile was created"
  # No editor at all.
  tc_env=()
  run_tc profiles --profile-dir "$pd" edit demo
  [[ $rc == 1 ]] || fail "no editor: exit $rc"
  grep -q 'EDITOR' "$work/c.err" || fail "no-editor error does not say EDITOR"
  ;;

init_cases)
  # stdio: the sample is chosen by the flags, the program preflighted. The
  # server is a real one: doctor starts it and wants an initialize reply.
  srv="$here/faults_stdio_server.mjs"
  run_tc init --profile-dir "$pd" --profile local --tunnel-id "$tid" \
    --mcp-command "sh -c 'exec node $srv'" --health-listen-addr 127.0.0.1:0
  [[ $rc == 0 ]] || fail "stdio init: exit $rc: $(cat "$work/c.err")"
  grep -q '^Created profile local at ' "$work/c.out" || fail "no Created line"
  grep -q '^Sample: sample_mcp_stdio_local$' "$work/c.out" || fail "stdio sample not chosen"
  grep -q "tunnel-client doctor --profile-dir $pd --profile local" "$work/c.out" ||
    fail "Next does not show doctor"
  grep -q 'Canonical setup URLs:' "$work/c.out" || fail "no setup URLs"
  grep -qF "command: \"sh -c 'exec node $srv'\"" "$pd/local.yaml" || fail "command not written"
  [[ $(mode_of "$pd") == 700 && $(mode_of "$pd/local.yaml") == 600 ]] || fail "modes"
  # The written profile passes doctor (against a control plane that knows
  # the tunnel) and is what run loads.
  start_cp --tunnel-id "$tid" --api-key k
  tc_env=(CONTROL_PLANE_API_KEY=k CONTROL_PLANE_BASE_URL="$cp")
  run_tc doctor --profile-dir "$pd" --profile local
  [[ $rc == 0 ]] || fail "doctor on the init profile: exit $rc: $(cat "$work/c.out")"
  tc_env=()
  # Errors: one line, exit 1, nothing written.
  run_tc init --profile-dir "$pd" --profile p2 --mcp-server-url https://x.example.com/mcp
  [[ $rc == 1 ]] || fail "no tunnel id: exit $rc"
  one_line "$work/c.err" "no tunnel id"
  grep -q -- '--tunnel-id' "$work/c.err" || fail "error does not name --tunnel-id"
  run_tc init --profile-dir "$pd" --profile p2 --tunnel-id "$tid" \
    --mcp-command "no-such-mcp-server-xyz --stdio"
  [[ $rc == 1 ]] || fail "missing program: exit $rc"
  grep -q 'not found on PATH' "$work/c.err" || fail "preflight error: $(cat "$work/c.err")"
  run_tc init --profile-dir "$pd" --profile p2 --tunnel-id "$tid" \
    --mcp-server-url https://x.example.com/mcp --control-plane-api-key-ref sk-literal
  [[ $rc == 1 ]] || fail "literal key: exit $rc"
  grep -q 'sk-literal' "$work/c.err" && fail "the literal key is echoed"
  run_tc init --profile-dir "$pd" --profile p2 --tunnel-id "$tid" \
    --mcp-server-url https://x.example.com/mcp --mcp-command cat
  [[ $rc == 1 ]] || fail "both targets: exit $rc"
  run_tc init --profile-dir "$pd" --profile p2 --tunnel-id "$tid" --sample nosuch \
    --mcp-server-url https://x.example.com/mcp
  [[ $rc == 1 ]] || fail "unknown sample: exit $rc"
  [[ ! -e $pd/p2.yaml ]] || fail "a refused init wrote a profile"
  # Existing profile: refused without --force, replaced with it.
  run_tc init --profile-dir "$pd" --profile local --tunnel-id "$tid" \
    --mcp-server-url https://x.example.com/mcp
  [[ $rc == 1 ]] || fail "existing profile: exit $rc, want 1"
  run_tc init --profile-dir "$pd" --profile local --tunnel-id "$tid" \
    --mcp-server-url https://x.example.com/mcp --force
  [[ $rc == 0 ]] || fail "--force: exit $rc"
  grep -q 'x.example.com' "$pd/local.yaml" || fail "--force did not replace"
  tcli init --help >"$work/c.out" || fail "init --help"
  grep -q '^Examples:' "$work/c.out" || fail "init --help has no examples"
  ;;

*)
  fail "unknown case"
  ;;
esac
exit 0
