"""Load every dataset of a narrator ``dataset_info.json`` folder with LLaMA-Factory's own
loader (``_load_single_dataset``: its sharegpt converter and media_dir lookup) and print,
per dataset, the rows, the converted columns and how many image paths it resolved to files.

Run with an interpreter that has llamafactory: ``python llamafactory_check.py FOLDER``.
"""

import json, os, sys
from pathlib import Path
out = sys.argv[1]
from transformers import Seq2SeqTrainingArguments
from llamafactory.hparams import DataArguments, ModelArguments
from llamafactory.data.parser import get_dataset_list
from llamafactory.data.loader import _load_single_dataset
names = list(json.loads(Path(out, "dataset_info.json").read_text()))
data_args = DataArguments(dataset_dir=out, dataset=names)
model_args = ModelArguments(model_name_or_path="none")
training_args = Seq2SeqTrainingArguments(output_dir=os.path.join(out, "_lf"))
report = {}
for name, attr in zip(names, get_dataset_list(names, out)):
    ds = _load_single_dataset(attr, model_args, data_args, training_args)
    images = [p for row in ds for p in (row["_images"] or [])]
    report[name] = {"rows": len(ds), "columns": sorted(ds.column_names), "images": len(images),
                    "found": sum(os.path.isfile(p) for p in images),
                    "first": ds[0]["_prompt"][0]["content"][:60], "image0": images[0]}
print(json.dumps(report))
