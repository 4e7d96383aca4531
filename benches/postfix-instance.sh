# Sourced by the benches/*.sh scripts: install Postfix if missing and start a throw-away
# Postfix relay on loopback, tuned as in /work/shared/PEER-BENCHMARK.md (a competent
# admin's throughput settings, fsync per message as shipped), relaying everything to
# [127.0.0.1]:SINK_PORT. The system Postfix is never started.
#
#   postfix_install                      # apt-get install postfix when smtp-source is missing
#   postfix_start WORKDIR PORT SINK_PORT # sets PF_PID (the master, in the foreground: ours to stop)

postfix_install() {
  if ! command -v smtp-source >/dev/null || ! command -v postfix >/dev/null; then
    echo "== installing postfix (for smtp-source/smtp-sink and the peer)" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postfix >/dev/null
    # Debian may start the packaged daemon; the benchmarks use their own instance only.
    postfix stop >/dev/null 2>&1 || true
  fi
}

postfix_start() { # WORKDIR PORT SINK_PORT
  local work=$1 port=$2 sink=$3
  mkdir -p "$work/pf/etc" "$work/pf/queue" "$work/pf/data"
  cp /etc/postfix/main.cf /etc/postfix/master.cf "$work/pf/etc/"
  # Postfix's daemons run as user postfix: they must reach the queue through the temp dir
  # (mktemp makes it 0700), and on machines where root lacks CAP_DAC_OVERRIDE the root
  # master must still be able to write its lock file in the postfix-owned data directory.
  chmod 755 "$work"
  chown postfix "$work/pf/data"
  chmod 777 "$work/pf/data"
  sed -i "s/^smtp      inet/127.0.0.1:$port inet/" "$work/pf/etc/master.cf"
  postconf -c "$work/pf/etc" -e "queue_directory = $work/pf/queue" "data_directory = $work/pf/data" \
    "maillog_file =" \
    "inet_interfaces = 127.0.0.1" "inet_protocols = ipv4" "mynetworks = 127.0.0.0/8" \
    "mydestination =" "relay_domains =" "local_recipient_maps =" \
    "relayhost = [127.0.0.1]:$sink" \
    "smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination" \
    "smtpd_peername_lookup = no" "smtp_dns_support_level = disabled" \
    "smtpd_tls_security_level = none" "smtp_tls_security_level = none" \
    "in_flow_delay = 0" "default_process_limit = 200" \
    "smtpd_client_connection_count_limit = 0" "smtpd_client_connection_rate_limit = 0" \
    "smtpd_client_message_rate_limit = 0" "smtp_destination_concurrency_limit = 50" \
    "smtp_connection_cache_on_demand = yes" "smtp_connection_cache_destinations = \$relayhost"
  # maillog_file stays empty: with it set, "postfix check" fails silently here (no postlogd
  # before start), and errors reach stderr only without it.
  postfix -c "$work/pf/etc" check
  # master in the foreground (-d), started here: its pid is ours to stop, and "postfix start"
  # fails on these machines for an instance outside alternate_config_directories.
  "$(postconf -h daemon_directory)/master" -c "$work/pf/etc" -d >"$work/pf/master.log" 2>&1 &
  PF_PID=$!
  sleep 1
}
