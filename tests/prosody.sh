#!/usr/bin/env bash
# tests/prosody.sh - start/stop a throwaway Prosody for the XEP-0077 test suite.
#
#   tests/prosody.sh start DIR [C2S_PORT] [DIRECT_TLS_PORT]   (defaults 15222, 15223)
#   tests/prosody.sh stop DIR
#
# Everything (certificates, config, data, pid file, logs) lives in DIR.
# Prosody listens on 127.0.0.1 only: c2s with STARTTLS on C2S_PORT and
# c2s direct TLS (XEP-0368, prosody 0.12 "c2s_direct_tls_ports") on
# DIRECT_TLS_PORT. s2s, HTTP, components, legacy SSL and the admin socket
# are not loaded / bound. Written for prosody 0.12 (Debian 12).
#
# Files produced in DIR:
#   ca.pem ca.key                   test CA
#   server.crt server.key           CN=localhost, SAN localhost, reg.localhost,
#                                   closed.localhost, email.localhost,
#                                   throttle.localhost (signed by ca.pem)
#   wrongname.crt wrongname.key     signed by ca.pem, SAN wrong.example only
#   other-ca.pem other-ca.key       unrelated second CA
#   other.crt other.key             CN=localhost + same SANs, signed by other-ca
#   prosody.cfg.lua prosody.log prosody.out prosody.pid data/
#
# VirtualHosts:
#   localhost, reg.localhost  open registration (throttling off: no
#                             min_seconds_between_registrations, and
#                             127.0.0.1/::1 are in the default allowlist)
#   closed.localhost          allow_registration = false
#   email.localhost           open, additional_registration_fields = { "email+" }
#   throttle.localhost        open, min_seconds_between_registrations = 3600
#                             with an empty allowlist: the 2nd registration
#                             from 127.0.0.1 gets <policy-violation/> (wait)
#
# On success "start" prints exactly one line:
#   prosody: started on 127.0.0.1:PORT (pid N)
# and "stop" prints nothing. Any failure exits non-zero with diagnostics on
# stderr (including the tail of the prosody log).

set -eu

PROG=${0##*/}
START_TIMEOUT=15 # seconds
STOP_TIMEOUT=10  # seconds

die() {
	printf '%s: error: %s\n' "$PROG" "$*" >&2
	exit 1
}

usage() {
	printf 'usage: %s start DIR [C2S_PORT] [DIRECT_TLS_PORT]\n       %s stop DIR\n' "$PROG" "$PROG" >&2
	exit 2
}

# Does something accept TCP connections on 127.0.0.1:$1 ?
port_open() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

pid_alive() {
	kill -0 "$1" 2>/dev/null
}

# SIGTERM, wait up to STOP_TIMEOUT seconds, then SIGKILL.
kill_wait() {
	local deadline=$((SECONDS + STOP_TIMEOUT))
	kill -TERM "$1" 2>/dev/null || return 0
	while pid_alive "$1" && [ "$SECONDS" -lt "$deadline" ]; do
		sleep 0.1
	done
	if pid_alive "$1"; then
		printf '%s: prosody (pid %s) ignored SIGTERM, sending SIGKILL\n' "$PROG" "$1" >&2
		kill -KILL "$1" 2>/dev/null || true
		sleep 0.2
	fi
}

# Quote a string as a Lua string literal.
lua_str() {
	local s=$1
	s=${s//\\/\\\\}
	s=${s//\"/\\\"}
	printf '"%s"' "$s"
}

dump_log() {
	local f
	for f in "$DIR/prosody.out" "$DIR/prosody.log"; do
		if [ -s "$f" ]; then
			printf -- '---- tail of %s ----\n' "$f" >&2
			tail -n 40 "$f" >&2 || true
		fi
	done
}

check_port() {
	case $1 in
	'' | *[!0-9]*) die "invalid port: '$1'" ;;
	esac
	if [ "$1" -lt 1 ] || [ "$1" -gt 65535 ]; then die "invalid port: $1"; fi
}

# ---------------------------------------------------------------- certs ----

SAN_SERVER="DNS:localhost,DNS:reg.localhost,DNS:closed.localhost,DNS:email.localhost,DNS:throttle.localhost"

newkey() { # FILE
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null
	chmod 600 "$1"
}

make_ca() { # NAME CN
	newkey "$DIR/$1.key"
	openssl req -new -x509 -sha256 -days 30 -key "$DIR/$1.key" -out "$DIR/$1.pem" \
		-subj "/O=xep0077 tests/CN=$2" \
		-addext "basicConstraints=critical,CA:TRUE" \
		-addext "keyUsage=critical,keyCertSign,cRLSign" \
		-addext "subjectKeyIdentifier=hash" 2>/dev/null
}

make_leaf() { # BASENAME CN SAN CA-BASENAME
	local ext="$DIR/$1.ext"
	newkey "$DIR/$1.key"
	openssl req -new -sha256 -key "$DIR/$1.key" -out "$DIR/$1.csr" \
		-subj "/O=xep0077 tests/CN=$2" 2>/dev/null
	cat >"$ext" <<EOF
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth,clientAuth
subjectAltName=$3
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
EOF
	openssl x509 -req -sha256 -days 30 -in "$DIR/$1.csr" \
		-CA "$DIR/$4.pem" -CAkey "$DIR/$4.key" -CAcreateserial \
		-extfile "$ext" -out "$DIR/$1.crt" 2>/dev/null
	rm -f "$DIR/$1.csr" "$ext"
}

gen_certs() {
	make_ca ca "xep0077 test CA"
	make_leaf server localhost "$SAN_SERVER" ca
	make_leaf wrongname wrong.example "DNS:wrong.example" ca
	make_ca other-ca "xep0077 unrelated CA"
	make_leaf other localhost "$SAN_SERVER" other-ca
	rm -f "$DIR"/*.srl
	openssl verify -CAfile "$DIR/ca.pem" "$DIR/server.crt" >/dev/null 2>&1 ||
		die "generated server certificate does not verify against ca.pem"
}

# --------------------------------------------------------------- config ----

write_config() {
	local d; d=$(lua_str "$DIR")
	local is_root=false
	[ "$(id -u)" = 0 ] && is_root=true
	cat >"$DIR/prosody.cfg.lua" <<EOF
-- Generated by tests/prosody.sh: throwaway prosody for the xep0077 tests.
local dir = $d

-- Process. We never switch user: everything lives in DIR, so running as
-- root is allowed (mod_posix refuses root unless run_as_root = true).
run_as_root = $is_root
pidfile = dir .. "/prosody.pid"
data_path = dir .. "/data"
installer_plugin_path = dir .. "/data/custom_plugins"
plugin_paths = { }
certificates = dir .. "/certs"
umask = "077"
log = { debug = dir .. "/prosody.log" }

-- Network: loopback only, c2s (STARTTLS) + c2s direct TLS, nothing else.
use_ipv6 = false
interfaces = { "127.0.0.1" }
local_interfaces = { "127.0.0.1" }
c2s_interfaces = { "127.0.0.1" }
c2s_ports = { $C2S_PORT }
c2s_direct_tls_interfaces = { "127.0.0.1" }
c2s_direct_tls_ports = { $TLS_PORT }
legacy_ssl_interfaces = { "127.0.0.1" }
legacy_ssl_ports = { }
s2s_interfaces = { "127.0.0.1" }
s2s_ports = { }
s2s_direct_tls_interfaces = { "127.0.0.1" }
s2s_direct_tls_ports = { }
component_interfaces = { "127.0.0.1" }
component_ports = { }
http_interfaces = { "127.0.0.1" }
http_ports = { }
https_interfaces = { "127.0.0.1" }
https_ports = { }

admins = { }
modules_enabled = { "saslauth", "tls", "disco", "register", "ping" }
-- autoloaded by default; s2s is not wanted, offline storage is not needed
modules_disabled = { "s2s", "s2s_auth_certs", "offline" }

authentication = "internal_hashed"
storage = "internal"
default_storage = "internal"
c2s_require_encryption = true
s2s_require_encryption = true
allow_registration = false

ssl = {
	certificate = dir .. "/server.crt";
	key = dir .. "/server.key";
}

VirtualHost "localhost"
	allow_registration = true

VirtualHost "reg.localhost"
	allow_registration = true

VirtualHost "closed.localhost"
	allow_registration = false

VirtualHost "email.localhost"
	allow_registration = true
	additional_registration_fields = { "email+" }

VirtualHost "throttle.localhost"
	allow_registration = true
	min_seconds_between_registrations = 3600
	registration_allowlist = { }
	registration_whitelist = { }
EOF
}

# ---------------------------------------------------------------- start ----

HOSTS="localhost reg.localhost closed.localhost email.localhost throttle.localhost"

# prosody 0.12 logs no "startup complete" line; hosts are activated during
# "server-starting", right before the main loop runs.
all_hosts_up() {
	local h
	for h in $HOSTS; do
		grep -qxF "Activated host: $h" <(cut -f3- "$DIR/prosody.log") || return 1
	done
}

cmd_start() {
	check_port "$C2S_PORT"
	check_port "$TLS_PORT"
	[ "$C2S_PORT" != "$TLS_PORT" ] || die "C2S_PORT and DIRECT_TLS_PORT must differ"
	command -v prosody >/dev/null 2>&1 || die "prosody not found (apt-get install -y prosody)"
	command -v openssl >/dev/null 2>&1 || die "openssl not found (apt-get install -y openssl)"

	if [ -f "$DIR/prosody.pid" ]; then
		local old; old=$(cat "$DIR/prosody.pid" 2>/dev/null || true)
		if [ -n "$old" ] && pid_alive "$old"; then
			die "a prosody (pid $old) is already running for $DIR"
		fi
	fi
	if port_open "$C2S_PORT"; then die "127.0.0.1:$C2S_PORT is already in use"; fi
	if port_open "$TLS_PORT"; then die "127.0.0.1:$TLS_PORT is already in use"; fi

	rm -f "$DIR/prosody.pid" "$DIR/prosody.log" "$DIR/prosody.out"
	mkdir -p "$DIR/data" "$DIR/certs"
	chmod 700 "$DIR/data"
	gen_certs
	write_config
	printf '%s %s\n' "$C2S_PORT" "$TLS_PORT" >"$DIR/ports"

	# -F: stay in the foreground (we background it ourselves, so $! is
	# prosody's pid). nohup: survive the caller's terminal going away.
	nohup prosody -F --config "$DIR/prosody.cfg.lua" </dev/null >"$DIR/prosody.out" 2>&1 &
	local pid=$!
	printf '%s\n' "$pid" >"$DIR/prosody.launch.pid"

	local want_c2s="Activated service 'c2s' on [127.0.0.1]:$C2S_PORT"
	local want_tls="Activated service 'c2s_direct_tls' on [127.0.0.1]:$TLS_PORT"
	local deadline=$((SECONDS + START_TIMEOUT)) ok=0
	while [ "$SECONDS" -lt "$deadline" ]; do
		if ! pid_alive "$pid"; then
			break
		fi
		if [ -f "$DIR/prosody.log" ] &&
			grep -qF "$want_c2s" "$DIR/prosody.log" &&
			grep -qF "$want_tls" "$DIR/prosody.log" &&
			all_hosts_up &&
			port_open "$C2S_PORT" && port_open "$TLS_PORT"; then
			ok=1
			break
		fi
		sleep 0.1
	done

	if [ "$ok" != 1 ]; then
		if pid_alive "$pid"; then
			printf '%s: prosody did not come up within %ss\n' "$PROG" "$START_TIMEOUT" >&2
			kill_wait "$pid"
		else
			printf '%s: prosody exited during startup\n' "$PROG" >&2
		fi
		rm -f "$DIR/prosody.pid" "$DIR/prosody.launch.pid"
		dump_log
		exit 1
	fi

	# Startup errors that do not stop prosody (bad cert, module load
	# failure, port bind failure) must not go unnoticed either.
	if grep -F $'\terror\t' "$DIR/prosody.log" >&2; then
		printf '%s: prosody logged errors during startup\n' "$PROG" >&2
		kill_wait "$pid"
		rm -f "$DIR/prosody.pid" "$DIR/prosody.launch.pid"
		dump_log
		exit 1
	fi

	printf 'prosody: started on 127.0.0.1:%s (pid %s)\n' "$C2S_PORT" "$pid"
}

# ----------------------------------------------------------------- stop ----

cmd_stop() {
	local pid="" ports c2s="" tls=""
	if [ -s "$DIR/prosody.pid" ]; then
		pid=$(cat "$DIR/prosody.pid")
	elif [ -s "$DIR/prosody.launch.pid" ]; then
		pid=$(cat "$DIR/prosody.launch.pid")
	fi
	if [ -s "$DIR/ports" ]; then
		ports=$(cat "$DIR/ports")
		c2s=${ports%% *}
		tls=${ports##* }
	fi
	case $pid in *[!0-9]*) die "bad pid in $DIR: '$pid'" ;; esac

	# Idempotent: stopping an already-stopped server is not an error.
	if [ -n "$pid" ] && pid_alive "$pid"; then
		kill_wait "$pid"
		if pid_alive "$pid"; then die "could not kill prosody (pid $pid)"; fi
	fi

	local p deadline=$((SECONDS + STOP_TIMEOUT))
	for p in $c2s $tls; do
		while port_open "$p"; do
			[ "$SECONDS" -lt "$deadline" ] || die "127.0.0.1:$p still open after stopping prosody"
			sleep 0.1
		done
	done
	rm -f "$DIR/prosody.pid" "$DIR/prosody.launch.pid"
}

# ----------------------------------------------------------------- main ----

[ $# -ge 2 ] || usage
ACTION=$1
[ -d "$2" ] || die "DIR '$2' is not a directory"
DIR=$(cd "$2" && pwd -P)

case $ACTION in
start)
	[ $# -le 4 ] || usage
	C2S_PORT=${3:-15222}
	TLS_PORT=${4:-15223}
	cmd_start
	;;
stop)
	[ $# -eq 2 ] || usage
	cmd_stop
	;;
*) usage ;;
esac
