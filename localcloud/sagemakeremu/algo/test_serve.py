"""Tests of serve.py: run with /usr/bin/python3 -m unittest (python3-xgboost)."""

import os
import tempfile
import unittest

import numpy as np
import xgboost as xgb

import serve


class ScorerTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        rnd = np.random.default_rng(7)
        x = rnd.uniform(0, 10, size=(200, 2))
        y = (x[:, 0] > 5).astype(float)
        booster = xgb.train({"objective": "binary:logistic", "max_depth": 2, "nthread": 1},
                            xgb.DMatrix(x, label=y), num_boost_round=5)
        cls.tmp = tempfile.TemporaryDirectory()
        booster.save_model(os.path.join(cls.tmp.name, "xgboost-model"))
        cls.scorer = serve.Scorer(serve.load_models(cls.tmp.name))

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_csv_predictions_are_comma_joined(self):
        out = self.scorer.predict(b"9,1\n1,1\n", "text/csv")
        p = [float(v) for v in out.split(",")]
        self.assertEqual(len(p), 2)
        self.assertGreater(p[0], 0.5)
        self.assertLess(p[1], 0.5)

    def test_libsvm(self):
        out = self.scorer.predict(b"0 0:9 1:1", "text/libsvm")
        self.assertGreater(float(out), 0.5)

    def test_no_content_type_means_libsvm(self):
        self.assertGreater(float(self.scorer.predict(b"0 0:9 1:1", None)), 0.5)

    def test_errors(self):
        cases = [
            ("json is not accepted", b"[1,2]", "application/json", 415, "application/json is not an accepted ContentType: csv, libsvm"),
            ("malformed csv", b"abc,1", "text/csv", 415, "Loading csv data failed"),
            ("ragged csv", b"1,2\n3", "text/csv", 415, "Loading csv data failed"),
            ("wrong feature count", b"1,2,3", "text/csv", 400, "Unable to evaluate payload provided: Feature size of csv inference data 3"),
        ]
        for name, body, ct, status, msg in cases:
            with self.subTest(name):
                with self.assertRaises(serve.RequestError) as cm:
                    self.scorer.predict(body, ct)
                self.assertEqual(cm.exception.status, status)
                self.assertIn(msg, str(cm.exception))


if __name__ == "__main__":
    unittest.main()
