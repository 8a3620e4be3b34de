#!/usr/bin/env bash
# Prints the path of a Python 3.10 interpreter, or explains what to install.
# Rasa Open Source 3.6 supports Python 3.8-3.10 only, so "python3" is not good enough.
# Order: $PYTHON, a python3.10 that actually runs (pyenv shims refuse unless told),
# then pyenv's own installed 3.10.
set -u

is_310() { "$1" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 10) else 1)' >/dev/null 2>&1; }

if [ -n "${PYTHON:-}" ]; then
  if is_310 "$PYTHON"; then echo "$PYTHON"; exit 0; fi
  echo "error: PYTHON=$PYTHON is not a working Python 3.10 interpreter" >&2
  exit 1
fi

if command -v python3.10 >/dev/null 2>&1 && is_310 python3.10; then
  command -v python3.10; exit 0
fi

pyenv_root=""
if command -v pyenv >/dev/null 2>&1; then pyenv_root=$(pyenv root 2>/dev/null)
elif [ -d "${PYENV_ROOT:-$HOME/.pyenv}" ]; then pyenv_root=${PYENV_ROOT:-$HOME/.pyenv}
fi
if [ -n "$pyenv_root" ]; then
  for candidate in $(ls -d "$pyenv_root"/versions/3.10.*/bin/python 2>/dev/null | sort -V -r); do
    if is_310 "$candidate"; then echo "$candidate"; exit 0; fi
  done
fi

echo "error: Makegood needs Python 3.10 (Rasa 3.6 supports 3.8-3.10). Install it (e.g. 'pyenv install 3.10') or set PYTHON=/path/to/python3.10" >&2
exit 1
