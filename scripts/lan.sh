# Sourced by scripts/run.sh: serving the local network of an event (HOST=0.0.0.0) and HTTPS (HTTPS=1).
# Phones reach the laptop at its LAN address, so the links the app prints (QR codes, posters) must
# name that address, Django must accept it as a host name, and geolocation and service workers need
# HTTPS: browsers refuse both over plain HTTP on anything but localhost. Docs: docs/deploy.md.
#
#   lan_setup      computes HOST, PORT, HTTPS_PORT, the LAN addresses and, when they are not set,
#                  CARTOPARTY_PUBLIC_URL and DJANGO_ALLOWED_HOSTS; prints what it chose.
#   caddy_start    starts Caddy (scripts/Caddyfile.dev, its own CA) in front of 127.0.0.1:PORT; sets
#                  CADDY_PID.
#   caddy_root     the path of that CA's root certificate.
#   caddy_explain  tells how phones trust that root.

LAN_VAR=${CARTOPARTY_VAR_DIR:-$(pwd)/var}

is_loopback() {
  [[ $1 == 127.* || $1 == ::1 || $1 == "[::1]" || $1 == localhost ]]
}

# The machine's non-loopback, non-link-local addresses, IPv4 first ([v6] in brackets, as in URLs).
lan_addresses() {
  local a v4=() v6=()
  for a in $(hostname -I 2>/dev/null); do
    case $a in
      fe80:*) ;;
      *:*) v6+=("[$a]") ;;
      *) v4+=("$a") ;;
    esac
  done
  echo "${v4[@]}" "${v6[@]}"
}

lan_setup() {
  PORT=${PORT:-8000}
  HTTPS=${HTTPS:-0}
  HTTPS_PORT=${HTTPS_PORT:-8443}
  # HTTPS only matters to phones: it serves the LAN unless HOST says otherwise.
  if [[ $HTTPS == 1 ]]; then HOST=${HOST:-0.0.0.0}; else HOST=${HOST:-127.0.0.1}; fi
  local scheme=http port=$PORT
  [[ $HTTPS == 1 ]] && scheme=https port=$HTTPS_PORT
  if [[ $HOST == 0.0.0.0 ]]; then
    read -r -a LAN_ADDRESSES <<<"$(lan_addresses)"
  elif is_loopback "$HOST"; then
    LAN_ADDRESSES=()
  else
    LAN_ADDRESSES=("$HOST")
  fi
  local first=${LAN_ADDRESSES[0]:-127.0.0.1}
  if [[ -z ${CARTOPARTY_PUBLIC_URL:-} ]]; then
    export CARTOPARTY_PUBLIC_URL=$scheme://$first:$port
  fi
  if [[ -z ${DJANGO_ALLOWED_HOSTS:-} ]]; then
    local hosts=(127.0.0.1 localhost "[::1]" "${LAN_ADDRESSES[@]}")
    DJANGO_ALLOWED_HOSTS=$(IFS=,; echo "${hosts[*]}")
    export DJANGO_ALLOWED_HOSTS
  fi
  if [[ $HTTPS == 1 ]]; then
    # Caddy sets X-Forwarded-Proto; Django listens on 127.0.0.1 only, so nobody else can.
    export DJANGO_BEHIND_PROXY=1
    CADDY_SITES=""
    for a in localhost 127.0.0.1 "${LAN_ADDRESSES[@]}"; do CADDY_SITES+="https://$a:$HTTPS_PORT, "; done
    export CADDY_SITES=${CADDY_SITES%, } CADDY_UPSTREAM=127.0.0.1:$PORT CADDY_DIR=$LAN_VAR/caddy
  fi
  echo "==> Links in QR codes and posters: CARTOPARTY_PUBLIC_URL=$CARTOPARTY_PUBLIC_URL"
  echo "    Host names accepted: DJANGO_ALLOWED_HOSTS=$DJANGO_ALLOWED_HOSTS"
  if ((${#LAN_ADDRESSES[@]})); then
    echo "==> Phones on this network open:"
    for a in "${LAN_ADDRESSES[@]}"; do echo "      $scheme://$a:$port/"; done
  fi
  local url_host=${CARTOPARTY_PUBLIC_URL#*://}
  url_host=${url_host%%/*}
  if [[ $url_host == \[* ]]; then url_host=${url_host%%]*}]; else url_host=${url_host%:*}; fi
  if ((${#LAN_ADDRESSES[@]})) && is_loopback "$url_host"; then
    echo "!!  CARTOPARTY_PUBLIC_URL is a loopback address: phones cannot use the QR codes." >&2
    echo "    Unset it or set it to $scheme://$first:$port (and add $first to DJANGO_ALLOWED_HOSTS)." >&2
  elif [[ $HOST == 0.0.0.0 ]] && ! ((${#LAN_ADDRESSES[@]})); then
    echo "!!  This machine has no network address yet: join the Wi-Fi (or start the hotspot), then restart." >&2
  elif ! ((${#LAN_ADDRESSES[@]})); then
    echo "    Only this machine can connect. For phones on the local network: make run HOST=0.0.0.0"
  fi
}

caddy_root() {
  echo "$CADDY_DIR/pki/authorities/local/root.crt"
}

caddy_start() {
  command -v caddy >/dev/null || { echo "HTTPS=1 needs Caddy: apt-get install -y caddy" >&2; return 1; }
  mkdir -p "$CADDY_DIR" "$LAN_VAR/log"
  # Caddy autosaves its configuration under XDG_CONFIG_HOME: under var/ too, not in the user's home.
  XDG_CONFIG_HOME=$CADDY_DIR \
    caddy run --adapter caddyfile --config scripts/Caddyfile.dev >>"$LAN_VAR/log/caddy.log" 2>&1 &
  CADDY_PID=$!
  local _
  # Ready when it serves its own root certificate over HTTPS signed by that root.
  for _ in $(seq 150); do
    curl -sf -o /dev/null --cacert "$(caddy_root)" "https://127.0.0.1:$HTTPS_PORT/ca.crt" 2>/dev/null && return 0
    kill -0 "$CADDY_PID" 2>/dev/null || break
    sleep 0.1
  done
  echo "Caddy did not start; see $LAN_VAR/log/caddy.log" >&2
  return 1
}

caddy_explain() {
  local root fingerprint
  root=$(caddy_root)
  fingerprint=$(openssl x509 -in "$root" -noout -fingerprint -sha256 2>/dev/null | cut -d= -f2)
  cat <<EOF
==> HTTPS by Caddy's local CA on port $HTTPS_PORT (log: $LAN_VAR/log/caddy.log)
    Root certificate: $root
    SHA-256 fingerprint: ${fingerprint:-?}
    Phones trust it once (docs/deploy.md): copy the file to the phone (cable, e-mail, or
    ${CARTOPARTY_PUBLIC_URL%/}/ca.crt after accepting the browser's warning once), then
      Android: Settings > Security > Encryption & credentials > Install a certificate > CA certificate;
      iOS: open it, Settings > Profile Downloaded > Install, then Settings > General > About >
           Certificate Trust Settings > turn on full trust for "Caddy Local Authority - <year> ECC Root".
    Check the fingerprint on the phone matches the one above.
EOF
}
