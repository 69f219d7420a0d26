"""Tests of the Glue preparation job (scripts/prepare.py). No network: S3 is
an in-memory store injected into the job."""

import csv
import io
import json
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import prepare  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(HERE, "schema.json")) as f:
    SCHEMA_TEXT = f.read().strip()
SCHEMA = prepare.parse_schema(SCHEMA_TEXT)
HEADER = "tenure_months,monthly_charges,support_calls,plan,churned\n"


class MemoryStore(object):
    """An in-memory S3 with the job's store interface."""

    def __init__(self):
        self.objects = {}  # (bucket, key, version) -> bytes
        self.writes = []  # keys in write order

    def put(self, bucket, key, data, version=""):
        self.objects[(bucket, key, version)] = data

    def open(self, bucket, key, version_id):
        data = self.objects.get((bucket, key, version_id))
        if data is None:
            raise prepare.PrepareError("input s3://%s/%s (version %r) cannot be read: NoSuchKey"
                                       % (bucket, key, version_id))
        return io.BytesIO(data)

    def upload(self, path, bucket, key, content_type):
        with open(path, "rb") as f:
            self.objects[(bucket, key, "")] = f.read()
        self.writes.append(key)

    def text(self, key, bucket="artifacts"):
        return self.objects[(bucket, key, "")].decode("utf-8")

    def json(self, key):
        return json.loads(self.text(key))

    def has(self, key, bucket="artifacts"):
        return (bucket, key, "") in self.objects


PREFIX = "prepared/exec-1/"


def config(**overrides):
    args = {
        "execution_name": "exec-1",
        "input_uri": "s3://raw/raw/churn.csv",
        "input_version_id": "v1",
        "output_prefix": "s3://artifacts/" + PREFIX,
        "schema": SCHEMA_TEXT,
    }
    args.update(overrides)
    return prepare.job_config(args)


def run(data, **overrides):
    """Run the job on data (str or bytes); returns (store, manifest or PrepareError)."""
    store = MemoryStore()
    cfg = config(**overrides)
    store.put(cfg["input_bucket"], cfg["input_key"], data.encode("utf-8") if isinstance(data, str) else data,
              cfg["input_version_id"])
    with tempfile.TemporaryDirectory() as workdir:
        try:
            return store, prepare.prepare(cfg, store, workdir)
        except prepare.PrepareError as e:
            return store, e


def rows(n, start=0):
    """n distinct valid rows."""
    plans = ["basic", "standard", "premium"]
    return "".join("%d,%.2f,%d,%s,%d\n" % (i, 20 + i * 0.5, i % 5, plans[i % 3], i % 2)
                   for i in range(start, start + n))


class ParseArgsTest(unittest.TestCase):
    def test_cases(self):
        cases = [
            ("glue extras are kept and ignored",
             ["--JOB_ID", "j_1", "--execution_name", "x", "--job-bookmark-option", "job-bookmark-disable"],
             {"JOB_ID": "j_1", "execution_name": "x", "job-bookmark-option": "job-bookmark-disable"}),
            ("equals form", ["--input_uri=s3://b/k=v.csv"], {"input_uri": "s3://b/k=v.csv"}),
            ("empty value", ["--input_version_id", "", "--execution_name", "x"],
             {"input_version_id": "", "execution_name": "x"}),
            ("flag without value", ["--input_version_id", "--execution_name", "x"],
             {"input_version_id": "", "execution_name": "x"}),
            ("trailing flag", ["--execution_name"], {"execution_name": ""}),
            ("stray positional", ["script.py", "--a", "1"], {"a": "1"}),
            ("json value", ["--schema", '{"label":"y"}'], {"schema": '{"label":"y"}'}),
        ]
        for name, argv, want in cases:
            with self.subTest(name):
                self.assertEqual(prepare.parse_args(argv), want)


class JobConfigTest(unittest.TestCase):
    def test_valid(self):
        cfg = config(output_prefix="s3://artifacts/prepared/exec-1")
        self.assertEqual(cfg["output_prefix"], "prepared/exec-1/", "a missing trailing slash is added")
        self.assertEqual((cfg["input_bucket"], cfg["input_key"]), ("raw", "raw/churn.csv"))
        self.assertEqual(cfg["max_reject_ratio"], 0.1)

    def test_errors(self):
        cases = [
            ("missing arguments are all named", {"execution_name": "", "schema": ""},
             "missing job arguments: --execution_name, --schema"),
            ("input not s3", {"input_uri": "https://raw/x.csv"}, "is not an s3:// URI"),
            ("input is a folder", {"input_uri": "s3://raw/raw/"}, "does not name an object"),
            ("output without bucket", {"output_prefix": "s3:///x/"}, "has no bucket"),
            ("ratio not a number", {"max_reject_ratio": "ten"}, "is not a number"),
            ("ratio out of range", {"max_reject_ratio": "1.5"}, "not between 0 and 1"),
            ("schema not json", {"schema": "{"}, "--schema is not JSON"),
        ]
        for name, overrides, want in cases:
            with self.subTest(name):
                with self.assertRaises(prepare.PrepareError) as cm:
                    config(**overrides)
                self.assertIn(want, str(cm.exception))


class SchemaTest(unittest.TestCase):
    def test_sample_schema(self):
        self.assertEqual([f["name"] for f in SCHEMA["features"]],
                         ["tenure_months", "monthly_charges", "support_calls", "plan"])
        self.assertEqual(SCHEMA["label"], "churned")

    def test_invalid(self):
        cases = [
            ("not an object", "[]", "must be a JSON object"),
            ("no label", '{"features":[{"name":"a","type":"numeric"}]}', "label must be"),
            ("no features", '{"label":"y","features":[]}', "features must be"),
            ("feature without name", '{"label":"y","features":[{"type":"numeric"}]}', "feature 0 has no name"),
            ("label is a feature", '{"label":"a","features":[{"name":"a","type":"numeric"}]}', "appears twice"),
            ("unknown type", '{"label":"y","features":[{"name":"a","type":"text"}]}', "want numeric or categorical"),
            ("no categories", '{"label":"y","features":[{"name":"a","type":"categorical"}]}', "needs distinct"),
            ("repeated category", '{"label":"y","features":[{"name":"a","type":"categorical","categories":["x","x"]}]}',
             "needs distinct"),
        ]
        for name, text, want in cases:
            with self.subTest(name):
                with self.assertRaises(prepare.PrepareError) as cm:
                    prepare.parse_schema(text)
                self.assertIn(want, str(cm.exception))

    def test_template_uses_this_schema(self):
        """The Glue job's --schema DefaultArgument is scripts/schema.json."""
        import yaml  # PyYAML, installed with cfn-lint

        class Loader(yaml.SafeLoader):
            pass

        Loader.add_multi_constructor("!", lambda loader, suffix, node: None)
        with open(os.path.join(HERE, "..", "template.yaml")) as f:
            template = yaml.load(f, Loader=Loader)
        job = template["Resources"]["PrepareJob"]["Properties"]
        self.assertEqual(json.loads(job["DefaultArguments"]["--schema"]), json.loads(SCHEMA_TEXT))
        self.assertEqual(job["Command"]["Name"], "pythonshell")
        self.assertEqual(job["Command"]["PythonVersion"], "3.9")


class ColumnIndexTest(unittest.TestCase):
    def test_any_order(self):
        idx = prepare.column_index(["churned", "plan", " tenure_months", "support_calls", "monthly_charges"], SCHEMA)
        self.assertEqual(idx, {"churned": 0, "plan": 1, "tenure_months": 2, "support_calls": 3, "monthly_charges": 4})

    def test_wrong_column_sets(self):
        cases = [
            ("missing", ["tenure_months", "monthly_charges", "plan", "churned"], "missing support_calls"),
            ("unexpected", ["tenure_months", "monthly_charges", "support_calls", "plan", "churned", "region"],
             "unexpected 'region'"),
            ("repeated", ["tenure_months", "monthly_charges", "support_calls", "plan", "churned", "plan"],
             "repeated plan"),
            ("no label", ["tenure_months", "monthly_charges", "support_calls", "plan"], "missing churned"),
        ]
        for name, header, want in cases:
            with self.subTest(name):
                with self.assertRaises(prepare.PrepareError) as cm:
                    prepare.column_index(header, SCHEMA)
                self.assertIn(want, str(cm.exception))
                self.assertIn("does not match the schema's columns", str(cm.exception))


class ValidateRowTest(unittest.TestCase):
    IDX = prepare.column_index(HEADER.strip().split(","), SCHEMA)

    def test_cases(self):
        cases = [
            ("valid", "12,70.5,2,premium,1", ["1", "12", "70.5", "2", "2"], None),
            ("integral floats lose .0", "12.0,70.00,2,basic,0", ["0", "12", "70", "2", "0"], None),
            ("spaces are trimmed", " 12 , 70.5 ,2, standard ,0", ["0", "12", "70.5", "2", "1"], None),
            ("missing features are allowed", "12,,NA,,1", ["1", "12", "", "", ""], None),
            ("missing label", "12,70.5,2,basic,", None, "churned: the label is missing"),
            ("label 2", "12,70.5,2,basic,2", None, "churned: label '2' is not 0 or 1"),
            ("label yes", "12,70.5,2,basic,yes", None, "churned: label 'yes' is not 0 or 1"),
            ("text in a number", "twelve,70.5,2,basic,1", None, "tenure_months: 'twelve' is not a number"),
            ("nan spelled out is not missing", "12,NAN,2,basic,1", None, "monthly_charges: 'NAN' is not a finite number"),
            ("infinity", "12,inf,2,basic,1", None, "monthly_charges: 'inf' is not a finite number"),
            ("unknown category", "12,70.5,2,gold,1", None, "plan: 'gold' is not one of basic, standard, premium"),
            ("category is case sensitive", "12,70.5,2,Basic,1", None, "plan: 'Basic' is not one of basic, standard, premium"),
            ("too few fields", "12,70.5,2,basic", None, "expected 5 fields, found 4"),
            ("too many fields", "12,70.5,2,basic,1,x", None, "expected 5 fields, found 6"),
            ("every problem is reported", "x,y,2,gold,7", None,
             "churned: label '7' is not 0 or 1; tenure_months: 'x' is not a number; "
             "monthly_charges: 'y' is not a number; plan: 'gold' is not one of basic, standard, premium"),
        ]
        for name, line, want, reason in cases:
            with self.subTest(name):
                got, why = prepare.validate_row(next(csv.reader([line])), self.IDX, SCHEMA)
                self.assertEqual(got, want)
                self.assertEqual(why, reason)


class SplitTest(unittest.TestCase):
    def test_deterministic_and_about_80_20(self):
        encoded = [["%d" % (i % 2), str(i), "%.2f" % (i * 0.37), str(i % 7), str(i % 3)] for i in range(5000)]
        first = [prepare.is_validation(e) for e in encoded]
        self.assertEqual(first, [prepare.is_validation(e) for e in encoded], "same rows, same split")
        share = sum(first) / len(first)
        self.assertGreater(share, 0.18)
        self.assertLess(share, 0.22)

    def test_identical_rows_share_a_split(self):
        row = ["1", "12", "70.5", "2", "2"]
        self.assertEqual(prepare.is_validation(row), prepare.is_validation(list(row)))

    def test_both_splits_get_a_row(self):
        # Find two rows that both hash to train, and two that both hash to validation.
        train, val = [], []
        i = 0
        while len(train) < 2 or len(val) < 2:
            line = "%d,50,1,basic,0\n" % i
            enc, _ = prepare.validate_row(line.strip().split(","), ValidateRowTest.IDX, SCHEMA)
            (val if prepare.is_validation(enc) else train).append(line)
            i += 1
        for name, data in [("both would train", train[:2]), ("both would validate", val[:2])]:
            with self.subTest(name):
                store, manifest = run(HEADER + "".join(data))
                self.assertIsInstance(manifest, dict)
                self.assertEqual((manifest["counts"]["train"], manifest["counts"]["validation"]), (1, 1))


class BaselineTest(unittest.TestCase):
    def test_numeric_bins_hand_checked(self):
        cases = [
            # 1..10: inclusive deciles are 1 + 0.9k; one value per bin.
            ("one to ten", list(range(1, 11)), [1.9, 2.8, 3.7, 4.6, 5.5, 6.4, 7.3, 8.2, 9.1], [0.1] * 10),
            # Half 0, half 1: deciles 0,0,0,0,0.5,1,1,1,1, deduplicated. bisect_right puts
            # 0 in bin 1 (0 <= 0) and 1 in bin 3.
            ("two values", [0.0] * 50 + [1.0] * 50, [0.0, 0.5, 1.0], [0.0, 0.5, 0.0, 0.5]),
            # 0..20 step 1 (21 values): deciles at positions 2k, i.e. 2, 4, ..., 18.
            # Bin 0 holds 0 and 1 (2 values), bins 1-8 two each, bin 9 holds 18, 19, 20.
            ("twenty one", list(range(21)), [2.0, 4.0, 6.0, 8.0, 10.0, 12.0, 14.0, 16.0, 18.0],
             [round(2 / 21, 6)] * 9 + [round(3 / 21, 6)]),
            ("constant", [5.0] * 4, [5.0], [0.0, 1.0]),
            ("single value", [3.0], [], [1.0]),
            ("no values", [], [], [1.0]),
        ]
        for name, values, edges, proportions in cases:
            with self.subTest(name):
                got_edges, got_props = prepare.numeric_bins(values)
                self.assertEqual(len(got_edges), len(edges))
                for g, w in zip(got_edges, edges):
                    self.assertAlmostEqual(g, w, places=9)
                self.assertEqual(got_props, proportions)
                self.assertAlmostEqual(sum(got_props), 1.0, places=5)

    def test_category_shares(self):
        self.assertEqual(prepare.category_shares([5, 3, 2]), {"0": 0.5, "1": 0.3, "2": 0.2})
        self.assertEqual(prepare.category_shares([0, 4, 0]), {"0": 0.0, "1": 1.0, "2": 0.0})
        self.assertEqual(prepare.category_shares([0, 0]), {"0": 0.5, "1": 0.5})

    def test_builder(self):
        b = prepare.BaselineBuilder(SCHEMA)
        for enc in (["1", "1", "10", "0", "0"], ["0", "2", "", "1", "0"], ["0", "3", "30", "2", "2"],
                    ["1", "4", "40", "", "1"]):
            b.add(enc)
        got = b.build()
        self.assertEqual(got["version"], 1)
        self.assertEqual(got["label"], "churned")
        self.assertEqual(got["rowCount"], 4)
        self.assertEqual([f["name"] for f in got["features"]], ["tenure_months", "monthly_charges", "support_calls", "plan"])
        charges = got["features"][1]
        self.assertEqual(charges["missingShare"], 0.25)
        self.assertEqual(got["features"][2]["missingShare"], 0.25)
        self.assertAlmostEqual(sum(charges["proportions"]), 1.0, places=5)
        plan = got["features"][3]
        self.assertEqual(plan, {"name": "plan", "type": "categorical",
                                "categories": {"0": 0.5, "1": 0.25, "2": 0.25}, "missingShare": 0.0})


class PrepareTest(unittest.TestCase):
    def test_happy_path(self):
        bad = ("5,30,1,gold,1\n"          # unknown plan
               "6,abc,1,basic,0\n")       # not a number
        store, manifest = run(HEADER + rows(40) + bad + "\n" + rows(8, start=40))
        self.assertIsInstance(manifest, dict, manifest)
        counts = manifest["counts"]
        self.assertEqual(counts, {"total": 50, "valid": 48, "rejected": 2, "blank": 1,
                                  "train": counts["train"], "validation": counts["validation"]})
        self.assertEqual(counts["train"] + counts["validation"], 48, "every valid row is in one split")
        self.assertGreater(counts["validation"], 0)
        self.assertEqual(manifest["status"], "succeeded")
        self.assertEqual(manifest["input"], {"uri": "s3://raw/raw/churn.csv", "versionId": "v1"})
        self.assertEqual(manifest["rejectReasons"], {"plan": 1, "monthly_charges": 1})
        self.assertEqual(manifest["schema"], SCHEMA)
        self.assertEqual(manifest["outputs"], {
            "train": "s3://artifacts/prepared/exec-1/train/train.csv",
            "validation": "s3://artifacts/prepared/exec-1/validation/validation.csv",
            "baseline": "s3://artifacts/prepared/exec-1/baseline.json",
            "quarantine": "s3://artifacts/prepared/exec-1/quarantine/rejected.csv"})

        train = list(csv.reader(io.StringIO(store.text(PREFIX + "train/train.csv"))))
        val = list(csv.reader(io.StringIO(store.text(PREFIX + "validation/validation.csv"))))
        self.assertEqual((len(train), len(val)), (counts["train"], counts["validation"]))
        for row in train + val:
            self.assertEqual(len(row), 5)
            self.assertIn(row[0], ("0", "1"), "label first")
            self.assertIn(row[4], ("0", "1", "2"), "plan as its code")
        # Row i=3 is "3,21.50,3,basic,1" -> label first, plan basic -> 0.
        self.assertIn(["1", "3", "21.5", "3", "0"], train + val)

        rejected = list(csv.reader(io.StringIO(store.text(PREFIX + "quarantine/rejected.csv"))))
        self.assertEqual(rejected[0], ["line", "reason", "row"])
        self.assertEqual(rejected[1], ["42", "plan: 'gold' is not one of basic, standard, premium", "5,30,1,gold,1"])
        self.assertEqual(rejected[2], ["43", "monthly_charges: 'abc' is not a number", "6,abc,1,basic,0"])

        baseline = store.json(PREFIX + "baseline.json")
        self.assertEqual(baseline["rowCount"], counts["train"], "the baseline describes the training split")
        for f in baseline["features"]:
            if f["type"] == "numeric":
                self.assertEqual(len(f["proportions"]), len(f["edges"]) + 1)
                self.assertEqual(f["edges"], sorted(set(f["edges"])))
                self.assertAlmostEqual(sum(f["proportions"]), 1.0, places=3)
        self.assertEqual(store.json(PREFIX + "manifest.json"), manifest)
        self.assertEqual(store.writes[-1], PREFIX + "manifest.json", "the manifest is written last")

    def test_rerun_is_identical(self):
        data = HEADER + rows(30)
        a, _ = run(data)
        b, _ = run(data)
        self.assertEqual(a.objects, b.objects)

    def test_bom_and_crlf(self):
        store, manifest = run(("\ufeff" + HEADER + rows(10)).replace("\n", "\r\n").encode("utf-8"))
        self.assertIsInstance(manifest, dict, manifest)
        self.assertEqual(manifest["counts"]["valid"], 10)

    def test_reject_ratio_boundary(self):
        good = rows(9)
        bad = "1,2,3,gold,1\n"
        store, manifest = run(HEADER + good + bad)  # 1 of 10 = 10%: allowed
        self.assertIsInstance(manifest, dict, manifest)
        store, err = run(HEADER + good + bad, max_reject_ratio="0.05")
        self.assertIsInstance(err, prepare.PrepareError)
        self.assertIn("1 of 10 rows (10.0%) failed schema validation, more than --max_reject_ratio 0.05", str(err))

    def test_failures(self):
        cases = [
            ("too many rejected rows", HEADER + rows(8) + "1,2,3,gold,1\n2,x,3,basic,0\n3,2,3,basic,5\n",
             "3 of 11 rows (27.3%) failed schema validation", True),
            ("no valid rows", HEADER + "1,2,3,gold,1\n", "no valid rows: all 1 rows were rejected", True),
            ("one valid row", HEADER + rows(1), "only 1 valid row", True),
            ("wrong column set", "tenure,charges,calls,plan,churned\n" + rows(5),
             "the CSV header does not match the schema's columns", True),
            ("header only", HEADER, "the input has a header but no data rows", True),
            ("empty file", "", "the input is empty: no header", True),
            ("not utf-8", (HEADER + "1,2,3,b\xe4sic,1\n").encode("latin-1"), "the input is not UTF-8 text", True),
        ]
        for name, data, want, writes_manifest in cases:
            with self.subTest(name):
                store, err = run(data)
                self.assertIsInstance(err, prepare.PrepareError, "job succeeded: %r" % (err,))
                self.assertIn(want, str(err))
                manifest = store.json(PREFIX + "manifest.json")
                self.assertEqual(manifest["status"], "failed")
                self.assertEqual(manifest["error"], str(err))
                self.assertTrue(store.has(PREFIX + "quarantine/rejected.csv"), "rejected rows are kept")
                for key in ("train/train.csv", "validation/validation.csv", "baseline.json"):
                    self.assertFalse(store.has(PREFIX + key), "%s written by a failed job" % key)

    def test_rejected_rows_are_all_quarantined(self):
        bad_lines = ["1,2,3,gold,1", "2,x,3,basic,0", "3,2,3,basic,5", "4,2,3", "5,2,3,basic,"]
        store, err = run(HEADER + rows(2) + "\n".join(bad_lines) + "\n")
        self.assertIsInstance(err, prepare.PrepareError)
        rejected = list(csv.reader(io.StringIO(store.text(PREFIX + "quarantine/rejected.csv"))))[1:]
        self.assertEqual([r[2] for r in rejected], bad_lines)
        self.assertEqual([r[0] for r in rejected], ["4", "5", "6", "7", "8"], "1-based physical line numbers")
        manifest = store.json(PREFIX + "manifest.json")
        self.assertEqual(manifest["counts"]["rejected"], 5)
        self.assertEqual(manifest["rejectReasons"], {"plan": 1, "monthly_charges": 1, "churned": 2, "field count": 1})

    def test_missing_input(self):
        store = MemoryStore()
        with tempfile.TemporaryDirectory() as workdir:
            with self.assertRaises(prepare.PrepareError) as cm:
                prepare.prepare(config(), store, workdir)
        self.assertIn("s3://raw/raw/churn.csv (version 'v1') cannot be read", str(cm.exception))

    def test_version_id_is_used(self):
        store = MemoryStore()
        store.put("raw", "raw/churn.csv", (HEADER + rows(10)).encode(), "v2")
        store.put("raw", "raw/churn.csv", b"garbage\n", "v1")
        with tempfile.TemporaryDirectory() as workdir:
            manifest = prepare.prepare(config(input_version_id="v2"), store, workdir)
        self.assertEqual(manifest["counts"]["valid"], 10)


class MainTest(unittest.TestCase):
    def argv(self, **overrides):
        args = {"--JOB_ID": "j_1", "--execution_name": "exec-1", "--input_uri": "s3://raw/raw/churn.csv",
                "--input_version_id": "", "--output_prefix": "s3://artifacts/" + PREFIX, "--schema": SCHEMA_TEXT}
        args.update(overrides)
        out = []
        for k, v in args.items():
            out += [k, v]
        return out

    def test_exit_status(self):
        store = MemoryStore()
        store.put("raw", "raw/churn.csv", (HEADER + rows(20)).encode())
        cases = [
            ("success", self.argv(), 0, ""),
            ("job failure", self.argv(**{"--max_reject_ratio": "x"}), 1, "prepare: error: --max_reject_ratio 'x'"),
            ("missing argument", self.argv(**{"--schema": ""}), 1, "missing job arguments: --schema"),
            ("missing object", self.argv(**{"--input_uri": "s3://raw/raw/none.csv"}), 1, "cannot be read"),
        ]
        for name, argv, want_status, want_err in cases:
            with self.subTest(name):
                stderr, stdout = io.StringIO(), io.StringIO()
                saved, sys.stdout = sys.stdout, stdout
                try:
                    status = prepare.main(argv, store_factory=lambda: store, stderr=stderr)
                finally:
                    sys.stdout = saved
                self.assertEqual(status, want_status)
                self.assertIn(want_err, stderr.getvalue())
                if want_status == 0:
                    self.assertEqual(json.loads(stdout.getvalue())["counts"]["valid"], 20)


if __name__ == "__main__":
    unittest.main()
