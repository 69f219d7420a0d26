"""Tests of the churn dataset generator (scripts/gen_dataset.py), including
that its datasets pass, or in bad mode fail, the Glue job's validation."""

import csv
import io
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import gen_dataset  # noqa: E402
import prepare  # noqa: E402
from test_prepare import MemoryStore, config  # noqa: E402


def to_csv(rows):
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    return buf.getvalue()


def run_prepare(text):
    store = MemoryStore()
    cfg = config(input_version_id="")
    store.put(cfg["input_bucket"], cfg["input_key"], text.encode("utf-8"))
    with tempfile.TemporaryDirectory() as workdir:
        try:
            return prepare.prepare(cfg, store, workdir)
        except prepare.PrepareError as e:
            return e


def mean(xs):
    return sum(xs) / len(xs)


class GenerateTest(unittest.TestCase):
    def test_deterministic(self):
        for mode in gen_dataset.MODES:
            with self.subTest(mode):
                a = gen_dataset.generate(200, 7, mode)
                self.assertEqual(a, gen_dataset.generate(200, 7, mode), "same seed, same rows")
                self.assertNotEqual(a, gen_dataset.generate(200, 8, mode), "another seed, other rows")

    def test_shapes(self):
        cases = [
            ("train", 50, ["tenure_months", "monthly_charges", "support_calls", "plan", "churned"], 51, 5),
            ("bad", 50, ["tenure_months", "monthly_charges", "support_calls", "plan", "churned"], 51, 5),
            ("inference", 50, None, 50, 4),
            ("drifted", 50, None, 50, 4),
            ("no rows", 0, None, 0, 0),
        ]
        for name, n, header, length, width in cases:
            with self.subTest(name):
                mode = name if name in gen_dataset.MODES else "inference"
                rows = gen_dataset.generate(n, 1, mode)
                self.assertEqual(len(rows), length)
                if header:
                    self.assertEqual(rows[0], header)
                for r in rows[1 if header else 0:]:
                    self.assertEqual(len(r), width)

    def test_inference_rows_are_encoded_features(self):
        for mode in ("inference", "drifted"):
            with self.subTest(mode):
                for r in gen_dataset.generate(300, 3, mode):
                    self.assertIn(r[3], ("0", "1", "2"), "plan as its schema code")
                    float(r[0]), float(r[1]), float(r[2])

    def test_known_relationship(self):
        rows = gen_dataset.generate(20000, 11)[1:]
        churn = [int(r[4]) for r in rows]
        rate = mean(churn)
        self.assertGreater(rate, 0.2)
        self.assertLess(rate, 0.32)

        def rate_where(pred):
            sel = [int(r[4]) for r in rows if pred(r)]
            return mean(sel)

        self.assertGreater(rate_where(lambda r: int(r[2]) >= 3), rate_where(lambda r: int(r[2]) == 0) + 0.2,
                           "support calls raise churn")
        self.assertLess(rate_where(lambda r: int(r[0]) >= 48), rate_where(lambda r: int(r[0]) < 12) - 0.2,
                        "tenure lowers churn")
        self.assertLess(rate_where(lambda r: r[3] == "premium"), rate_where(lambda r: r[3] == "basic"),
                        "premium customers churn less")
        # Labels follow the stated probability: the mean label matches the mean
        # probability within sampling error.
        probs = [gen_dataset.churn_probability(int(r[0]), float(r[1] or 65), int(r[2]), r[3]) for r in rows]
        self.assertAlmostEqual(rate, mean(probs), delta=0.015)

    def test_some_charges_are_missing(self):
        rows = gen_dataset.generate(5000, 2)[1:]
        missing = sum(1 for r in rows if r[1] == "") / len(rows)
        self.assertGreater(missing, 0.003)
        self.assertLess(missing, 0.02)

    def test_drifted_shifts_charges_and_calls(self):
        normal = gen_dataset.generate(5000, 4, "inference")
        drifted = gen_dataset.generate(5000, 4, "drifted")
        self.assertGreater(mean([float(r[1]) for r in drifted]), mean([float(r[1]) for r in normal]) + 20)
        self.assertGreater(mean([int(r[2]) for r in drifted]), mean([int(r[2]) for r in normal]) + 2)
        self.assertAlmostEqual(mean([int(r[0]) for r in drifted]), mean([int(r[0]) for r in normal]), delta=2,
                               msg="tenure does not drift")

    def test_invalid_arguments(self):
        cases = [("unknown mode", (10, 1, "weird"), "mode 'weird'"),
                 ("negative rows", (-1, 1, "train"), "rows must be"),
                 ("bad share out of range", (10, 1, "bad", 2.0), "bad_share")]
        for name, args, want in cases:
            with self.subTest(name):
                with self.assertRaises(ValueError) as cm:
                    gen_dataset.generate(*args)
                self.assertIn(want, str(cm.exception))


class AgainstPrepareTest(unittest.TestCase):
    """The generator's modes do what the end-to-end test relies on."""

    def test_train_mode_passes_validation(self):
        manifest = run_prepare(to_csv(gen_dataset.generate(1000, 42)))
        self.assertIsInstance(manifest, dict, manifest)
        self.assertEqual(manifest["counts"]["rejected"], 0)
        self.assertEqual(manifest["counts"]["valid"], 1000)

    def test_bad_mode_fails_validation(self):
        err = run_prepare(to_csv(gen_dataset.generate(1000, 42, "bad")))
        self.assertIsInstance(err, prepare.PrepareError)
        self.assertIn("failed schema validation, more than --max_reject_ratio 0.1", str(err))

    def test_bad_mode_under_the_threshold_passes(self):
        manifest = run_prepare(to_csv(gen_dataset.generate(1000, 42, "bad", bad_share=0.02)))
        self.assertIsInstance(manifest, dict, manifest)
        self.assertGreater(manifest["counts"]["rejected"], 5)


class MainTest(unittest.TestCase):
    def test_writes_file_and_stdout_identically(self):
        out = io.StringIO()
        gen_dataset.main(["--rows", "20", "--seed", "5", "--mode", "drifted"], stdout=out)
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "x.csv")
            gen_dataset.main(["--rows", "20", "--seed", "5", "--mode", "drifted", "--out", path])
            with open(path) as f:
                self.assertEqual(f.read(), out.getvalue())
        self.assertEqual(len(out.getvalue().splitlines()), 20)

    def test_rejects_bad_arguments(self):
        saved, sys.stderr = sys.stderr, io.StringIO()
        try:
            with self.assertRaises(SystemExit) as cm:
                gen_dataset.main(["--rows", "-3"])
        finally:
            sys.stderr = saved
        self.assertEqual(cm.exception.code, 2)


if __name__ == "__main__":
    unittest.main()
