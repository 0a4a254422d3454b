#!/usr/bin/env bash
# Regenerates README's TensorBoard screenshots (docs/images/tensorboard-*.png): runs the demo's
# logging (examples/demo.py) into a temporary logdir, starts a real `tensorboard --logdir` on a
# free loopback port, waits until its HTTP API serves the demo's images, audio and scalars, and
# takes headless Chromium screenshots of the images, scalars, audio and hparams dashboards.
#
#   scripts/screenshots.sh            # or: make screenshots
#
# Environment: PYTHON (default .venv/bin/python, else python3) must import ferroboard, torch,
# scikit-learn, matplotlib and tensorboard (requirements-demo.txt; PYTHONPATH=python works with
# `make native`); CHROMIUM (default: the first of chromium, chromium-browser, google-chrome on
# PATH); OUT (default docs/images). Debian/Ubuntu: `apt-get install chromium`.
# Not part of `make test` or `make demo`.
set -euo pipefail

cd "$(dirname "$0")/.."
OUT=${OUT:-docs/images}
if [[ -z ${PYTHON:-} ]]; then
    if [[ -x .venv/bin/python ]]; then PYTHON=.venv/bin/python; else PYTHON=python3; fi
fi

if [[ -z ${CHROMIUM:-} ]]; then
    for c in chromium chromium-browser google-chrome google-chrome-stable; do
        if command -v "$c" >/dev/null 2>&1; then CHROMIUM=$c; break; fi
    done
fi
if [[ -z ${CHROMIUM:-} ]] || ! command -v "$CHROMIUM" >/dev/null 2>&1; then
    echo "screenshots: no Chromium found (looked for chromium, chromium-browser, google-chrome" \
        "on PATH${CHROMIUM:+ and CHROMIUM=$CHROMIUM})." >&2
    echo "screenshots: install one (Debian/Ubuntu: apt-get install chromium) or set" \
        "CHROMIUM=/path/to/chrome." >&2
    exit 1
fi
if ! "$PYTHON" -c "import ferroboard, tensorboard, torch, sklearn, matplotlib, PIL" 2>/dev/null; then
    echo "screenshots: $PYTHON cannot import ferroboard, tensorboard, torch, sklearn," \
        "matplotlib and PIL (make build, or set PYTHON and PYTHONPATH=python)." >&2
    exit 1
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/ferroboard-shots.XXXXXX")
TB_PID=
cleanup() {
    if [[ -n $TB_PID ]]; then kill "$TB_PID" 2>/dev/null || true; wait "$TB_PID" 2>/dev/null || true; fi
    rm -rf "$TMP"
}
trap cleanup EXIT

echo "== logging the demo's run into $TMP/runs"
"$PYTHON" examples/demo.py --logdir "$TMP/runs" --plot "$TMP/plot.png" >"$TMP/demo.log" 2>&1 ||
    { cat "$TMP/demo.log" >&2; exit 1; }
LOGDIR=$(echo "$TMP"/runs/demo-*)  # runs named digits-mlp, digits-mlp/loss_train, ...

PORT=$("$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
BASE=http://127.0.0.1:$PORT
echo "== tensorboard --logdir $LOGDIR on $BASE"
TF_CPP_MIN_LOG_LEVEL=3 "$PYTHON" -m tensorboard.main --logdir "$LOGDIR" --host 127.0.0.1 \
    --port "$PORT" >"$TMP/tensorboard.log" 2>&1 &
TB_PID=$!

# Ready when the HTTP API lists the demo's four image tags (written last), its audio clip and
# the scalars of all three runs.
"$PYTHON" - "$BASE" "$TMP/tensorboard.log" <<'EOF'
import json, sys, time, urllib.request

base, log = sys.argv[1], sys.argv[2]

def get(route):
    with urllib.request.urlopen(base + route, timeout=10) as r:
        return json.loads(r.read())

deadline = time.monotonic() + 120
while True:
    try:
        images = get("/data/plugin/images/tags").get("digits-mlp", {})
        audio = get("/data/plugin/audio/tags").get("digits-mlp", {})
        scalars = get("/data/plugin/scalars/tags")
        if len(images) >= 4 and audio and {"digits-mlp/loss_train", "digits-mlp/loss_val"} <= set(scalars):
            print("   serving images:", ", ".join(sorted(images)))
            break
    except (OSError, ValueError):
        pass
    if time.monotonic() > deadline:
        sys.exit("screenshots: tensorboard never served the demo's images:\n" + open(log).read())
    time.sleep(0.5)
EOF

mkdir -p "$OUT"
# shot NAME FRAGMENT WIDTH HEIGHT: the dashboard the URL fragment names, light theme.
shot() {
    local png=$OUT/tensorboard-$1.png
    "$CHROMIUM" --headless=new --no-sandbox --disable-gpu --hide-scrollbars \
        --user-data-dir="$TMP/chromium" --window-size="$3,$4" --virtual-time-budget=20000 \
        --screenshot="$png" "$BASE/?darkMode=false#$2" >"$TMP/chromium.log" 2>&1 ||
        { cat "$TMP/chromium.log" >&2; exit 1; }
    [[ -s $png ]] || { echo "screenshots: $CHROMIUM wrote no $png" >&2; cat "$TMP/chromium.log" >&2; exit 1; }
    echo "   $png"
}
echo "== screenshots with $CHROMIUM into $OUT"
shot images 'images&tagFilter=val' 1600 1000
shot scalars scalars 1600 900
shot audio audio 1600 360
shot hparams hparams 1600 420

# Shrink a screenshot over 300 KB; check that the images dashboard shows the demo's
# images, not a loading page: val/first_sample's box is a red outline (255, 0, 0) in TensorBoard's
# page, which has no pure red of its own.
"$PYTHON" - "$OUT" <<'EOF'
import os, sys

import numpy as np
from PIL import Image

out = sys.argv[1]
for name in ("images", "scalars", "audio", "hparams"):
    path = os.path.join(out, f"tensorboard-{name}.png")
    im = Image.open(path).convert("RGB")
    if name == "images":
        red = int((np.asarray(im) == (255, 0, 0)).all(axis=-1).sum())
        if red < 500:
            sys.exit(f"screenshots: {path} shows no image with a red box ({red} red pixels): "
                     "TensorBoard's images dashboard did not render the demo's images")
    while os.path.getsize(path) > 300_000:
        im = im.resize((im.width * 3 // 4, im.height * 3 // 4), Image.LANCZOS)
        im.save(path, optimize=True)
    print(f"   {path}: {im.width}x{im.height}, {os.path.getsize(path) // 1024} KB"
          + (f", {red} red pixels" if name == "images" else ""))
EOF
