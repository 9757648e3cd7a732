"""Validates protocol messages against protocol/schema, resolving the shared definitions."""
import json
import os

import jsonschema

SOURCE = os.environ.get("ROSTRUM_SOURCE", os.path.join(os.path.dirname(__file__), ".."))
SCHEMA_DIR = os.path.abspath(os.path.join(SOURCE, "protocol", "schema"))
_cache = {}


def schema_for(type_):
    """The schema of a message type, or None when the protocol defines none."""
    if type_ not in _cache:
        path = os.path.join(SCHEMA_DIR, type_ + ".json")
        _cache[type_] = json.load(open(path)) if os.path.exists(path) else None
    return _cache[type_]


_validators = {}


def validate(msg):
    """Raises jsonschema.ValidationError when msg does not match its type's schema."""
    type_ = msg.get("type", "")
    if type_ not in _validators:
        schema = schema_for(type_)
        if schema is None:
            raise jsonschema.ValidationError("no schema for type %r" % type_)
        resolver = jsonschema.RefResolver(base_uri="file://" + SCHEMA_DIR + "/", referrer=schema)
        _validators[type_] = jsonschema.Draft202012Validator(schema, resolver=resolver)
    _validators[type_].validate(msg)
