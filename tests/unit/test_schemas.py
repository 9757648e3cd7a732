"""Every example message matches its schema, and every schema has an example."""
import glob
import json
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from schema_check import SCHEMA_DIR, validate  # noqa: E402

EXAMPLES = sorted(glob.glob(os.path.join(SCHEMA_DIR, "..", "examples", "*.json")))


def example_type(path):
    name = os.path.basename(path)[:-len(".json")]
    return name.split(".", 1)[1]  # client.<type>[.variant] / server.<type>


@pytest.mark.parametrize("path", EXAMPLES, ids=os.path.basename)
def test_example_matches_schema(path):
    msg = json.load(open(path))
    validate(msg)


def test_every_schema_has_an_example():
    types = {json.load(open(p))["type"] for p in EXAMPLES}
    for path in glob.glob(os.path.join(SCHEMA_DIR, "*.json")):
        name = os.path.basename(path)[:-len(".json")]
        if not name.startswith("_"):
            assert name in types, "schema %s has no example" % name


def test_schemas_reject_bad_messages():
    import jsonschema
    for bad in [{"type": "join", "id": 1}, {"type": "join", "id": [1], "room": "a", "name": "b"},
                {"type": "join", "id": 1, "room": "Bad Room", "name": "b"},
                {"type": "presence", "id": 1, "attrs": {"group": "pirates"}}]:
        with pytest.raises(jsonschema.ValidationError):
            validate(bad)
