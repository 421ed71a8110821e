#!/usr/bin/env python3
"""Writes the site-rules benchmark's extra config: 100 locations (60
prefixes, 20 exact, 20 regexes) and a redirect map of N lines (10,000 by
default), none of which matches compare.py's files, so every request pays
the whole match (exact search, every prefix, every regex) and falls through
to the files.

  tests/bench/rules/make.py OUTDIR [LINES]
  DROVER_ALT_YAML=OUTDIR/rules.yaml python3 tests/bench/compare.py \\
      --servers drover,drover-alt --scenarios small-ka
"""
import os
import sys

out = sys.argv[1]
lines = int(sys.argv[2]) if len(sys.argv) > 2 else 10000
os.makedirs(out, exist_ok=True)
rmap = os.path.join(out, "redirects.txt")
with open(rmap, "w") as f:
    for i in range(lines):
        f.write("/old/section-%d/page-%d.html /new/%d/%d %s\n" % (i % 97, i, i % 97, i,
                                                                ("301", "302", "308")[i % 3]))
with open(os.path.join(out, "rules.yaml"), "w") as f:
    f.write("redirect_map: %s\nlocations:\n" % rmap)
    for i in range(60):
        f.write('  "/p%02d/section/": {cache_control: "max-age=%d"}\n' % (i, i + 1))
    for i in range(20):
        f.write('  "= /exact/%02d": {return: {code: 200, body: "e%d\\n"}}\n' % (i, i))
    for i in range(20):
        f.write("  '~ ^/blog/%d/(\\d+)/([a-z-]+)$': {redirect: \"/posts/$1-$2\"}\n" % i)
