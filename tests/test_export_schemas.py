"""The export JSON Schemas: valid draft-07, shipped in the wheel, and the compiled validator
decides like jsonschema does."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import jsonschema
import pytest

from narrator.export import FORMATS
from narrator.export.validate import ExportError, check, load_schema, schema_names
from tests.conftest import REPO

LLAVA = {"id": "a1", "image": "images/x.tif",
         "conversations": [{"from": "human", "value": "<image>\nHow many ships?"},
                           {"from": "gpt", "value": "3"}],
         "meta": {"id": "a1", "type": "vqa", "scene_id": "s", "task": "count",
                  "split": "train"}}
SHAREGPT = {"messages": [{"role": "user", "content": "<image>Is there a ship?"},
                         {"role": "assistant", "content": "Yes."}], "images": ["x.tif"]}
BROKEN = [
    ("llava", LLAVA | {"conversations": LLAVA["conversations"][:1]}),
    ("llava", LLAVA | {"conversations": [{"from": "human", "value": "no image token"},
                                         {"from": "gpt", "value": "3"}]}),
    ("llava", LLAVA | {"conversations": [{"from": "human", "value": "<image>\n<image>\nx"},
                                         {"from": "gpt", "value": "3"}]}),
    ("llava", LLAVA | {"meta": LLAVA["meta"] | {"split": "dev"}}),
    ("sharegpt", SHAREGPT | {"images": []}),
    ("sharegpt", SHAREGPT | {"messages": SHAREGPT["messages"][::-1]}),
    ("sharegpt", SHAREGPT | {"extra": 1}),
    ("sarlang_caption", {"image": "x", "caption": "c", "type": "long", "id": "1",
                         "scene_id": "s"}),
]


def test_every_schema_is_draft7_and_every_format_has_one() -> None:
    names = schema_names()
    for name in names:
        jsonschema.Draft7Validator.check_schema(load_schema(name))
    assert {"jsonl", "llava", "sharegpt", "parquet", "sarlang_vqa", "sarlang_caption"} <= \
        set(names)
    assert set(FORMATS) - {"sarlang", "sarchat"} <= set(names)


@pytest.mark.parametrize("name,record", [("llava", LLAVA), ("sharegpt", SHAREGPT)])
def test_valid_records_pass_both_validators(name: str, record: dict) -> None:
    check(name, record)
    jsonschema.validate(record, load_schema(name))


@pytest.mark.parametrize("name,record", BROKEN)
def test_broken_records_fail_both_validators(name: str, record: dict) -> None:
    with pytest.raises(ExportError, match=f"the {name} export schema"):
        check(name, record)
    assert not jsonschema.Draft7Validator(load_schema(name)).is_valid(record)


def test_wheel_ships_the_schemas(tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "-q", "-w", str(tmp_path), str(REPO)], check=True, capture_output=True)
    names = set(zipfile.ZipFile(next(tmp_path.glob("sar_narrator-*.whl"))).namelist())
    for schema in schema_names():
        assert f"narrator/export/schemas/{schema}.json" in names, schema
