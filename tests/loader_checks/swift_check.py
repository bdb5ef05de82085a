"""Load narrator's SARChat files with ms-swift's own dataset loader (``swift.dataset.
load_dataset``, strict: a bad row raises) and open each image with ms-swift's
``load_image``; print per file the rows, the images found, the ``<bbox>`` tokens in the
turns and the boxes in ``objects``.

Run with an interpreter that has ms-swift: ``python swift_check.py FILE...``.
"""

import json
import os
import sys

from swift.dataset import load_dataset
from swift.template.vision_utils import load_image

report = {}
for path in sys.argv[1:]:
    train, _ = load_dataset([path], strict=True, num_proc=1, load_from_cache_file=False)
    rows = list(train)
    images = [img for r in rows for img in (r.get("images") or [])]
    paths = [i if isinstance(i, str) else i.get("path") for i in images]
    opened = [load_image(p) for p in paths[:3]]
    objects = [r.get("objects") or {} for r in rows]
    report[os.path.basename(path)] = {
        "rows": len(rows), "columns": sorted(train.column_names),
        "images_found": sum(os.path.isfile(p) for p in paths),
        "modes": sorted({im.mode for im in opened}),
        "bbox_tokens": sum(m["content"].count("<bbox>") for r in rows for m in r["messages"]),
        "bboxes": sum(len(o.get("bbox") or []) for o in objects)}
print(json.dumps(report))
