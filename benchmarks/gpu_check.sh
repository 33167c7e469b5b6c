#!/usr/bin/env bash
# On a machine with GPUs: execute tests/books/gpus (notebooks needing 0, 1 and 2 GPUs)
# with the GPUs nvidia-smi finds, and print what each kernel saw.
#   bash benchmarks/gpu_check.sh   (needs the project installed: make setup)
set -euo pipefail
cd "$(dirname "$0")/.."
nvidia-smi -L || echo "nvidia-smi not found: no GPUs will be scheduled"
book=$(mktemp -d)/gpus
cp -r tests/books/gpus "$book"
.venv/bin/d2lbook build eval --dir "$book" --workers 3
for notebook in none one two; do
  echo "== $notebook"
  .venv/bin/python - "$book/_build/eval/default/$notebook.ipynb" <<'PY'
import json, sys
for cell in json.load(open(sys.argv[1]))["cells"]:
    for output in cell.get("outputs", []):
        text = output.get("text", "")
        print(text if isinstance(text, str) else "".join(text), end="")
PY
done
