#!/usr/bin/env bash
# itest-daemons.sh — real daemons on 127.0.0.1 for mamori's integration tests.
#
# Usage: scripts/itest-daemons.sh [start|stop|status|env]      (default: start)
#
#   start   install what is missing (Debian 12, root), write configs, certificates and
#           the test user, start every daemon that is not running, wait for its ports,
#           prepare PostgreSQL/MariaDB, then run a smoke check with the Nagios plugins
#           plus a real mail round trip (SMTP 2525 -> Maildir -> IMAP). Idempotent: a
#           warm re-run changes nothing and restarts only daemons whose config changed.
#   stop    stop the daemons this script starts (not PostgreSQL/MariaDB).
#   status  one line per daemon: name, port(s), pid, up/down.
#   env     `export` lines for tests:  eval "$(scripts/itest-daemons.sh env)"
#
# State (configs, logs, pidfiles, certs, mtest's home) lives in $MAMORI_ITEST_DIR
# (default /tmp/mamori-itest). Postfix is the system instance (/etc/postfix,
# /var/spool/postfix), so there is one set of these daemons per machine.
#
# Test user: mtest / mtestpass (a real Unix user: ssh, ftp, imap, pop3, smtp auth,
# postgres, mariadb, http basic auth on /auth).
#
# Mail delivery works: mail to mtest@localhost sent to 127.0.0.1:2525 is delivered by
# Postfix's local(8) into $MAMORI_ITEST_DIR/home/mtest/Maildir/ and Dovecot serves the
# same Maildir over IMAP/POP3 (`start` checks this every time). Mail for any other
# domain is refused at RCPT TO with 550 (default_transport = error): nothing ever leaves
# the machine, so notification tests must send to mtest@localhost.
#
# Environment: MAMORI_ITEST_DIR (state dir), MAMORI_ITEST_TIMEOUT (seconds to wait for
# each daemon's port, default 30), MAMORI_ITEST_SKIP_SMOKE=1 (skip the smoke check).
# shellcheck disable=SC2034 # the MAMORI_ITEST_* variables are printed by `env` via ${!name}
set -euo pipefail

# ---------------------------------------------------------------------------
# Single source of truth: ports and names. `env` prints these.
# ---------------------------------------------------------------------------
MAMORI_ITEST_DIR=${MAMORI_ITEST_DIR:-/tmp/mamori-itest}
MAMORI_ITEST_HOST=127.0.0.1
MAMORI_ITEST_USER=mtest
MAMORI_ITEST_PASSWORD=mtestpass
MAMORI_ITEST_SSH_PORT=2222
MAMORI_ITEST_IMAP_PORT=10143       # plain, STARTTLS offered
MAMORI_ITEST_POP3_PORT=10110       # plain, STLS offered
MAMORI_ITEST_IMAPS_PORT=10993      # implicit TLS
MAMORI_ITEST_POP3S_PORT=10995      # implicit TLS
MAMORI_ITEST_SMTP_PORT=2525        # postfix, STARTTLS + AUTH PLAIN/LOGIN
MAMORI_ITEST_FTP_PORT=2121         # vsftpd, plain and AUTH TLS
MAMORI_ITEST_FTP_PASV_MIN=30000
MAMORI_ITEST_FTP_PASV_MAX=30019
MAMORI_ITEST_DNS_PORT=5353         # dnsmasq, zone monitor.test
MAMORI_ITEST_HTTP_PORT=8080        # nginx plain
MAMORI_ITEST_HTTPS_PORT=8443       # nginx, valid cert
MAMORI_ITEST_HTTPS_SOON_PORT=8444  # nginx, cert expiring in <= 5 days
MAMORI_ITEST_HTTPS_EXPIRED_PORT=8445  # nginx, expired cert
MAMORI_ITEST_PG_PORT=5432          # PostgreSQL (machine's own, trust)
MAMORI_ITEST_MYSQL_PORT=3306       # MariaDB (machine's own, root without password)
MAMORI_ITEST_NATS_PORT=4222        # NATS with JetStream (machine's own; started if down)
MAMORI_ITEST_DB_NAME=mamori_test

ENV_VARS=(MAMORI_ITEST_DIR MAMORI_ITEST_HOST MAMORI_ITEST_USER MAMORI_ITEST_PASSWORD
  MAMORI_ITEST_SSH_PORT MAMORI_ITEST_IMAP_PORT MAMORI_ITEST_POP3_PORT MAMORI_ITEST_IMAPS_PORT
  MAMORI_ITEST_POP3S_PORT MAMORI_ITEST_SMTP_PORT MAMORI_ITEST_FTP_PORT
  MAMORI_ITEST_FTP_PASV_MIN MAMORI_ITEST_FTP_PASV_MAX MAMORI_ITEST_DNS_PORT
  MAMORI_ITEST_HTTP_PORT MAMORI_ITEST_HTTPS_PORT MAMORI_ITEST_HTTPS_SOON_PORT
  MAMORI_ITEST_HTTPS_EXPIRED_PORT MAMORI_ITEST_PG_PORT MAMORI_ITEST_MYSQL_PORT MAMORI_ITEST_NATS_PORT
  MAMORI_ITEST_DB_NAME)

S=$MAMORI_ITEST_DIR
CERTS=$S/certs
LOGS=$S/logs
RUN=$S/run
HOME_MTEST=$S/home/$MAMORI_ITEST_USER
PLUGINS=/usr/lib/nagios/plugins
TIMEOUT=${MAMORI_ITEST_TIMEOUT:-30}

# Derived paths exported by `env` as well.
MAMORI_ITEST_CA=$CERTS/ca.pem
MAMORI_ITEST_CERT=$CERTS/valid.pem
MAMORI_ITEST_KEY=$CERTS/valid.key
MAMORI_ITEST_CERT_SOON=$CERTS/soon.pem
MAMORI_ITEST_KEY_SOON=$CERTS/soon.key
MAMORI_ITEST_CERT_EXPIRED=$CERTS/expired.pem
MAMORI_ITEST_KEY_EXPIRED=$CERTS/expired.key
MAMORI_ITEST_SSH_KEY=$S/ssh/client_ed25519           # private key authorized for mtest
MAMORI_ITEST_SSH_HOST_KEY=$S/ssh/host_ed25519.pub
MAMORI_ITEST_MAILDIR=$HOME_MTEST/Maildir
MAMORI_ITEST_FTP_FILE=pub/hello.txt                  # contains "hello from mamori\n"
MAMORI_ITEST_FTP_READONLY_DIR="readonly"              # STOR there is refused
MAMORI_ITEST_PG_DSN="postgres://mtest:mtestpass@127.0.0.1:$MAMORI_ITEST_PG_PORT/$MAMORI_ITEST_DB_NAME?sslmode=disable"
MAMORI_ITEST_MYSQL_DSN="mtest:mtestpass@tcp(127.0.0.1:$MAMORI_ITEST_MYSQL_PORT)/$MAMORI_ITEST_DB_NAME"
ENV_VARS+=(MAMORI_ITEST_CA MAMORI_ITEST_CERT MAMORI_ITEST_KEY MAMORI_ITEST_CERT_SOON
  MAMORI_ITEST_KEY_SOON MAMORI_ITEST_CERT_EXPIRED MAMORI_ITEST_KEY_EXPIRED
  MAMORI_ITEST_SSH_KEY MAMORI_ITEST_SSH_HOST_KEY MAMORI_ITEST_MAILDIR
  MAMORI_ITEST_FTP_FILE MAMORI_ITEST_FTP_READONLY_DIR MAMORI_ITEST_PG_DSN
  MAMORI_ITEST_MYSQL_DSN)

# Daemons this script owns: name -> ports (first one is waited for last), binary.
DAEMONS=(sshd dovecot postfix vsftpd dnsmasq nginx)
declare -A D_PORTS=(
  [sshd]="$MAMORI_ITEST_SSH_PORT"
  [dovecot]="$MAMORI_ITEST_IMAP_PORT $MAMORI_ITEST_POP3_PORT $MAMORI_ITEST_IMAPS_PORT $MAMORI_ITEST_POP3S_PORT"
  [postfix]="$MAMORI_ITEST_SMTP_PORT"
  [vsftpd]="$MAMORI_ITEST_FTP_PORT"
  [dnsmasq]="$MAMORI_ITEST_DNS_PORT"
  [nginx]="$MAMORI_ITEST_HTTP_PORT $MAMORI_ITEST_HTTPS_PORT $MAMORI_ITEST_HTTPS_SOON_PORT $MAMORI_ITEST_HTTPS_EXPIRED_PORT"
)
declare -A D_EXE=(
  [sshd]=/usr/sbin/sshd [dovecot]=/usr/sbin/dovecot [postfix]=/usr/lib/postfix/sbin/master
  [vsftpd]=/usr/sbin/vsftpd [dnsmasq]=/usr/sbin/dnsmasq [nginx]=/usr/sbin/nginx
)
POSTFIX_QUEUE=/var/spool/postfix
declare -A D_PIDFILE=(
  [sshd]=$RUN/sshd.pid [dovecot]=$S/dovecot/run/master.pid
  [postfix]=$POSTFIX_QUEUE/pid/master.pid [vsftpd]=$RUN/vsftpd.pid
  [dnsmasq]=$RUN/dnsmasq.pid [nginx]=$RUN/nginx.pid
)
declare -A D_LOG=(
  [sshd]=$LOGS/sshd.log [dovecot]=$LOGS/dovecot.log [postfix]=$LOGS/postfix.log
  [vsftpd]=$LOGS/vsftpd.log [dnsmasq]=$LOGS/dnsmasq.log [nginx]=$LOGS/nginx-error.log
)

PACKAGES=(openssh-server dovecot-imapd dovecot-pop3d postfix vsftpd dnsmasq nginx
  monitoring-plugins monitoring-plugins-basic monitoring-plugins-standard
  bind9-dnsutils libmariadb3 libpq5 iputils-ping openssl ca-certificates iproute2
  chromium fonts-ipafont-gothic prometheus rpm cpio systemd
  fonts-ipaexfont-gothic poppler-utils nats-server)
# nats-server: the machine's NATS with JetStream on 127.0.0.1:4222 (started below when
# down) and the pollers' end-to-end tests, which start their own on free ports.
# bind9-dnsutils (dig, nslookup), libmariadb3 and libpq5 are only Recommends of
# monitoring-plugins-standard, but check_dig/check_dns/check_mysql/check_pgsql need them.
# chromium (/usr/bin/chromium): the console's browser tests (cmd/mamori/browser_e2e_test.go);
# fonts-ipafont-gothic so that the Japanese pages of its screenshots show Japanese.
# prometheus: the remote-write test starts its own instance (and promtool checks
# /metrics); rpm, cpio, systemd (systemd-analyze): scripts/release-check.sh.
# fonts-ipaexfont-gothic: the font embedded (subset) in PDF reports; poppler-utils
# (pdfinfo, pdftotext, pdftoppm): the report tests open and read the PDFs.
REQUIRED_PLUGINS=(check_http check_tcp check_ssh check_smtp check_dig check_dns check_ftp
  check_imap check_pop check_mysql check_pgsql check_dummy)

# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------
say() { printf '==> %s\n' "$*"; }
die() { printf 'itest-daemons: ERROR: %s\n' "$*" >&2; exit 1; }

need_root() { [[ $(id -u) == 0 ]] || die "must run as root (installs packages, creates user mtest)"; }

# put_conf PATH [MODE] < content: write PATH only if the content differs; true if changed.
put_conf() {
  local path=$1 mode=${2:-644} tmp
  tmp=$(mktemp "$path.XXXXXX")
  cat >"$tmp"
  chmod "$mode" "$tmp"
  if [[ -f $path ]] && cmp -s "$tmp" "$path"; then rm -f "$tmp"; return 1; fi
  mv -f "$tmp" "$path"
  return 0
}

# alive PID: the process exists and is not a zombie (pid 1 here reaps slowly).
alive() {
  local st
  st=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  st=${st##*) }
  [[ ${st%% *} != Z ]]
}

listening() { [[ -n $(ss -Hltn "sport = :$1" 2>/dev/null) ]]; }
port_users() { ss -Hltnp "sport = :$1" 2>/dev/null | sed -n 's/.*users:(\(.*\))/\1/p' | head -1; }

# daemon_pid NAME: print the pid of our running daemon, or fail.
daemon_pid() {
  local f=${D_PIDFILE[$1]} pid exe
  [[ -r $f ]] || return 1
  read -r pid <"$f" 2>/dev/null || return 1
  [[ $pid =~ ^[0-9]+$ ]] && alive "$pid" || return 1
  exe=$(readlink "/proc/$pid/exe" 2>/dev/null || true)
  [[ -z $exe || $exe == "${D_EXE[$1]}"* ]] || return 1
  echo "$pid"
}

# our_listener_pids NAME: pids listening on NAME's ports whose command line names our
# state dir: a daemon of ours whose pidfile is gone (state dir wiped while it ran).
our_listener_pids() {
  local p pid
  for p in ${D_PORTS[$1]}; do
    for pid in $(ss -Hltnp "sport = :$p" 2>/dev/null | grep -o 'pid=[0-9]*' | cut -d= -f2); do
      tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "$S/" && echo "$pid"
    done
  done | sort -u
}

ports_up() { local p; for p in ${D_PORTS[$1]}; do listening "$p" || return 1; done; }

# wait_ports NAME [PID]: wait until every port of NAME accepts connections.
wait_ports() {
  local name=$1 pid=${2:-} p i
  for p in ${D_PORTS[$name]}; do
    for ((i = 0; i < TIMEOUT * 10; i++)); do
      listening "$p" && continue 2
      if [[ -n $pid ]] && ! alive "$pid"; then
        tail -n 20 "${D_LOG[$name]}" >&2 2>/dev/null || true
        die "$name exited before listening on 127.0.0.1:$p; see ${D_LOG[$name]}"
      fi
      sleep 0.1
    done
    tail -n 20 "${D_LOG[$name]}" >&2 2>/dev/null || true
    die "$name is not listening on 127.0.0.1:$p after ${TIMEOUT}s; see ${D_LOG[$name]}"
  done
}

ensure_ports_free() {
  local name=$1 p
  for p in ${D_PORTS[$name]}; do
    if listening "$p"; then
      die "port $p needed by $name is already taken by something else: $(port_users "$p" || echo unknown process). Stop it (or run '$0 stop' if it is a stale daemon of this script)."
    fi
  done
}

# stop_daemon NAME: stop our daemon and wait for it and its ports to go away.
stop_daemon() {
  local name=$1 pid i p
  if [[ $name == postfix ]]; then
    if postfix status >/dev/null 2>&1; then
      pid=$(daemon_pid postfix || true)
      postfix stop >/dev/null 2>&1 || true
    else
      return 0
    fi
  else
    pid=$(daemon_pid "$name" || our_listener_pids "$name" | head -1)
    [[ -n $pid ]] || { rm -f "${D_PIDFILE[$name]}"; return 0; }
    kill -TERM "$pid" 2>/dev/null || true
  fi
  if [[ -n ${pid:-} ]]; then
    for ((i = 0; i < 100; i++)); do alive "$pid" || break; sleep 0.05; done
    if alive "$pid"; then kill -KILL "$pid" 2>/dev/null || true; sleep 0.2; fi
  fi
  for p in ${D_PORTS[$name]}; do
    for ((i = 0; i < 100; i++)); do listening "$p" || break; sleep 0.05; done
  done
  [[ $name == postfix ]] || rm -f "${D_PIDFILE[$name]}"
  say "stopped $name${pid:+ (pid $pid)}"
}

# bg NAME CMD...: start CMD detached, log to NAME's log, print its pid.
bg() {
  local name=$1; shift
  setsid nohup "$@" >>"${D_LOG[$name]}" 2>&1 </dev/null &
  echo $!
}

# ensure_daemon NAME CHANGED START_FN: start NAME unless running; restart if CHANGED=1.
ensure_daemon() {
  local name=$1 changed=$2 fn=$3 pid
  if pid=$(daemon_pid "$name"); then
    if [[ $changed == 1 ]]; then
      say "restarting $name (config or certificates changed)"
      stop_daemon "$name"
    else
      wait_ports "$name" "$pid"
      say "$name already running (pid $pid) on ${D_PORTS[$name]// /,}"
      return 0
    fi
  else
    stop_daemon "$name" # a stale daemon of ours without pidfile, if any
  fi
  ensure_ports_free "$name"
  say "starting $name on ${D_PORTS[$name]// /,}"
  pid=$("$fn")
  wait_ports "$name" "$pid"
}

# ---------------------------------------------------------------------------
# 1. packages
# ---------------------------------------------------------------------------
install_packages() {
  local missing=() p s
  local -A st=()
  while read -r p s; do st[$p]=$s; done < <(dpkg-query -W -f='${Package} ${db:Status-Abbrev}\n' "${PACKAGES[@]}" 2>/dev/null || true)
  for p in "${PACKAGES[@]}"; do [[ ${st[$p]:-} == ii ]] || missing+=("$p"); done
  if ((${#missing[@]})); then
    say "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    echo 'postfix postfix/main_mailer_type select No configuration' | debconf-set-selections
    echo 'postfix postfix/mailname string mail.monitor.test' | debconf-set-selections
    local try
    for try in 1 2 3 4 5 6; do # another apt may hold the lists lock for a while
      apt-get update -qq >"$LOGS/apt.log" 2>&1 && break
      ((try < 6)) || { tail -n 20 "$LOGS/apt.log" >&2; die "apt-get update failed; see $LOGS/apt.log"; }
      sleep 10
    done
    apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=300 \
      -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${missing[@]}" >>"$LOGS/apt.log" 2>&1 ||
      { tail -n 30 "$LOGS/apt.log" >&2; die "apt-get install failed; see $LOGS/apt.log"; }
  fi
  for p in "${REQUIRED_PLUGINS[@]}"; do
    [[ -x $PLUGINS/$p ]] || die "monitoring plugin $PLUGINS/$p is missing after install"
  done
  command -v dig >/dev/null || die "dig is missing (bind9-dnsutils), check_dig needs it"
}

# ---------------------------------------------------------------------------
# 2.-4. state dir, certificates, user
# ---------------------------------------------------------------------------
make_dirs() {
  # Dovecot's longest socket is $S/dovecot/run/token-login/imap-urlauth (limit 107).
  ((${#S} <= 70)) || die "MAMORI_ITEST_DIR is too long (${#S} > 70 characters) for Dovecot's unix sockets"
  mkdir -p "$S" "$CERTS" "$LOGS" "$RUN" "$S/home" "$S/ssh" "$S/dovecot/run" "$S/dovecot/state" \
    "$S/nginx/tmp" "$S/nginx/www" "$S/vsftpd" "$S/dnsmasq"
  chmod 755 "$S" "$S/home" "$LOGS" "$RUN"
  chmod 755 "$CERTS" # the CA and certs are public; keys stay 0600
}

CERTS_CHANGED=0
ca_conf() {
  cat <<EOF
[ req ]
distinguished_name = dn
prompt = no
[ dn ]
CN = mamori test CA
[ ca_ext ]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[ ca ]
default_ca = itest
[ itest ]
dir = $CERTS/ca-db
database = \$dir/index.txt
new_certs_dir = \$dir/new
serial = \$dir/serial
certificate = $CERTS/ca.pem
private_key = $CERTS/ca.key
default_md = sha256
policy = pol
unique_subject = no
email_in_dn = no
copy_extensions = none
[ pol ]
commonName = supplied
[ srv_ext ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost,IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid,issuer
EOF
}

# issue NAME STARTDATE ENDDATE (YYMMDDHHMMSSZ, UTC)
issue_cert() {
  local name=$1 start=$2 end=$3
  openssl req -new -newkey rsa:2048 -nodes -keyout "$CERTS/$name.key" -out "$CERTS/$name.csr" \
    -subj /CN=localhost 2>/dev/null
  chmod 600 "$CERTS/$name.key"
  openssl ca -batch -config "$CERTS/ca.cnf" -extensions srv_ext -rand_serial -notext \
    -startdate "$start" -enddate "$end" -in "$CERTS/$name.csr" -out "$CERTS/$name.pem" \
    >>"$LOGS/openssl.log" 2>&1 || { tail "$LOGS/openssl.log" >&2; die "openssl ca failed for $name"; }
  rm -f "$CERTS/$name.csr"
  CERTS_CHANGED=1
}

utc() { date -u -d "$1" +%y%m%d%H%M%SZ; }

make_certs() {
  ca_conf | put_conf "$CERTS/ca.cnf" || true
  mkdir -p "$CERTS/ca-db/new"
  touch "$CERTS/ca-db/index.txt"
  [[ -s $CERTS/ca-db/serial ]] || openssl rand -hex 16 >"$CERTS/ca-db/serial"
  local day=86400
  if ! [[ -s $CERTS/ca.pem && -s $CERTS/ca.key ]] ||
    ! openssl x509 -checkend $((60 * day)) -noout -in "$CERTS/ca.pem" >/dev/null 2>&1; then
    say "creating test CA $CERTS/ca.pem"
    openssl req -x509 -new -newkey rsa:2048 -nodes -days 3650 -config "$CERTS/ca.cnf" \
      -extensions ca_ext -keyout "$CERTS/ca.key" -out "$CERTS/ca.pem" 2>/dev/null
    chmod 600 "$CERTS/ca.key"
    rm -f "$CERTS"/{valid,soon,expired}.pem
    : >"$CERTS/ca-db/index.txt"
    CERTS_CHANGED=1
  fi
  if ! [[ -s $CERTS/valid.pem ]] || ! openssl x509 -checkend $((30 * day)) -noout -in "$CERTS/valid.pem" >/dev/null 2>&1; then
    say "issuing valid.pem (localhost, 127.0.0.1; 365 days)"
    issue_cert valid "$(utc '-1 hour')" "$(utc '+365 days')"
  fi
  # "soon" must expire within 5 days but not be expired: renew when < 2 days are left.
  if ! [[ -s $CERTS/soon.pem ]] || ! openssl x509 -checkend $((2 * day)) -noout -in "$CERTS/soon.pem" >/dev/null 2>&1; then
    say "issuing soon.pem (expires in 5 days)"
    issue_cert soon "$(utc '-1 hour')" "$(utc '+5 days')"
  fi
  if ! [[ -s $CERTS/expired.pem ]] || openssl x509 -checkend 0 -noout -in "$CERTS/expired.pem" >/dev/null 2>&1; then
    say "issuing expired.pem (expired yesterday)"
    issue_cert expired "$(utc '-30 days')" "$(utc '-1 day')"
  fi
  chmod 644 "$CERTS"/*.pem
}

make_user() {
  local u=$MAMORI_ITEST_USER h=$HOME_MTEST
  if ! id "$u" >/dev/null 2>&1; then
    say "creating user $u (home $h)"
    useradd -M -U -d "$h" -s /bin/bash "$u"
    rm -f "$S/.password-set"
  elif [[ $(getent passwd "$u" | cut -d: -f6) != "$h" ]]; then
    usermod -d "$h" "$u"
  fi
  # keep the password right without paying chpasswd's hashing cost every run
  if [[ ! -f $S/.password-set ]]; then
    echo "$u:$MAMORI_ITEST_PASSWORD" | chpasswd
    touch "$S/.password-set"
  fi
  local uid gid
  uid=$(id -u "$u") gid=$(id -g "$u")
  ((uid >= 1000)) || die "user $u has uid $uid < 1000 (dovecot first_valid_uid)"
  mkdir -p "$h/Maildir/cur" "$h/Maildir/new" "$h/Maildir/tmp" "$h/pub" "$h/readonly" "$h/.ssh"
  chown "$uid:$gid" "$h" "$h/Maildir" "$h/Maildir/cur" "$h/Maildir/new" "$h/Maildir/tmp" "$h/pub" "$h/.ssh"
  chmod 755 "$h" "$h/pub"
  chmod 700 "$h/Maildir" "$h/.ssh"
  if ! cmp -s "$h/pub/hello.txt" <(printf 'hello from mamori\n'); then
    printf 'hello from mamori\n' >"$h/pub/hello.txt"
  fi
  chown "$uid:$gid" "$h/pub/hello.txt"
  chmod 644 "$h/pub/hello.txt"
  chown root:root "$h/readonly"
  chmod 755 "$h/readonly"
  # ssh client key for key-based login tests
  [[ -f $S/ssh/client_ed25519 ]] || ssh-keygen -q -t ed25519 -N '' -C mamori-itest -f "$S/ssh/client_ed25519"
  if ! cmp -s "$S/ssh/client_ed25519.pub" "$h/.ssh/authorized_keys" 2>/dev/null; then
    cp "$S/ssh/client_ed25519.pub" "$h/.ssh/authorized_keys"
  fi
  chown "$uid:$gid" "$h/.ssh/authorized_keys"
  chmod 600 "$h/.ssh/authorized_keys"
}

# ---------------------------------------------------------------------------
# 5. daemons
# ---------------------------------------------------------------------------
start_sshd_fn() { bg sshd /usr/sbin/sshd -D -e -f "$S/ssh/sshd_config"; }
setup_sshd() {
  local changed=0
  mkdir -p /run/sshd && chmod 755 /run/sshd
  [[ -f $S/ssh/host_ed25519 ]] || ssh-keygen -q -t ed25519 -N '' -C mamori-itest-host -f "$S/ssh/host_ed25519"
  put_conf "$S/ssh/sshd_config" <<EOF && changed=1
Port $MAMORI_ITEST_SSH_PORT
ListenAddress 127.0.0.1
HostKey $S/ssh/host_ed25519
PidFile ${D_PIDFILE[sshd]}
PasswordAuthentication yes
KbdInteractiveAuthentication no
PubkeyAuthentication yes
AuthorizedKeysFile .ssh/authorized_keys
UsePAM yes
StrictModes no
PermitRootLogin no
PrintMotd no
MaxStartups 50:30:100
Subsystem sftp internal-sftp
EOF
  if ((changed)); then /usr/sbin/sshd -t -f "$S/ssh/sshd_config" || die "sshd config invalid: $S/ssh/sshd_config"; fi
  ensure_daemon sshd "$changed" start_sshd_fn
}

# Postfix: the system instance, configured with postconf. Only differing settings are
# written: every `postconf -e` bumps main.cf's mtime and the next Postfix command then
# waits ~2 s for the file to "settle".
configure_postfix() {
  local changed=1 line n v svc
  local -A want=(
    [myhostname]=mail.monitor.test
    [myorigin]='$myhostname'
    [mydestination]='$myhostname, localhost, localhost.localdomain'
    [inet_interfaces]=loopback-only
    [inet_protocols]=ipv4
    [mynetworks]=127.0.0.0/8
    [relayhost]=''
    [default_transport]='error:mamori itest: delivery outside this machine is disabled'
    [relay_transport]='error:mamori itest: delivery outside this machine is disabled'
    [smtpd_banner]='$myhostname ESMTP'
    [biff]=no
    [append_dot_mydomain]=no
    [compatibility_level]=3.6
    [alias_maps]=hash:/etc/aliases
    [alias_database]=hash:/etc/aliases
    [home_mailbox]=Maildir/
    [mailbox_command]=''
    [smtpd_tls_cert_file]=$MAMORI_ITEST_CERT
    [smtpd_tls_key_file]=$MAMORI_ITEST_KEY
    [smtpd_tls_security_level]=may
    [smtpd_tls_auth_only]=no
    [smtp_tls_security_level]=none
    [smtpd_sasl_type]=dovecot
    [smtpd_sasl_path]=private/auth
    [smtpd_sasl_auth_enable]=yes
    [smtpd_relay_restrictions]='permit_mynetworks permit_sasl_authenticated defer_unauth_destination'
    [maillog_file]=${D_LOG[postfix]}
    [maillog_file_prefixes]="/var, /dev/stdout, $LOGS"
  )
  local -A have=()
  local edits=()
  [[ -f /etc/postfix/main.cf ]] || cp /usr/share/postfix/main.cf.debian /etc/postfix/main.cf 2>/dev/null || touch /etc/postfix/main.cf
  while IFS= read -r line; do
    n=${line%% =*} v=${line#*=}
    have[$n]=${v# }
  done < <(postconf -n 2>/dev/null)
  for n in "${!want[@]}"; do
    [[ ${have[$n]-<unset>} == "${want[$n]}" ]] || edits+=("$n = ${want[$n]}")
  done
  ((${#edits[@]})) && { postconf -e "${edits[@]}"; changed=0; }
  # master.cf: no listener on :25, ours on 127.0.0.1:2525, and no chroot anywhere
  # (chroot would need copies of resolv.conf and friends in the queue dir).
  if [[ -n $(postconf -M smtp/inet 2>/dev/null) ]]; then postconf -MX smtp/inet; changed=0; fi
  svc="127.0.0.1:$MAMORI_ITEST_SMTP_PORT inet n - n - - smtpd"
  if [[ $(postconf -M "127.0.0.1:$MAMORI_ITEST_SMTP_PORT/inet" 2>/dev/null | tr -s ' ') != "$svc" ]]; then
    postconf -M "127.0.0.1:$MAMORI_ITEST_SMTP_PORT/inet=$svc"
    changed=0
  fi
  if postconf -F '*/*/chroot' 2>/dev/null | grep -qv '= n$'; then postconf -F '*/*/chroot = n'; changed=0; fi
  [[ -f /etc/aliases ]] || printf 'postmaster: root\n' >/etc/aliases
  [[ /etc/aliases.db -nt /etc/aliases ]] || newaliases
  return $changed
}

start_dovecot_fn() { bg dovecot /usr/sbin/dovecot -F -c "$S/dovecot/dovecot.conf"; }
setup_dovecot() {
  local changed=$1 uid gid dh=""
  uid=$(id -u "$MAMORI_ITEST_USER") gid=$(id -g "$MAMORI_ITEST_USER")
  [[ -f /usr/share/dovecot/dh.pem ]] && dh="ssl_dh = </usr/share/dovecot/dh.pem"
  put_conf "$S/dovecot/users" 644 <<EOF && changed=1
$MAMORI_ITEST_USER:{PLAIN}$MAMORI_ITEST_PASSWORD:$uid:$gid::$HOME_MTEST::
EOF
  put_conf "$S/dovecot/dovecot.conf" <<EOF && changed=1
# generated by scripts/itest-daemons.sh
protocols = imap pop3
listen = 127.0.0.1
base_dir = $S/dovecot/run
state_dir = $S/dovecot/state
instance_name = mamori-itest
log_path = ${D_LOG[dovecot]}
ssl = yes
ssl_cert = <$MAMORI_ITEST_CERT
ssl_key = <$MAMORI_ITEST_KEY
$dh
disable_plaintext_auth = no
auth_failure_delay = 0
auth_mechanisms = plain login cram-md5
auth_verbose = yes
first_valid_uid = 1000
mail_location = maildir:~/Maildir
namespace inbox {
  inbox = yes
}
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $S/dovecot/users
}
userdb {
  driver = passwd-file
  args = username_format=%u $S/dovecot/users
}
service imap-login {
  inet_listener imap {
    port = $MAMORI_ITEST_IMAP_PORT
  }
  inet_listener imaps {
    port = $MAMORI_ITEST_IMAPS_PORT
    ssl = yes
  }
}
service pop3-login {
  inet_listener pop3 {
    port = $MAMORI_ITEST_POP3_PORT
  }
  inet_listener pop3s {
    port = $MAMORI_ITEST_POP3S_PORT
    ssl = yes
  }
}
service auth {
  unix_listener $POSTFIX_QUEUE/private/auth {
    mode = 0660
    user = postfix
    group = postfix
  }
}
EOF
  if ((changed)); then doveconf -c "$S/dovecot/dovecot.conf" -n >/dev/null || die "dovecot config invalid: $S/dovecot/dovecot.conf"; fi
  ensure_daemon dovecot "$changed" start_dovecot_fn
}

start_postfix_fn() {
  postfix check >>"${D_LOG[postfix]}" 2>&1 || true
  postfix start >>"${D_LOG[postfix]}" 2>&1 || { tail -n 20 "${D_LOG[postfix]}" >&2; die "postfix start failed; see ${D_LOG[postfix]}"; }
  local i
  for ((i = 0; i < 50; i++)); do daemon_pid postfix 2>/dev/null && return 0; sleep 0.1; done
  echo ""
}
setup_postfix() {
  local changed=$1 pid
  if pid=$(daemon_pid postfix) && ((changed)); then
    # A reload picks up main.cf/master.cf and certificates without dropping the queue.
    say "reloading postfix (config or certificates changed)"
    postfix reload >>"${D_LOG[postfix]}" 2>&1
    changed=0
  fi
  ensure_daemon postfix "$changed" start_postfix_fn
}

start_vsftpd_fn() {
  local pid
  pid=$(bg vsftpd /usr/sbin/vsftpd "$S/vsftpd/vsftpd.conf")
  echo "$pid" >"${D_PIDFILE[vsftpd]}"
  echo "$pid"
}
setup_vsftpd() {
  local changed=$1
  mkdir -p /var/run/vsftpd/empty
  put_conf "$S/vsftpd/vsftpd.conf" 600 <<EOF && changed=1
# generated by scripts/itest-daemons.sh
listen=YES
listen_ipv6=NO
listen_address=127.0.0.1
listen_port=$MAMORI_ITEST_FTP_PORT
background=NO
anonymous_enable=NO
local_enable=YES
write_enable=YES
local_umask=022
chroot_local_user=NO
pam_service_name=vsftpd
secure_chroot_dir=/var/run/vsftpd/empty
pasv_enable=YES
pasv_address=127.0.0.1
pasv_min_port=$MAMORI_ITEST_FTP_PASV_MIN
pasv_max_port=$MAMORI_ITEST_FTP_PASV_MAX
seccomp_sandbox=NO
xferlog_enable=YES
log_ftp_protocol=YES
vsftpd_log_file=$LOGS/vsftpd-xfer.log
ssl_enable=YES
rsa_cert_file=$MAMORI_ITEST_CERT
rsa_private_key_file=$MAMORI_ITEST_KEY
allow_anon_ssl=NO
force_local_logins_ssl=NO
force_local_data_ssl=NO
require_ssl_reuse=NO
ssl_ciphers=HIGH
EOF
  ensure_daemon vsftpd "$changed" start_vsftpd_fn
}

start_dnsmasq_fn() { bg dnsmasq /usr/sbin/dnsmasq --keep-in-foreground --conf-file="$S/dnsmasq/dnsmasq.conf"; }
setup_dnsmasq() {
  local changed=0
  put_conf "$S/dnsmasq/dnsmasq.conf" <<EOF && changed=1
# generated by scripts/itest-daemons.sh
port=$MAMORI_ITEST_DNS_PORT
listen-address=127.0.0.1
bind-interfaces
no-resolv
no-hosts
no-poll
user=root
pid-file=${D_PIDFILE[dnsmasq]}
log-facility=${D_LOG[dnsmasq]}
log-queries
local=/monitor.test/
host-record=app.monitor.test,10.20.30.40
host-record=v6.monitor.test,fd00::1
txt-record=txt.monitor.test,"mamori-ok"
mx-host=monitor.test,mail.monitor.test,10
cname=www.monitor.test,app.monitor.test
EOF
  ensure_daemon dnsmasq "$changed" start_dnsmasq_fn
}

start_nginx_fn() { bg nginx /usr/sbin/nginx -p "$S/nginx" -e "${D_LOG[nginx]}" -c "$S/nginx/nginx.conf"; }
setup_nginx() {
  local changed=$1 n=$S/nginx
  printf 'auth ok' | put_conf "$n/www/auth.txt" || true
  if ! [[ -s $n/htpasswd ]] || ! grep -q "^$MAMORI_ITEST_USER:" "$n/htpasswd"; then
    printf '%s:%s\n' "$MAMORI_ITEST_USER" "$(openssl passwd -apr1 "$MAMORI_ITEST_PASSWORD")" >"$n/htpasswd"
    chmod 644 "$n/htpasswd"
  fi
  put_conf "$n/locations.conf" <<EOF && changed=1
# generated by scripts/itest-daemons.sh: the same locations on every port
location = / { return 200 "ok"; }
location = /ok { return 200 "ok mamori"; }
location = /notfound { return 404 "not found"; }
location = /fail { return 503 "service unavailable"; }
location = /redirect { return 302 /ok; }
location = /json { default_type application/json; return 200 '{"status":"up"}'; }
# 'return' would run before auth_basic, so /auth serves a file instead.
location = /auth {
  auth_basic "mamori";
  auth_basic_user_file $n/htpasswd;
  alias $n/www/auth.txt;
}
location / { return 404 "not found"; }
EOF
  put_conf "$n/nginx.conf" <<EOF && changed=1
# generated by scripts/itest-daemons.sh
daemon off;
user www-data;
worker_processes 1;
pid ${D_PIDFILE[nginx]};
error_log ${D_LOG[nginx]};
events { worker_connections 256; }
http {
  access_log $LOGS/nginx-access.log;
  client_body_temp_path $n/tmp/client;
  proxy_temp_path $n/tmp/proxy;
  fastcgi_temp_path $n/tmp/fastcgi;
  uwsgi_temp_path $n/tmp/uwsgi;
  scgi_temp_path $n/tmp/scgi;
  default_type text/plain;
  absolute_redirect off;
  ssl_protocols TLSv1.2 TLSv1.3;
  server {
    listen 127.0.0.1:$MAMORI_ITEST_HTTP_PORT;
    include $n/locations.conf;
  }
  server {
    listen 127.0.0.1:$MAMORI_ITEST_HTTPS_PORT ssl;
    ssl_certificate $MAMORI_ITEST_CERT;
    ssl_certificate_key $MAMORI_ITEST_KEY;
    include $n/locations.conf;
  }
  server {
    listen 127.0.0.1:$MAMORI_ITEST_HTTPS_SOON_PORT ssl;
    ssl_certificate $MAMORI_ITEST_CERT_SOON;
    ssl_certificate_key $MAMORI_ITEST_KEY_SOON;
    include $n/locations.conf;
  }
  server {
    listen 127.0.0.1:$MAMORI_ITEST_HTTPS_EXPIRED_PORT ssl;
    ssl_certificate $MAMORI_ITEST_CERT_EXPIRED;
    ssl_certificate_key $MAMORI_ITEST_KEY_EXPIRED;
    include $n/locations.conf;
  }
}
EOF
  if ((changed)); then
    /usr/sbin/nginx -t -q -p "$n" -e "${D_LOG[nginx]}" -c "$n/nginx.conf" || die "nginx config invalid: $n/nginx.conf"
  fi
  ensure_daemon nginx "$changed" start_nginx_fn
}

# ---------------------------------------------------------------------------
# PostgreSQL and MariaDB (the machine's own; started only if down, never stopped)
# ---------------------------------------------------------------------------
wait_tcp_external() {
  local name=$1 port=$2 log=$3 i
  for ((i = 0; i < TIMEOUT * 10; i++)); do listening "$port" && return 0; sleep 0.1; done
  die "$name is not listening on 127.0.0.1:$port after ${TIMEOUT}s; see $log"
}

# setup_nats starts the machine's NATS with JetStream on 127.0.0.1:4222 when
# nothing listens there (the pollers' tests start their own servers besides).
setup_nats() {
  listening "$MAMORI_ITEST_NATS_PORT" && { say "NATS ready on $MAMORI_ITEST_NATS_PORT"; return 0; }
  say "starting NATS (JetStream) on $MAMORI_ITEST_NATS_PORT"
  mkdir -p /var/lib/nats-server
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- \
    -a 127.0.0.1 -p "$MAMORI_ITEST_NATS_PORT" -js -sd /var/lib/nats-server -l /var/log/nats-server.log
  wait_tcp_external NATS "$MAMORI_ITEST_NATS_PORT" /var/log/nats-server.log
}

setup_postgres() {
  local v ok
  if ! listening "$MAMORI_ITEST_PG_PORT"; then
    v=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -1)
    [[ -n $v ]] || die "PostgreSQL is not installed (no /etc/postgresql/*) and nothing listens on $MAMORI_ITEST_PG_PORT"
    say "starting PostgreSQL $v on $MAMORI_ITEST_PG_PORT"
    pg_ctlcluster --skip-systemctl-redirect "$v" main start
    wait_tcp_external PostgreSQL "$MAMORI_ITEST_PG_PORT" "/var/log/postgresql/postgresql-$v-main.log"
  fi
  ok=$(psql -X -h 127.0.0.1 -p "$MAMORI_ITEST_PG_PORT" -U mtest -d "$MAMORI_ITEST_DB_NAME" -tAc \
    "select v from kv where k='answer'" 2>/dev/null || true)
  if [[ $ok == 42 ]]; then
    say "PostgreSQL ready on $MAMORI_ITEST_PG_PORT (db $MAMORI_ITEST_DB_NAME, user mtest)"
    return 0
  fi
  say "preparing PostgreSQL database $MAMORI_ITEST_DB_NAME for mtest"
  local psql=(psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$MAMORI_ITEST_PG_PORT" -U postgres)
  "${psql[@]}" -d postgres <<EOF
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'mtest') THEN CREATE ROLE mtest LOGIN; END IF;
END \$\$;
ALTER ROLE mtest LOGIN PASSWORD 'mtestpass';
SELECT 'CREATE DATABASE $MAMORI_ITEST_DB_NAME OWNER mtest'
  WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$MAMORI_ITEST_DB_NAME') \gexec
GRANT ALL PRIVILEGES ON DATABASE $MAMORI_ITEST_DB_NAME TO mtest;
EOF
  "${psql[@]}" -d "$MAMORI_ITEST_DB_NAME" <<EOF
CREATE TABLE IF NOT EXISTS kv (k text PRIMARY KEY, v text);
ALTER TABLE kv OWNER TO mtest;
INSERT INTO kv (k, v) VALUES ('answer', '42') ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v;
EOF
}

setup_mariadb() {
  local ok
  if ! listening "$MAMORI_ITEST_MYSQL_PORT"; then
    [[ -x /usr/sbin/mariadbd ]] || die "MariaDB is not installed and nothing listens on $MAMORI_ITEST_MYSQL_PORT"
    say "starting MariaDB on $MAMORI_ITEST_MYSQL_PORT"
    mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld 2>/dev/null || true
    start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
    wait_tcp_external MariaDB "$MAMORI_ITEST_MYSQL_PORT" "/var/lib/mysql/*.err"
  fi
  ok=$(mysql -N -B -h 127.0.0.1 -P "$MAMORI_ITEST_MYSQL_PORT" -u mtest -pmtestpass "$MAMORI_ITEST_DB_NAME" \
    -e "select v from kv where k='answer'" 2>/dev/null || true)
  if [[ $ok == 42 ]]; then
    say "MariaDB ready on $MAMORI_ITEST_MYSQL_PORT (db $MAMORI_ITEST_DB_NAME, user mtest)"
    return 0
  fi
  say "preparing MariaDB database $MAMORI_ITEST_DB_NAME for mtest"
  mysql -h 127.0.0.1 -P "$MAMORI_ITEST_MYSQL_PORT" -u root <<EOF
CREATE DATABASE IF NOT EXISTS $MAMORI_ITEST_DB_NAME;
CREATE USER IF NOT EXISTS 'mtest'@'127.0.0.1' IDENTIFIED BY 'mtestpass';
CREATE USER IF NOT EXISTS 'mtest'@'localhost' IDENTIFIED BY 'mtestpass';
CREATE USER IF NOT EXISTS 'mtest'@'%' IDENTIFIED BY 'mtestpass';
ALTER USER 'mtest'@'127.0.0.1' IDENTIFIED BY 'mtestpass';
ALTER USER 'mtest'@'localhost' IDENTIFIED BY 'mtestpass';
ALTER USER 'mtest'@'%' IDENTIFIED BY 'mtestpass';
GRANT ALL PRIVILEGES ON $MAMORI_ITEST_DB_NAME.* TO 'mtest'@'127.0.0.1';
GRANT ALL PRIVILEGES ON $MAMORI_ITEST_DB_NAME.* TO 'mtest'@'localhost';
GRANT ALL PRIVILEGES ON $MAMORI_ITEST_DB_NAME.* TO 'mtest'@'%';
FLUSH PRIVILEGES;
CREATE TABLE IF NOT EXISTS $MAMORI_ITEST_DB_NAME.kv (k VARCHAR(191) PRIMARY KEY, v TEXT);
INSERT INTO $MAMORI_ITEST_DB_NAME.kv (k, v) VALUES ('answer', '42') ON DUPLICATE KEY UPDATE v = VALUES(v);
EOF
}

# ---------------------------------------------------------------------------
# 7. smoke check
# ---------------------------------------------------------------------------
SMOKE_FAILED=0
check() {
  local label=$1 out rc=0; shift
  if declare -F "$1" >/dev/null; then out=$("$@" 2>&1) || rc=$?
  else out=$(timeout 20 "$@" 2>&1) || rc=$?; fi
  out=${out%%$'\n'*}
  if ((rc == 0)); then
    printf '    OK    %-12s %s\n' "$label" "${out:0:110}"
  else
    printf '    FAIL  %-12s (exit %d) %s\n' "$label" "$rc" "$out"
    SMOKE_FAILED=1
  fi
}

# A tiny SMTP/IMAP client on bash's /dev/tcp, used for the mail round trip.
proto_fd=
proto_open() { exec {proto_fd}<>"/dev/tcp/127.0.0.1/$1"; }
proto_close() { exec {proto_fd}>&- || true; }
proto_send() { printf '%s\r\n' "$1" >&"$proto_fd"; }
# smtp_expect CODE: read a (multi-line) reply; fail unless it starts with CODE.
smtp_expect() {
  local line
  while IFS= read -r -t 10 -u "$proto_fd" line; do
    line=${line%$'\r'}
    [[ ${line:3:1} == - ]] && continue
    [[ ${line:0:3} == "$1" ]] && return 0
    echo "smtp: expected $1, got: $line"
    return 1
  done
  echo "smtp: no reply (expected $1)"
  return 1
}
# imap_cmd TAG COMMAND: send and read up to the tagged reply; untagged lines in IMAP_OUT.
IMAP_OUT=
imap_cmd() {
  local tag=$1 line
  IMAP_OUT=
  proto_send "$tag $2"
  while IFS= read -r -t 10 -u "$proto_fd" line; do
    line=${line%$'\r'}
    if [[ $line == "$tag "* ]]; then
      [[ $line == "$tag OK"* ]] && return 0
      echo "imap: $2 -> $line"
      return 1
    fi
    IMAP_OUT+="$line"$'\n'
  done
  echo "imap: no reply to $2"
  return 1
}

mail_roundtrip() {
  local token i line n
  token="mamori-itest-$(date +%s)-$$-$RANDOM"
  proto_open "$MAMORI_ITEST_SMTP_PORT" || { echo "cannot connect to smtp"; return 1; }
  smtp_expect 220 &&
    proto_send "EHLO itest.localhost" && smtp_expect 250 &&
    proto_send "MAIL FROM:<itest@localhost>" && smtp_expect 250 &&
    proto_send "RCPT TO:<$MAMORI_ITEST_USER@localhost>" && smtp_expect 250 &&
    proto_send "DATA" && smtp_expect 354 &&
    proto_send "Subject: $token" && proto_send "From: itest@localhost" &&
    proto_send "To: $MAMORI_ITEST_USER@localhost" && proto_send "" &&
    proto_send "smoke check" && proto_send "." && smtp_expect 250 &&
    proto_send "QUIT" || { proto_close; return 1; }
  proto_close
  for ((i = 0; i < 150; i++)); do
    grep -rqs -- "$token" "$MAMORI_ITEST_MAILDIR/new" "$MAMORI_ITEST_MAILDIR/cur" && break
    sleep 0.1
  done
  ((i < 150)) || { echo "mail not delivered to $MAMORI_ITEST_MAILDIR within 15s; see ${D_LOG[postfix]}"; return 1; }
  proto_open "$MAMORI_ITEST_IMAP_PORT" || { echo "cannot connect to imap"; return 1; }
  IFS= read -r -t 10 -u "$proto_fd" line || { proto_close; echo "imap: no greeting"; return 1; }
  imap_cmd a1 "LOGIN $MAMORI_ITEST_USER $MAMORI_ITEST_PASSWORD" &&
    imap_cmd a2 "SELECT INBOX" &&
    imap_cmd a3 "SEARCH HEADER Subject \"$token\"" || { proto_close; return 1; }
  n=$(sed -n 's/^\* SEARCH \([0-9 ]*\).*/\1/p' <<<"$IMAP_OUT" | tr -d '\r' | xargs)
  [[ -n $n ]] || { proto_close; echo "imap: message $token not found via IMAP"; return 1; }
  imap_cmd a4 "STORE ${n// /,} +FLAGS (\\Deleted)" && imap_cmd a5 "EXPUNGE" && imap_cmd a6 "LOGOUT" || true
  proto_close
  echo "SMTP :$MAMORI_ITEST_SMTP_PORT -> Maildir -> IMAP :$MAMORI_ITEST_IMAP_PORT ok (message $n, removed)"
}

smoke() {
  [[ ${MAMORI_ITEST_SKIP_SMOKE:-0} == 1 ]] && { say "smoke check skipped"; return 0; }
  say "smoke check"
  local P=$PLUGINS h=127.0.0.1 u=$MAMORI_ITEST_USER pw=$MAMORI_ITEST_PASSWORD
  check ssh $P/check_ssh -H $h -p "$MAMORI_ITEST_SSH_PORT"
  check imap $P/check_imap -H $h -p "$MAMORI_ITEST_IMAP_PORT"
  check imaps $P/check_imap -H $h -p "$MAMORI_ITEST_IMAPS_PORT" -S
  check pop3 $P/check_pop -H $h -p "$MAMORI_ITEST_POP3_PORT"
  check pop3s $P/check_pop -H $h -p "$MAMORI_ITEST_POP3S_PORT" -S
  check smtp $P/check_smtp -H $h -p "$MAMORI_ITEST_SMTP_PORT" -e ESMTP
  check smtp-tls-auth $P/check_smtp -H $h -p "$MAMORI_ITEST_SMTP_PORT" -S -A LOGIN -U "$u" -P "$pw"
  check ftp $P/check_ftp -H $h -p "$MAMORI_ITEST_FTP_PORT"
  check dns $P/check_dig -H $h -p "$MAMORI_ITEST_DNS_PORT" -l app.monitor.test -a 10.20.30.40
  check http $P/check_http -I $h -p "$MAMORI_ITEST_HTTP_PORT" -u /ok -s "ok mamori"
  check http-auth $P/check_http -I $h -p "$MAMORI_ITEST_HTTP_PORT" -u /auth -a "$u:$pw" -s "auth ok"
  check https $P/check_http -I $h -p "$MAMORI_ITEST_HTTPS_PORT" --ssl -u /ok -s "ok mamori"
  check https-cert $P/check_http -I $h -p "$MAMORI_ITEST_HTTPS_PORT" --ssl -C 30
  check pgsql $P/check_pgsql -H $h -P "$MAMORI_ITEST_PG_PORT" -d "$MAMORI_ITEST_DB_NAME" -l "$u" -p "$pw"
  check mysql $P/check_mysql -H $h -P "$MAMORI_ITEST_MYSQL_PORT" -d "$MAMORI_ITEST_DB_NAME" -u "$u" -p "$pw"
  check mail mail_roundtrip
  ((SMOKE_FAILED == 0)) || die "smoke check failed (logs in $LOGS)"
}

# ---------------------------------------------------------------------------
# subcommands
# ---------------------------------------------------------------------------
cmd_start() {
  need_root
  local t0=$SECONDS pf_changed
  make_dirs
  install_packages
  make_certs
  make_user
  setup_sshd
  pf_changed=0
  configure_postfix && pf_changed=1
  setup_dovecot "$CERTS_CHANGED"
  setup_postfix $((pf_changed | CERTS_CHANGED))
  setup_vsftpd "$CERTS_CHANGED"
  setup_dnsmasq
  setup_nginx "$CERTS_CHANGED"
  setup_postgres
  setup_mariadb
  setup_nats
  smoke
  say "all daemons up ($((SECONDS - t0))s); state in $S; eval \"\$($0 env)\" for the environment"
}

cmd_stop() {
  need_root
  local i
  for ((i = ${#DAEMONS[@]} - 1; i >= 0; i--)); do stop_daemon "${DAEMONS[i]}"; done
}

cmd_status() {
  local name pid state all=0 p
  printf '%-10s %-24s %-8s %s\n' DAEMON PORTS PID STATE
  for name in "${DAEMONS[@]}"; do
    pid=$(daemon_pid "$name" 2>/dev/null || true)
    if [[ -n $pid ]] && ports_up "$name"; then state=up
    elif [[ -n $pid ]]; then state="partial (pid alive, not all ports listening)"; all=1
    else
      state=down; all=1
      for p in ${D_PORTS[$name]}; do listening "$p" && state="down (port $p taken by $(port_users "$p"))"; done
    fi
    printf '%-10s %-24s %-8s %s\n' "$name" "${D_PORTS[$name]// /,}" "${pid:--}" "$state"
  done
  for name in postgresql mariadb nats; do
    case $name in
      postgresql) p=$MAMORI_ITEST_PG_PORT ;;
      mariadb) p=$MAMORI_ITEST_MYSQL_PORT ;;
      nats) p=$MAMORI_ITEST_NATS_PORT ;;
    esac
    if listening "$p"; then state="up (external)"; else state="down (external)"; all=1; fi
    pid=$(port_users "$p" | grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2 || true)
    printf '%-10s %-24s %-8s %s\n' "$name" "$p" "${pid:--}" "$state"
  done
  return $all
}

cmd_env() {
  local v q="'" val
  for v in "${ENV_VARS[@]}"; do
    val=${!v}
    printf "export %s='%s'\n" "$v" "${val//$q/$q\\$q$q}"
  done
}

case ${1:-start} in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  env) cmd_env ;;
  -h | --help | help) sed -n '2,/^set -euo/p' "$0" | sed '/^set -euo/d; /^# shellcheck/d; s/^# \{0,1\}//' ;;
  *) die "unknown command '$1' (use start, stop, status or env)" ;;
esac
