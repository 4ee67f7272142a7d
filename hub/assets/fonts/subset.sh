#!/usr/bin/env bash
# Makes the receipt printer's fonts (hub/src/field/thermal/font.rs) from Debian's fonts-dejavu-core:
# DejaVu Sans and DejaVu Sans Bold cut down to the Latin scripts (Vietnamese, and the Latin alphabets of
# the minority languages: Ê Đê, Jrai, Bahnar, H'Mông RPA, Tày-Nùng…), their combining marks, punctuation
# and a few symbols. Needs fonts-dejavu-core (2.37) and fontTools (`pip install fonttools`). The result
# is committed: nothing is fetched at build or run time.
set -euo pipefail
cd "$(dirname "$0")"
SRC=/usr/share/fonts/truetype/dejavu
RANGES="U+0020-007E,U+00A0-024F,U+0250-02FF,U+0300-036F,U+1E00-1EFF,U+2000-206F,U+20A0-20BF,U+2100-214F,U+2190-21FF,U+2212,U+25A0-25FF,U+2713,U+2714,U+FFFD"
for f in DejaVuSans DejaVuSans-Bold; do
  pyftsubset "$SRC/$f.ttf" --unicodes="$RANGES" --layout-features='' --no-hinting --desubroutinize \
    --drop-tables+=FFTM --output-file="$f.ttf"
done
cp /usr/share/doc/fonts-dejavu-core/copyright LICENSE.dejavu
