#!/usr/bin/env python3
"""Glue Python shell job: turn one raw dataset into training inputs.

Reads the raw CSV named by --input_uri (at --input_version_id when given),
validates every row against --schema, and writes under --output_prefix:

  train/train.csv             XGBoost CSV: no header, label first, then the
                              features in schema order, categoricals as codes
  validation/validation.csv   the same format, ~20% of the valid rows
  baseline.json               training-split distribution for drift monitoring
  manifest.json               counts, schema, input identity, outcome
  quarantine/rejected.csv     every rejected row with its line and reason

Nothing is dropped silently: a row is either in a split or in quarantine, and
the manifest counts both. The job fails (exit status 1, the reason on stderr
and in manifest.json) when the header is not the schema's column set, when no
valid row remains, or when the share of rejected rows exceeds
--max_reject_ratio (default 0.1).

Standard library and boto3 only, Python 3.9 (Glue Python shell). boto3 reads
AWS_ENDPOINT_URL itself, which is how the same script runs against moto or the
local cloud.
"""

import array
import bisect
import codecs
import csv
import hashlib
import io
import json
import math
import os
import statistics
import sys
import tempfile

BASELINE_VERSION = 1
MANIFEST_VERSION = 1
DEFAULT_MAX_REJECT_RATIO = 0.1
# Share of valid rows that go to validation, in percent of the hash space.
VALIDATION_PERCENT = 20
# Values that mean "missing" (the same tokens shared/drift treats as missing).
MISSING = frozenset(["", "NA", "NaN", "nan", "null", "None"])
REQUIRED_ARGS = ("execution_name", "input_uri", "output_prefix", "schema")

# The layout under --output_prefix (pipeline.PreparedData in shared/pipeline).
TRAIN_KEY = "train/train.csv"
VALIDATION_KEY = "validation/validation.csv"
BASELINE_KEY = "baseline.json"
MANIFEST_KEY = "manifest.json"
QUARANTINE_KEY = "quarantine/rejected.csv"


class PrepareError(Exception):
    """A reason the job must fail; its message is what operators read."""


# ---- arguments ----

def parse_args(argv):
    """Parse Glue-style "--key value" (or "--key=value") arguments.

    Glue adds its own (--JOB_ID, --JOB_RUN_ID, --job-bookmark-option, ...);
    they are kept and ignored. An empty value ("--input_version_id ''") is a
    value. Returns a dict of key -> value without the leading dashes.
    """
    args = {}
    i = 0
    while i < len(argv):
        token = argv[i]
        if not token.startswith("--"):
            i += 1  # a stray positional token; Glue never sends one we need
            continue
        key = token[2:]
        if "=" in key:
            key, value = key.split("=", 1)
            i += 1
        elif i + 1 < len(argv) and not argv[i + 1].startswith("--"):
            value = argv[i + 1]
            i += 2
        else:
            value = ""
            i += 1
        args[key] = value
    return args


def job_config(args):
    """Validate the job's arguments and return the typed configuration."""
    missing = [k for k in REQUIRED_ARGS if not args.get(k)]
    if missing:
        raise PrepareError("missing job arguments: " + ", ".join("--" + k for k in missing))
    input_bucket, input_key = split_s3_uri(args["input_uri"], "--input_uri")
    if not input_key or input_key.endswith("/"):
        raise PrepareError("--input_uri %r does not name an object" % args["input_uri"])
    out_bucket, out_prefix = split_s3_uri(args["output_prefix"], "--output_prefix")
    if out_prefix and not out_prefix.endswith("/"):
        out_prefix += "/"
    ratio_text = args.get("max_reject_ratio", "") or str(DEFAULT_MAX_REJECT_RATIO)
    try:
        ratio = float(ratio_text)
    except ValueError:
        raise PrepareError("--max_reject_ratio %r is not a number" % ratio_text)
    if not 0 <= ratio <= 1:
        raise PrepareError("--max_reject_ratio %r is not between 0 and 1" % ratio_text)
    return {
        "execution_name": args["execution_name"],
        "input_uri": args["input_uri"],
        "input_bucket": input_bucket,
        "input_key": input_key,
        "input_version_id": args.get("input_version_id", ""),
        "output_bucket": out_bucket,
        "output_prefix": out_prefix,
        "schema": parse_schema(args["schema"]),
        "max_reject_ratio": ratio,
    }


def split_s3_uri(uri, what):
    if not uri.startswith("s3://"):
        raise PrepareError("%s %r is not an s3:// URI" % (what, uri))
    bucket, _, key = uri[len("s3://"):].partition("/")
    if not bucket:
        raise PrepareError("%s %r has no bucket" % (what, uri))
    return bucket, key


# ---- schema ----

def parse_schema(text):
    """Parse and check the schema JSON: {"label": ..., "features": [...]}."""
    try:
        schema = json.loads(text)
    except ValueError as e:
        raise PrepareError("--schema is not JSON: %s" % e)
    if not isinstance(schema, dict):
        raise PrepareError("--schema must be a JSON object")
    label = schema.get("label")
    features = schema.get("features")
    if not isinstance(label, str) or not label:
        raise PrepareError("--schema: label must be a non-empty string")
    if not isinstance(features, list) or not features:
        raise PrepareError("--schema: features must be a non-empty list")
    names = set([label])
    for i, f in enumerate(features):
        if not isinstance(f, dict) or not isinstance(f.get("name"), str) or not f["name"]:
            raise PrepareError("--schema: feature %d has no name" % i)
        if f["name"] in names:
            raise PrepareError("--schema: column %r appears twice" % f["name"])
        names.add(f["name"])
        kind = f.get("type")
        if kind == "categorical":
            cats = f.get("categories")
            if (not isinstance(cats, list) or not cats
                    or not all(isinstance(c, str) and c for c in cats)
                    or len(set(cats)) != len(cats)):
                raise PrepareError("--schema: feature %r needs distinct non-empty string categories" % f["name"])
        elif kind != "numeric":
            raise PrepareError("--schema: feature %r has type %r, want numeric or categorical" % (f["name"], kind))
    return schema


def column_index(header, schema):
    """Map every schema column to its position in the CSV header.

    The header must hold exactly the schema's columns, in any order.
    """
    header = [h.strip() for h in header]
    want = [f["name"] for f in schema["features"]] + [schema["label"]]
    dupes = sorted(set(h for h in header if header.count(h) > 1))
    missing = [c for c in want if c not in header]
    unexpected = [h for h in header if h not in want]
    if dupes or missing or unexpected:
        parts = []
        if missing:
            parts.append("missing " + ", ".join(missing))
        if unexpected:
            parts.append("unexpected " + ", ".join(repr(u) for u in unexpected))
        if dupes:
            parts.append("repeated " + ", ".join(dupes))
        raise PrepareError("the CSV header does not match the schema's columns (%s): %s"
                           % (", ".join(want), "; ".join(parts)))
    return {name: header.index(name) for name in want}


# ---- rows ----

def format_number(x):
    """Shortest text that reads back as x; integral values without ".0"."""
    if x == int(x) and abs(x) < 1e15:
        return str(int(x))
    return repr(x)


def validate_row(fields, index, schema):
    """Validate one CSV row.

    Returns (encoded, None) for a valid row, where encoded is the XGBoost
    row as strings (label, then features in schema order; missing features
    are ""), or (None, reason) for a rejected one.
    """
    if len(fields) != len(index):
        return None, "expected %d fields, found %d" % (len(index), len(fields))
    problems = []
    encoded = []
    label = fields[index[schema["label"]]].strip()
    if label in MISSING:
        problems.append("%s: the label is missing" % schema["label"])
    elif label not in ("0", "1"):
        problems.append("%s: label %r is not 0 or 1" % (schema["label"], label))
    encoded.append(label)
    for f in schema["features"]:
        v = fields[index[f["name"]]].strip()
        if v in MISSING:
            encoded.append("")
            continue
        if f["type"] == "numeric":
            try:
                x = float(v)
            except ValueError:
                problems.append("%s: %r is not a number" % (f["name"], v))
                continue
            if math.isnan(x) or math.isinf(x):
                problems.append("%s: %r is not a finite number" % (f["name"], v))
                continue
            encoded.append(format_number(x))
        else:
            cats = f["categories"]
            if v not in cats:
                problems.append("%s: %r is not one of %s" % (f["name"], v, ", ".join(cats)))
                continue
            encoded.append(str(cats.index(v)))
    if problems:
        return None, "; ".join(problems)
    return encoded, None


def is_validation(encoded):
    """Deterministic ~80/20 split on the row's content.

    Identical rows land in the same split (no leakage between them), and a
    row keeps its split when other rows are added or removed.
    """
    digest = hashlib.sha256("\x1f".join(encoded).encode("utf-8")).hexdigest()
    return int(digest[:8], 16) % 100 < VALIDATION_PERCENT


# ---- baseline ----

class BaselineBuilder(object):
    """Collects the training split's values and writes baseline.json.

    Numeric values are kept in a compact array (8 bytes each) because exact
    deciles need them all.
    """

    def __init__(self, schema):
        self.schema = schema
        self.rows = 0
        self.numeric = {}
        self.counts = {}
        self.missing = {}
        for f in schema["features"]:
            self.missing[f["name"]] = 0
            if f["type"] == "numeric":
                self.numeric[f["name"]] = array.array("d")
            else:
                self.counts[f["name"]] = [0] * len(f["categories"])

    def add(self, encoded):
        """Count one encoded row (label first, then features)."""
        self.rows += 1
        for f, v in zip(self.schema["features"], encoded[1:]):
            if v == "":
                self.missing[f["name"]] += 1
            elif f["type"] == "numeric":
                self.numeric[f["name"]].append(float(v))
            else:
                self.counts[f["name"]][int(v)] += 1

    def build(self):
        features = []
        for f in self.schema["features"]:
            name = f["name"]
            missing_share = round(self.missing[name] / self.rows, 6) if self.rows else 0.0
            if f["type"] == "numeric":
                edges, proportions = numeric_bins(self.numeric[name])
                features.append({"name": name, "type": "numeric", "edges": edges,
                                 "proportions": proportions, "missingShare": missing_share})
            else:
                features.append({"name": name, "type": "categorical",
                                 "categories": category_shares(self.counts[name]),
                                 "missingShare": missing_share})
        return {"version": BASELINE_VERSION, "label": self.schema["label"],
                "rowCount": self.rows, "features": features}


def numeric_bins(values):
    """Decile edges and bin shares of values.

    The edges are the 9 interior deciles (statistics.quantiles, method
    "inclusive": linear interpolation, numpy's default), deduplicated, so
    there may be fewer. The bin of v is bisect_right(edges, v), as the
    monitor computes it. With no values there is one bin holding everything.
    """
    if len(values) == 0:
        return [], [1.0]
    data = sorted(values)
    if len(data) == 1:
        return [], [1.0]
    edges = []
    for e in statistics.quantiles(data, n=10, method="inclusive"):
        if not edges or e > edges[-1]:
            edges.append(e)
    counts = [0] * (len(edges) + 1)
    for v in data:
        counts[bisect.bisect_right(edges, v)] += 1
    return edges, [round(c / len(data), 6) for c in counts]


def category_shares(counts):
    """Share of each code as a string key; uniform when nothing was seen."""
    total = sum(counts)
    if total == 0:
        return {str(i): round(1.0 / len(counts), 6) for i in range(len(counts))}
    return {str(i): round(c / total, 6) for i, c in enumerate(counts)}


# ---- storage ----

class S3Store(object):
    """The job's S3 access: one object read, a few object writes."""

    def __init__(self, client):
        self.client = client

    def open(self, bucket, key, version_id):
        """Return a binary stream of the object (at version_id if given)."""
        kwargs = {"Bucket": bucket, "Key": key}
        if version_id:
            kwargs["VersionId"] = version_id
        from botocore.exceptions import ClientError  # installed with boto3
        try:
            return self.client.get_object(**kwargs)["Body"]
        except ClientError as e:
            code = e.response.get("Error", {}).get("Code", "")
            if code in ("NoSuchKey", "NoSuchVersion", "404", "InvalidArgument"):
                raise PrepareError("input s3://%s/%s (version %r) cannot be read: %s"
                                   % (bucket, key, version_id, code))
            raise  # access, throttling, network: Glue fails the run with the traceback

    def upload(self, path, bucket, key, content_type):
        """Write the local file at path to s3://bucket/key."""
        with open(path, "rb") as body:
            self.client.put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type)


# ---- the job ----

def prepare(cfg, store, workdir):
    """Run the job. Returns the manifest; raises PrepareError on failure.

    On failure the quarantine file and a manifest saying why are still
    written (nothing is lost), but no split or baseline is, so nothing
    downstream can train on a dataset that failed.
    """
    schema = cfg["schema"]
    paths = {k: os.path.join(workdir, k.replace("/", "_"))
             for k in (TRAIN_KEY, VALIDATION_KEY, QUARANTINE_KEY, BASELINE_KEY, MANIFEST_KEY)}
    counts = {"total": 0, "valid": 0, "rejected": 0, "train": 0, "validation": 0, "blank": 0}
    reasons = {}
    baseline = BaselineBuilder(schema)
    manifest = {
        "version": MANIFEST_VERSION,
        "executionName": cfg["execution_name"],
        "input": {"uri": cfg["input_uri"], "versionId": cfg["input_version_id"]},
        "schema": schema,
        "maxRejectRatio": cfg["max_reject_ratio"],
        "counts": counts,
        "rejectReasons": reasons,
        "outputs": {"train": output_uri(cfg, TRAIN_KEY), "validation": output_uri(cfg, VALIDATION_KEY),
                    "baseline": output_uri(cfg, BASELINE_KEY), "quarantine": output_uri(cfg, QUARANTINE_KEY)},
    }
    error = None
    body = store.open(cfg["input_bucket"], cfg["input_key"], cfg["input_version_id"])
    text = codecs.getreader("utf-8-sig")(body, errors="strict")
    with open(paths[TRAIN_KEY], "w", newline="") as train_f, \
            open(paths[VALIDATION_KEY], "w", newline="") as val_f, \
            open(paths[QUARANTINE_KEY], "w", newline="") as bad_f:
        train_w, val_w, bad_w = csv.writer(train_f), csv.writer(val_f), csv.writer(bad_f)
        bad_w.writerow(["line", "reason", "row"])
        try:
            error = split_rows(csv.reader(text), schema, counts, reasons, baseline, train_w, val_w, bad_w)
        except UnicodeDecodeError as e:
            error = "the input is not UTF-8 text: %s" % e.reason
        except csv.Error as e:
            error = "the input is not valid CSV: %s" % e
    if error is None:
        error = outcome_error(counts, cfg["max_reject_ratio"])
    manifest["status"] = "failed" if error else "succeeded"
    if error:
        manifest["error"] = error
    else:
        write_json(paths[BASELINE_KEY], baseline.build())
    write_json(paths[MANIFEST_KEY], manifest)

    uploads = [(QUARANTINE_KEY, "text/csv")]
    if not error:
        uploads += [(TRAIN_KEY, "text/csv"), (VALIDATION_KEY, "text/csv"), (BASELINE_KEY, "application/json")]
    uploads.append((MANIFEST_KEY, "application/json"))  # last: its presence means the others are written
    for key, content_type in uploads:
        store.upload(paths[key], cfg["output_bucket"], cfg["output_prefix"] + key, content_type)
    if error:
        raise PrepareError(error)
    return manifest


def split_rows(reader, schema, counts, reasons, baseline, train_w, val_w, bad_w):
    """Validate and route every row; returns an error message or None."""
    try:
        header = next(reader)
    except StopIteration:
        return "the input is empty: no header"
    try:
        index = column_index(header, schema)
    except PrepareError as e:
        return str(e)
    valid = []  # (is_validation, encoded) of the first valid rows, see below
    for fields in reader:
        line = reader.line_num
        if not fields or (len(fields) == 1 and not fields[0].strip()):
            counts["blank"] += 1
            continue
        counts["total"] += 1
        encoded, reason = validate_row(fields, index, schema)
        if reason:
            counts["rejected"] += 1
            kind = reason_kind(reason)
            reasons[kind] = reasons.get(kind, 0) + 1
            bad_w.writerow([line, reason, csv_line(fields)])
            continue
        counts["valid"] += 1
        to_validation = is_validation(encoded)
        if counts["valid"] <= 2:
            # Hold the first two rows back so that a tiny dataset still gets
            # one row in each split (see ensure_both_splits).
            valid.append([to_validation, encoded])
            continue
        route(to_validation, encoded, counts, baseline, train_w, val_w)
    ensure_both_splits(valid, counts)
    for to_validation, encoded in valid:
        route(to_validation, encoded, counts, baseline, train_w, val_w)
    return None


def ensure_both_splits(held, counts):
    """Make sure neither split ends up empty.

    held are the first (up to) two valid rows, not yet routed. If every
    other row went to one split, the held rows are assigned so that the
    other split gets one. Deterministic: it depends only on the content.
    """
    if len(held) < 2:
        return
    train_after = counts["train"] + sum(1 for v, _ in held if not v)
    val_after = counts["validation"] + sum(1 for v, _ in held if v)
    if val_after == 0:
        held[1][0] = True
    elif train_after == 0:
        held[1][0] = False


def route(to_validation, encoded, counts, baseline, train_w, val_w):
    if to_validation:
        counts["validation"] += 1
        val_w.writerow(encoded)
    else:
        counts["train"] += 1
        train_w.writerow(encoded)
        baseline.add(encoded)


def outcome_error(counts, max_ratio):
    """The reason the job fails given its counts, or None."""
    if counts["total"] == 0:
        return "the input has a header but no data rows"
    if counts["valid"] == 0:
        return "no valid rows: all %d rows were rejected (see quarantine/rejected.csv)" % counts["total"]
    ratio = counts["rejected"] / counts["total"]
    if ratio > max_ratio:
        return ("%d of %d rows (%.1f%%) failed schema validation, more than --max_reject_ratio %g allows"
                " (see quarantine/rejected.csv)" % (counts["rejected"], counts["total"], 100 * ratio, max_ratio))
    if counts["valid"] < 2:
        return "only %d valid row: training and validation need at least one row each" % counts["valid"]
    return None


def reason_kind(reason):
    """A short key for counting reasons: the first problem's column."""
    first = reason.split("; ")[0]
    if first.startswith("expected "):
        return "field count"
    return first.split(":")[0]


def csv_line(fields):
    buf = io.StringIO()
    csv.writer(buf, lineterminator="").writerow(fields)
    return buf.getvalue()


def output_uri(cfg, key):
    return "s3://%s/%s%s" % (cfg["output_bucket"], cfg["output_prefix"], key)


def write_json(path, doc):
    with open(path, "w") as f:
        json.dump(doc, f, indent=1, sort_keys=True)
        f.write("\n")


def main(argv, store_factory=None, stderr=None):
    """Entry point; returns the process exit status."""
    stderr = stderr or sys.stderr
    try:
        cfg = job_config(parse_args(argv))
        if store_factory is None:
            import boto3  # only the real job needs it; tests inject a store
            store = S3Store(boto3.client("s3"))
        else:
            store = store_factory()
        with tempfile.TemporaryDirectory(prefix="prepare-") as workdir:
            manifest = prepare(cfg, store, workdir)
    except PrepareError as e:
        stderr.write("prepare: error: %s\n" % e)
        return 1
    print(json.dumps({"status": "succeeded", "counts": manifest["counts"],
                      "rejectReasons": manifest["rejectReasons"]}, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
