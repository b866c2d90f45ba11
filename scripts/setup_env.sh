# Sourced (`source scripts/setup_env.sh`): installs .venv from poetry.lock on first use (see
# install_env.sh) and puts .venv/bin on PATH. The caller's shell options and working directory
# stay as they were; the install runs in its own bash.
_source_pendo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if bash "$_source_pendo_root/scripts/install_env.sh"; then
  case ":$PATH:" in
    *":$_source_pendo_root/.venv/bin:"*) ;;
    *) export PATH="$_source_pendo_root/.venv/bin:$PATH" ;;
  esac
  unset _source_pendo_root
else
  echo "setup_env: installing .venv failed (see above)" >&2
  unset _source_pendo_root
  false
fi
