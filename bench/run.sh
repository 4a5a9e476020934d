#!/bin/sh
# The whole benchmark in one command: bench/run.sh [--tickets 1000000] [--due 10000] ...
# (see `bench/run.sh --help`). Results go to bench/out/.
set -e
cd "$(dirname "$0")/.."
exec .venv/bin/python bench/run.py "$@"
