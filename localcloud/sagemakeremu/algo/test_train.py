"""Tests of train.py: run with /usr/bin/python3 -m unittest (python3-xgboost)."""

import json
import os
import random
import tempfile
import unittest

import train


def write_csv(path, rows):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        for r in rows:
            f.write(",".join(str(x) for x in r) + "\n")


def separable(n, seed):
    rnd = random.Random(seed)
    rows = []
    for _ in range(n):
        x = rnd.uniform(0, 10)
        y = rnd.uniform(0, 10)
        rows.append([1 if x > 5 else 0, round(x, 3), round(y, 3)])
    return rows


class TrainTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name

    def tearDown(self):
        self.tmp.cleanup()

    def config(self, hp, channels):
        return {
            "hyperparameters": hp,
            "channels": channels,
            "modelDir": os.path.join(self.dir, "model"),
            "metricsFile": os.path.join(self.dir, "metrics.json"),
            "failureFile": os.path.join(self.dir, "failure"),
        }

    def channel(self, name, rows, ct="text/csv"):
        write_csv(os.path.join(self.dir, name, "part.csv"), rows)
        return {"dir": os.path.join(self.dir, name), "contentType": ct}

    def test_trains_and_reports_metrics_named_like_sagemaker(self):
        cfg = self.config({"objective": "binary:logistic", "eval_metric": "error,auc", "num_round": "5", "max_depth": "2"},
                          {"train": self.channel("train", separable(200, 1)),
                           "validation": self.channel("validation", separable(80, 2))})
        self.assertEqual(train.main(["--config", self._write(cfg)]), 0)
        with open(cfg["metricsFile"]) as f:
            metrics = json.load(f)
        self.assertEqual(set(metrics), {"train:error", "train:auc", "validation:error", "validation:auc"})
        self.assertLess(metrics["validation:error"], 0.1)
        self.assertTrue(os.path.isfile(os.path.join(cfg["modelDir"], "xgboost-model")))

    def test_failures(self):
        cases = [
            ("missing num_round", {"objective": "binary:logistic"}, None, "ClientError: Missing required hyperparameter: num_round"),
            ("unknown hyperparameter", {"num_round": "2", "foo": "1"}, None, "ClientError: Additional hyperparameters are not allowed ('foo' unexpected)"),
            ("bad objective", {"num_round": "2", "objective": "binary:nope"}, None, "ClientError: Hyperparameter objective"),
            ("eta out of range", {"num_round": "2", "eta": "2"}, None, "ClientError: Hyperparameter eta"),
            ("header row", {"num_round": "2"}, [["label", "x"], [1, 2]], "ClientError: Channel train: part.csv line 1: non-numeric value"),
            ("ragged rows", {"num_round": "2"}, [[1, 2, 3], [0, 1]], "ClientError: Channel train: part.csv line 2 has 2 columns"),
            ("label only", {"num_round": "2"}, [[1], [0]], "ClientError: Channel train: rows have 1 column(s)"),
            ("labels unfit for the objective", {"num_round": "2", "objective": "binary:logistic"}, [[5, 1], [7, 2]], "ClientError: XGBoost training failed"),
        ]
        for name, hp, rows, want in cases:
            with self.subTest(name):
                cfg = self.config(hp, {"train": self.channel("train", rows or separable(20, 3))})
                self.assertEqual(train.main(["--config", self._write(cfg)]), 1)
                with open(cfg["failureFile"]) as f:
                    self.assertTrue(f.read().startswith(want))

    def test_channel_content_types(self):
        cases = [
            ("json", "application/json", "ClientError: application/json is not an accepted ContentType: csv, libsvm"),
            ("label size", "text/csv; label_size=2", "ClientError: text/csv; label_size=2 is not an accepted csv ContentType"),
            ("parquet", "application/x-parquet", "ClientError: application/x-parquet is not supported by the local cloud"),
        ]
        for name, ct, want in cases:
            with self.subTest(name):
                cfg = self.config({"num_round": "2"}, {"train": self.channel("train", separable(20, 3), ct)})
                self.assertEqual(train.main(["--config", self._write(cfg)]), 1)
                with open(cfg["failureFile"]) as f:
                    self.assertTrue(f.read().startswith(want))

    def test_missing_train_channel(self):
        cfg = self.config({"num_round": "2"}, {"validation": self.channel("validation", separable(20, 3))})
        self.assertEqual(train.main(["--config", self._write(cfg)]), 1)
        with open(cfg["failureFile"]) as f:
            self.assertEqual(f.read(), "ClientError: Channel 'train' is required")

    def test_libsvm_channel(self):
        path = os.path.join(self.dir, "svm", "data.libsvm")
        os.makedirs(os.path.dirname(path))
        with open(path, "w") as f:
            for label, x, _ in separable(100, 4):
                f.write("%d 0:%s\n" % (label, x))
        cfg = self.config({"num_round": "3", "objective": "binary:logistic", "eval_metric": "error"},
                          {"train": {"dir": os.path.dirname(path), "contentType": "text/libsvm"}})
        self.assertEqual(train.main(["--config", self._write(cfg)]), 0)
        with open(cfg["metricsFile"]) as f:
            self.assertLess(json.load(f)["train:error"], 0.1)

    def _write(self, cfg):
        path = os.path.join(self.dir, "job.json")
        with open(path, "w") as f:
            json.dump(cfg, f)
        return path


if __name__ == "__main__":
    unittest.main()
