#!/usr/bin/env bash
# Mutation testing of the modules whose answers a user reads (issue 22): mutmut changes their code
# in small ways, one change at a time, and runs the fast unit tests that reach each changed
# function; a change no test notices is a survivor. Which modules and which tests: [tool.mutmut]
# in pyproject.toml. Prints each module's score and the survivors nobody has explained (see
# scripts/mutation_report.py and tests/mutation-accepted.toml); exit 1 if the target is missed.
#
#   scripts/mutation.sh            the whole run (about 30 min on 2 cores)
#   scripts/mutation.sh --diffs    the same, with each unexplained survivor's diff
#
# It works in mutants/ (a copy of the checkout, ignored by git) and is not part of the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
[ -x .venv/bin/mutmut ] || .venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[mutation]"
# mutmut runs the tests from mutants/, where the default ../shared/data paths do not reach
shared=$(cd .. && pwd)/shared/data
export RXVIZ_DATA=${RXVIZ_DATA:-$shared/chest_xray} RXVIZ_LUNG_DATA=${RXVIZ_LUNG_DATA:-$shared/lung_masks} \
       RXVIZ_EXTERNAL_DATA=${RXVIZ_EXTERNAL_DATA:-$shared/external}
export TF_CPP_MIN_LOG_LEVEL=2 TF_ENABLE_ONEDNN_OPTS=0
rm -rf mutants
start=$(date +%s)
.venv/bin/mutmut run --max-children "$(nproc)" | tr '\r' '\n' | grep -v '^[^ ]* \(Generating\|Running\|Listing\)' | tail -n 5
echo "rxviz: mutation run took $(( ($(date +%s) - start) / 60 )) min on $(nproc) cores"
exec .venv/bin/python scripts/mutation_report.py "$@"
