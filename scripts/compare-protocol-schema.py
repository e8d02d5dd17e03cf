#!/usr/bin/env python3
"""Compare schemas/airbyte_protocol.schema.json (ours) with the official Airbyte protocol schema.

Usage:
    python3 scripts/compare-protocol-schema.py [path/to/airbyte_protocol.yaml] [--verbose]

The official YAML defaults to ../shared/airbyte-protocol/airbyte_protocol.yaml relative to the
repository root. The script:

  1. lints our schema (draft-07, every definition titled with its own name, unique titles
     without spaces, no keyword next to a `$ref`, no `existingJavaType`/`tsType`);
  2. compares every definition we share with the official schema structurally, ignoring
     annotations (description, title, default, examples) and `additionalProperties: true`
     (the draft-07 default), and allowing only the documented loosenings in LOOSENED;
  3. validates every case in test/fixtures/protocol-cases.json against BOTH schemas with
     ajv (the validator the connector uses, taken from node_modules) and reports each case
     where the official verdict differs from the case's `valid` flag or from our verdict;
  4. validates the PROBES (one message per loosening) to show where, and only where, the
     official schema rejects something ours accepts;
  5. if the python `jsonschema` package is importable, repeats step 3 with it as a second
     engine and reports any place where the two engines disagree.

Exits 0 when there is no disagreement, 1 otherwise, 2 on a usage/setup error.
"""

import argparse
import copy
import json
import os
import re
import subprocess
import sys
import tempfile
import urllib.parse

import yaml

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OFFICIAL = os.path.join(REPO_ROOT, "..", "shared", "airbyte-protocol", "airbyte_protocol.yaml")
OURS_PATH = os.path.join(REPO_ROOT, "schemas", "airbyte_protocol.schema.json")
CASES_PATH = os.path.join(REPO_ROOT, "test", "fixtures", "protocol-cases.json")
DEFAULT_TARGET = "AirbyteMessage"

# Definitions the connector relies on; all must be present in our schema.
REQUIRED_DEFINITIONS = [
    "AirbyteMessage", "AirbyteRecordMessage", "AirbyteRecordMessageFileReference", "AirbyteRecordMessageMeta", "AirbyteRecordMessageMetaChange",
    "AirbyteStateMessage", "AirbyteStateType", "AirbyteStreamState", "AirbyteGlobalState", "StreamDescriptor",
    "AirbyteStateBlob", "AirbyteStateStats", "AirbyteLogMessage", "AirbyteTraceMessage", "AirbyteErrorTraceMessage",
    "AirbyteEstimateTraceMessage", "AirbyteStreamStatus", "AirbyteStreamStatusReason", "AirbyteStreamStatusReasonType",
    "AirbyteStreamStatusRateLimitedReason", "AirbyteStreamStatusTraceMessage", "AirbyteConnectionStatus",
    "AirbyteCatalog", "AirbyteStream", "ConfiguredAirbyteCatalog", "ConfiguredAirbyteStream", "SyncMode",
    "DestinationSyncMode", "ConnectorSpecification",
]

# Intentional loosenings: (definition, property) -> what the official schema checks there.
# Ours accepts any JSON object at these places. None of them is part of a message the connector emits.
LOOSENED = {
    ("AirbyteMessage", "control"): "AirbyteControlMessage (requires type CONNECTOR_CONFIG and emitted_at; connectorConfig requires config)",
    ("AirbyteMessage", "destination_catalog"): "DestinationCatalog (requires operations[]: object_name, sync_mode, json_schema)",
    ("AirbyteTraceMessage", "analytics"): "AirbyteAnalyticsTraceMessage (requires type: string; value: string)",
    ("ConnectorSpecification", "authSpecification"): "auth_type enum [oauth2.0]; oauth2Specification: OAuth2Specification",
    ("ConnectorSpecification", "advanced_auth"): "auth_flow_type enum [oauth2.0, oauth1.0]; predicate_key: string[]; predicate_value: string; oauth_config_specification: OAuthConfigSpecification",
}

# One message per loosening that the official schema rejects and ours accepts.
_T = 1700000000000
PROBES = [
    {"name": "control without type/emitted_at", "place": ("AirbyteMessage", "control"),
     "message": {"type": "CONTROL", "control": {"connectorConfig": {"config": {}}}}},
    {"name": "destination_catalog without operations", "place": ("AirbyteMessage", "destination_catalog"),
     "message": {"type": "DESTINATION_CATALOG", "destination_catalog": {}}},
    {"name": "analytics trace without event type", "place": ("AirbyteTraceMessage", "analytics"),
     "message": {"type": "TRACE", "trace": {"type": "ANALYTICS", "emitted_at": _T, "analytics": {"value": "x"}}}},
    {"name": "authSpecification with auth_type oauth1.0", "place": ("ConnectorSpecification", "authSpecification"),
     "message": {"type": "SPEC", "spec": {"connectionSpecification": {}, "authSpecification": {"auth_type": "oauth1.0"}}}},
    {"name": "advanced_auth with auth_flow_type saml", "place": ("ConnectorSpecification", "advanced_auth"),
     "message": {"type": "SPEC", "spec": {"connectionSpecification": {}, "advanced_auth": {"auth_flow_type": "saml"}}}},
]

# Keywords that do not affect validation.
ANNOTATIONS = {"description", "title", "default", "examples", "$comment", "existingJavaType"}

# The same format checks are given to ajv (below, in JS) and to python jsonschema.
URI_RE = r"^[A-Za-z][A-Za-z0-9+.\-]*:[^\s]*$"
DATE_TIME_RE = r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+\-]\d{2}:\d{2})$"

NODE_SCRIPT = r"""
const fs = require('node:fs');
const path = require('node:path');
const { createRequire } = require('node:module');
const [inputPath, repoRoot] = process.argv.slice(1);
const requireFromRepo = createRequire(path.join(repoRoot, 'package.json'));
const ajvModule = requireFromRepo('ajv');
const Ajv = ajvModule.default || ajvModule;
const input = JSON.parse(fs.readFileSync(inputPath, 'utf8'));
const uriRe = new RegExp(input.uriRe);
const dateTimeRe = new RegExp(input.dateTimeRe);

function isUri(s) {
  if (!uriRe.test(s)) return false;
  try { new URL(s); return true; } catch { return false; }
}
function isDateTime(s) {
  if (!dateTimeRe.test(s)) return false;
  const [y, mo, d, h, mi, se] = s.match(/\d+/g).map(Number);
  return mo >= 1 && mo <= 12 && d >= 1 && d <= 31 && h <= 23 && mi <= 59 && se <= 60 && !Number.isNaN(Date.parse(s.replace(' ', 'T')));
}
function makeAjv(opts) {
  const ajv = new Ajv(opts);
  ajv.addFormat('uri', { type: 'string', validate: isUri });
  ajv.addFormat('date-time', { type: 'string', validate: isDateTime });
  return ajv;
}

const out = { verdicts: {}, strictOurs: null };
for (const [key, schema] of Object.entries(input.schemas)) {
  const ajv = makeAjv({ strict: false, allErrors: true });
  ajv.addSchema(schema);
  const validators = new Map();
  out.verdicts[key] = input.items.map((item) => {
    let validate = validators.get(item.target);
    if (!validate) {
      validate = ajv.compile({ $ref: `${schema.$id}#/definitions/${item.target}` });
      validators.set(item.target, validate);
    }
    const valid = validate(item.message);
    const errors = valid ? [] : validate.errors.map((e) => `${e.instancePath || '/'} ${e.message}${e.params && e.params.allowedValues ? ' ' + JSON.stringify(e.params.allowedValues) : ''}`);
    return { valid, errors };
  });
}
// Our schema should also compile under ajv's default (strict) mode, in case the connector uses it.
try {
  const strictAjv = makeAjv({ allErrors: true });
  strictAjv.compile(input.schemas.ours);
  out.strictOurs = 'ok';
} catch (e) {
  out.strictOurs = String(e && e.message || e);
}
process.stdout.write(JSON.stringify(out));
"""


def load_official(path):
    with open(path, encoding="utf-8") as f:
        # Round-trip through JSON so that the schema holds only JSON types.
        return json.loads(json.dumps(yaml.safe_load(f), default=str))


def normalize(schema):
    """Drop annotations and `additionalProperties: true`; sort `required`."""
    if isinstance(schema, list):
        return [normalize(x) for x in schema]
    if not isinstance(schema, dict):
        return schema
    out = {}
    for key, value in schema.items():
        if key in ANNOTATIONS or (key == "additionalProperties" and value is True):
            continue
        if key == "required":
            out[key] = sorted(value)
        elif key in ("properties", "definitions"):
            out[key] = {name: normalize(sub) for name, sub in value.items()}
        else:
            out[key] = normalize(value)
    return out


def diff(a, b, path):
    """Paths where normalized schemas a (official) and b (ours) differ."""
    if isinstance(a, dict) and isinstance(b, dict):
        found = []
        for key in sorted(set(a) | set(b)):
            if key not in b:
                found.append(f"{path}/{key}: missing in ours (official: {json.dumps(a[key])[:120]})")
            elif key not in a:
                found.append(f"{path}/{key}: only in ours ({json.dumps(b[key])[:120]})")
            else:
                found.extend(diff(a[key], b[key], f"{path}/{key}"))
        return found
    if a != b:
        return [f"{path}: official {json.dumps(a)[:120]} != ours {json.dumps(b)[:120]}"]
    return []


def walk_titles(node, path, found):
    if isinstance(node, dict):
        if isinstance(node.get("title"), str) and path:
            found.append((path, node["title"]))
        for key, value in node.items():
            walk_titles(value, f"{path}/{key}", found)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            walk_titles(value, f"{path}/{i}", found)


def contains_key(node, key):
    if isinstance(node, dict):
        return key in node or any(contains_key(v, key) for v in node.values())
    if isinstance(node, list):
        return any(contains_key(v, key) for v in node)
    return False


def ref_siblings(node, path):
    if isinstance(node, dict):
        if "$ref" in node and len(node) > 1:
            yield path or "/"
        for key, value in node.items():
            yield from ref_siblings(value, f"{path}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from ref_siblings(value, f"{path}/{i}")


def lint_ours(ours):
    problems = []
    if ours.get("$schema") != "http://json-schema.org/draft-07/schema#":
        problems.append("$schema is not draft-07")
    if not ours.get("$id"):
        problems.append("$id missing")
    if ours.get("title") != "AirbyteProtocol":
        problems.append("root title is not AirbyteProtocol")
    defs = ours.get("definitions", {})
    for name in REQUIRED_DEFINITIONS:
        if name not in defs:
            problems.append(f"definition {name} missing")
    for name, schema in defs.items():
        if schema.get("title") != name:
            problems.append(f"definitions/{name}: title {schema.get('title')!r} should be {name!r}")
    titles = []
    walk_titles(ours.get("definitions", {}), "/definitions", titles)
    seen = {}
    for path, title in titles:
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9]*", title):
            problems.append(f"{path}: title {title!r} is not PascalCase-able (spaces or punctuation)")
        if title in seen:
            problems.append(f"{path}: title {title!r} also used at {seen[title]}")
        seen.setdefault(title, path)
    for path in ref_siblings(ours, ""):
        problems.append(f"{path}: keywords next to $ref (json-schema-to-typescript then emits a duplicate type, e.g. StreamDescriptor1)")
    if contains_key(ours, "existingJavaType"):
        problems.append("existingJavaType present")
    if contains_key(ours, "tsType"):
        problems.append("tsType present")
    return problems


def compare_structure(official, ours):
    problems, notes = [], []
    off_defs, our_defs = official["definitions"], ours["definitions"]
    if normalize(official.get("properties")) != normalize(ours.get("properties")):
        problems.append("root properties differ: " + "; ".join(diff(normalize(official.get("properties")), normalize(ours.get("properties")), "/properties")))
    for name in sorted(our_defs):
        if name not in off_defs:
            problems.append(f"definitions/{name}: not in the official schema")
            continue
        expected = copy.deepcopy(off_defs[name])
        for (def_name, prop), what in LOOSENED.items():
            if def_name == name:
                if prop not in expected.get("properties", {}):
                    problems.append(f"definitions/{name}/properties/{prop}: documented as loosened but the official schema has no such property")
                    continue
                expected["properties"][prop] = {"type": "object"}
        problems.extend(f"definitions/{name}{d}" for d in diff(normalize(expected), normalize(our_defs[name]), ""))
    not_modelled = sorted(set(off_defs) - set(our_defs))
    if not_modelled:
        notes.append("official definitions not modelled (only reachable through the loosened places): " + ", ".join(not_modelled))
    return problems, notes


def run_ajv(official, ours, items):
    payload = {"schemas": {"official": official, "ours": ours}, "items": items, "uriRe": URI_RE, "dateTimeRe": DATE_TIME_RE}
    with tempfile.TemporaryDirectory(prefix="compare-protocol-") as tmp:
        input_path = os.path.join(tmp, "input.json")
        with open(input_path, "w", encoding="utf-8") as f:
            json.dump(payload, f)
        proc = subprocess.run(["node", "-e", NODE_SCRIPT, input_path, REPO_ROOT], capture_output=True, text=True)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        raise SystemExit("error: the ajv runner failed (is node installed and ajv in node_modules?)")
    return json.loads(proc.stdout)


def run_jsonschema(official, ours, items):
    """Verdicts from python jsonschema, or None when it is not importable."""
    try:
        import jsonschema
        from referencing import Registry
        from referencing.jsonschema import DRAFT7
    except ImportError:
        return None

    checker = jsonschema.FormatChecker(formats=())

    @checker.checks("uri")
    def _uri(value):
        if not isinstance(value, str):
            return True
        if not re.match(URI_RE, value):
            return False
        try:
            urllib.parse.urlsplit(value)
        except ValueError:
            return False
        return True

    @checker.checks("date-time")
    def _date_time(value):
        if not isinstance(value, str):
            return True
        if not re.match(DATE_TIME_RE, value):
            return False
        y, mo, d, h, mi, se = (int(x) for x in re.findall(r"\d+", value)[:6])
        return 1 <= mo <= 12 and 1 <= d <= 31 and h <= 23 and mi <= 59 and se <= 60

    verdicts = {}
    for key, schema in (("official", official), ("ours", ours)):
        registry = Registry().with_resource(schema["$id"], DRAFT7.create_resource(schema))
        validators = {}
        results = []
        for item in items:
            target = item["target"]
            if target not in validators:
                validators[target] = jsonschema.Draft7Validator(
                    {"$ref": f"{schema['$id']}#/definitions/{target}"}, registry=registry, format_checker=checker)
            errors = [f"/{'/'.join(str(p) for p in e.absolute_path)} {e.message}" for e in validators[target].iter_errors(item["message"])]
            results.append({"valid": not errors, "errors": errors})
        verdicts[key] = results
    return verdicts


def main():
    parser = argparse.ArgumentParser(description="Compare our Airbyte protocol JSON Schema with the official one.")
    parser.add_argument("official", nargs="?", default=DEFAULT_OFFICIAL, help="path to the official airbyte_protocol.yaml")
    parser.add_argument("--verbose", "-v", action="store_true", help="print every case with both verdicts")
    args = parser.parse_args()

    if not os.path.exists(args.official):
        print(f"error: official schema not found: {args.official}", file=sys.stderr)
        return 2
    official = load_official(args.official)
    with open(OURS_PATH, encoding="utf-8") as f:
        ours = json.load(f)
    with open(CASES_PATH, encoding="utf-8") as f:
        cases = json.load(f)

    failures = []
    print(f"official: {os.path.relpath(os.path.abspath(args.official), REPO_ROOT)} (version {official.get('version', '?')})")
    print(f"ours:     {os.path.relpath(OURS_PATH, REPO_ROOT)} ({len(ours.get('definitions', {}))} definitions)")

    # 1. lint
    lint = lint_ours(ours)
    failures.extend(f"lint: {p}" for p in lint)

    # 2. structure
    structure, notes = compare_structure(official, ours)
    failures.extend(f"structure: {p}" for p in structure)

    # 3-4. cases and probes through ajv
    names = [c.get("name") for c in cases]
    for name in sorted({n for n in names if names.count(n) > 1}):
        failures.append(f"cases: duplicate case name {name!r}")
    items = []
    for case in cases:
        target = case.get("target", DEFAULT_TARGET)
        if target not in official["definitions"] or target not in ours["definitions"]:
            failures.append(f"cases: {case.get('name')!r}: unknown target {target!r}")
            target = DEFAULT_TARGET
        if not isinstance(case.get("valid"), bool) or not isinstance(case.get("message"), dict):
            failures.append(f"cases: {case.get('name')!r}: needs a boolean `valid` and an object `message`")
        items.append({"target": target, "message": case.get("message")})
    probe_items = [{"target": DEFAULT_TARGET, "message": p["message"]} for p in PROBES]
    ajv_out = run_ajv(official, ours, items + probe_items)
    off_v, our_v = ajv_out["verdicts"]["official"], ajv_out["verdicts"]["ours"]

    if ajv_out["strictOurs"] != "ok":
        failures.append(f"ajv strict mode rejects our schema: {ajv_out['strictOurs']}")

    def show_errors(label, verdict):
        return f"\n      {label} errors: " + "; ".join(verdict["errors"][:4]) if verdict["errors"] else ""

    counts = {"valid": 0, "invalid": 0}
    for i, case in enumerate(cases):
        o, u = off_v[i], our_v[i]
        counts["valid" if case.get("valid") else "invalid"] += 1
        problems = []
        if o["valid"] != case.get("valid"):
            problems.append(f"official says {'valid' if o['valid'] else 'invalid'} but the case is flagged valid={case.get('valid')}")
        if o["valid"] != u["valid"]:
            problems.append(f"official {'accepts' if o['valid'] else 'rejects'} but ours {'accepts' if u['valid'] else 'rejects'}")
        if problems:
            failures.append(f"case {case.get('name')!r} [{items[i]['target']}]: " + "; ".join(problems)
                            + show_errors("official", o) + show_errors("ours", u))
        elif args.verbose:
            print(f"  ok  {'valid  ' if o['valid'] else 'invalid'} {case.get('name')}" + (f"  <- {o['errors'][0]}" if o["errors"] else ""))

    print(f"cases:    {len(cases)} ({counts['valid']} valid, {counts['invalid']} invalid)")
    print("intentional differences (official rejects, ours accepts; never in a message source-s3 emits):")
    for j, probe in enumerate(PROBES):
        o, u = off_v[len(cases) + j], our_v[len(cases) + j]
        def_name, prop = probe["place"]
        ok = (not o["valid"]) and u["valid"]
        print(f"  {'ok ' if ok else 'BAD'} {def_name}.{prop}: official checks {LOOSENED[(def_name, prop)]}")
        print(f"      probe {probe['name']!r}: official {'accepts' if o['valid'] else 'rejects'}"
              f" ({'; '.join(o['errors'][:2]) or '-'}), ours {'accepts' if u['valid'] else 'rejects'}")
        if not ok:
            failures.append(f"probe {probe['name']!r}: expected official to reject and ours to accept")
    for (def_name, prop) in LOOSENED:
        if not any(p["place"] == (def_name, prop) for p in PROBES):
            failures.append(f"loosening {def_name}.{prop} has no probe")
    for note in notes:
        print(f"note:     {note}")

    # 5. second engine
    js = run_jsonschema(official, ours, items + probe_items)
    if js is None:
        print("jsonschema: not importable; ajv only")
    else:
        engine_diffs = 0
        for key in ("official", "ours"):
            for i, (a, p) in enumerate(zip(ajv_out["verdicts"][key], js[key])):
                if a["valid"] != p["valid"]:
                    engine_diffs += 1
                    name = cases[i]["name"] if i < len(cases) else f"probe {PROBES[i - len(cases)]['name']}"
                    failures.append(f"engines disagree on {name!r} against {key}: ajv {a['valid']}, jsonschema {p['valid']}"
                                    + show_errors("jsonschema", p))
        print(f"jsonschema: cross-checked {len(items) + len(probe_items)} messages x 2 schemas, {engine_diffs} engine disagreement(s)")

    if failures:
        print(f"\n{len(failures)} disagreement(s):")
        for failure in failures:
            print(f"  - {failure}")
        return 1
    print("\n0 disagreements: our schema accepts and rejects exactly what the official schema does on every case.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
