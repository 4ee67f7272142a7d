# shellcheck shell=bash
# Reads the kit's one config file (/etc/outreach-hub/hub.env) the way systemd's EnvironmentFile= does, for
# the subset the kit writes: `KEY=value` lines, `#` comments, blank lines, values optionally in "double"
# quotes (with \" and \\ escapes) or 'single' quotes (literal). The file is parsed, never sourced, so a
# Wi-Fi passphrase with `$` or a backtick is taken as written.
#
#   . deploy/lib/env.sh
#   env_load /etc/outreach-hub/hub.env      # sets and exports every KEY in the file
#   env_get HUB_WIFI_SSID                   # prints a value ("" when unset)

env_load() {
  local file=$1 line key value n=0
  if [ ! -r "$file" ]; then
    echo "error: cannot read the config file $file" >&2
    return 1
  fi
  while IFS= read -r line || [ -n "$line" ]; do
    n=$((n + 1))
    line=${line#"${line%%[![:space:]]*}"}
    line=${line%"${line##*[![:space:]]}"}
    case $line in '' | '#'* | ';'*) continue ;; esac
    if [[ ! $line =~ ^([A-Za-z_][A-Za-z0-9_]*)=(.*)$ ]]; then
      echo "error: $file line $n is not KEY=value: $line" >&2
      return 1
    fi
    key=${BASH_REMATCH[1]}
    value=${BASH_REMATCH[2]}
    if [[ $value =~ ^\"(.*)\"$ ]]; then
      value=${BASH_REMATCH[1]}
      value=${value//\\\"/\"}
      value=${value//\\\\/\\}
    elif [[ $value =~ ^\'(.*)\'$ ]]; then
      value=${BASH_REMATCH[1]}
    fi
    printf -v "$key" '%s' "$value"
    # shellcheck disable=SC2163
    export "$key"
  done <"$file"
}

env_get() {
  printf '%s' "${!1-}"
}
