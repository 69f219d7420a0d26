#!/usr/bin/python3
"""The local cloud's run of SageMaker's built-in XGBoost algorithm (1.7-1).

The Go emulator lays a job out like SageMaker does in /opt/ml (one directory
per input channel, a model directory, an output directory) and runs:

    train.py --config job.json

job.json: {"hyperparameters": {name: string value},
           "channels": {name: {"dir": path, "contentType": "text/csv"}},
           "modelDir": path, "metricsFile": path, "failureFile": path}

Like the built-in algorithm it validates the hyperparameters, reads the
train (required) and validation (optional) channels as CSV (no header,
label first) or LibSVM, trains with xgboost.train, logs the evaluation of
every round ("[3]#011train-error:0.1#011validation-error:0.12" in
SageMaker's log, a tab here), saves the booster in XGBoost's binary format
as <modelDir>/xgboost-model, and writes the last round's metrics named as
SageMaker names them ("train:error", "validation:logloss") to metricsFile.

A failure writes "ClientError: ..." (bad data or hyperparameters: the
caller's fault, as the built-in algorithm reports it) or "AlgorithmError:
..." (anything else) to failureFile and exits 1.
"""

import argparse
import json
import math
import os
import sys

CLIENT = "ClientError"
ALGORITHM = "AlgorithmError"


class JobError(Exception):
    """A failure with SageMaker's failure-reason prefix."""

    def __init__(self, kind, message):
        super().__init__(message)
        self.kind = kind

    def reason(self):
        return "%s: %s" % (self.kind, self)


def client_error(fmt, *args):
    return JobError(CLIENT, fmt % args if args else fmt)


OBJECTIVES = {
    "binary:logistic", "binary:logitraw", "binary:hinge",
    "reg:squarederror", "reg:squaredlogerror", "reg:logistic", "reg:linear",
    "reg:pseudohubererror", "reg:absoluteerror", "reg:gamma", "reg:tweedie",
    "count:poisson", "survival:cox", "survival:aft",
    "multi:softmax", "multi:softprob",
    "rank:pairwise", "rank:ndcg", "rank:map",
}

EVAL_METRICS = {
    "rmse", "rmsle", "mae", "mape", "mphe", "logloss", "error", "merror",
    "mlogloss", "auc", "aucpr", "ndcg", "map", "poisson-nloglik",
    "gamma-nloglik", "cox-nloglik", "gamma-deviance", "tweedie-nloglik",
    "aft-nloglik", "interval-regression-accuracy",
}


def _int(lo=None, hi=None):
    def parse(name, v):
        try:
            n = int(v)
        except ValueError:
            raise client_error("Hyperparameter %s: value %r is not an integer", name, v)
        if (lo is not None and n < lo) or (hi is not None and n > hi):
            raise client_error("Hyperparameter %s: value %d out of range [%s, %s]", name, n,
                               "-inf" if lo is None else lo, "inf" if hi is None else hi)
        return n
    return parse


def _float(lo=None, hi=None, lo_open=False):
    def parse(name, v):
        try:
            x = float(v)
        except ValueError:
            raise client_error("Hyperparameter %s: value %r is not a number", name, v)
        if math.isnan(x) or (lo is not None and (x < lo or (lo_open and x == lo))) or (hi is not None and x > hi):
            raise client_error("Hyperparameter %s: value %s out of range %s%s, %s]", name, v,
                               "(" if lo_open else "[", "-inf" if lo is None else lo, "inf" if hi is None else hi)
        return x
    return parse


def _choice(*values):
    def parse(name, v):
        if v not in values:
            raise client_error("Hyperparameter %s: value %r not in %s", name, v, sorted(values))
        return v
    return parse


def _objective(name, v):
    if v not in OBJECTIVES:
        raise client_error("Hyperparameter %s: value %r is not a supported objective (%s)", name, v,
                           ", ".join(sorted(OBJECTIVES)))
    return v


def _eval_metric(name, v):
    metrics = [m.strip() for m in v.split(",") if m.strip()]
    if not metrics:
        raise client_error("Hyperparameter %s: empty", name)
    for m in metrics:
        base = m.split("@")[0]
        if base not in EVAL_METRICS:
            raise client_error("Hyperparameter %s: metric %r is not supported (%s)", name, m,
                               ", ".join(sorted(EVAL_METRICS)))
    return metrics


# name -> parser; the value goes to xgboost under the same name unless the
# name is one the algorithm itself consumes (num_round, early_stopping_rounds,
# csv_weights).
HYPERPARAMETERS = {
    "num_round": _int(1),
    "early_stopping_rounds": _int(1),
    "csv_weights": _choice("0", "1"),
    "objective": _objective,
    "eval_metric": _eval_metric,
    "booster": _choice("gbtree", "gblinear", "dart"),
    "verbosity": _int(0, 3),
    "eta": _float(0, 1),
    "learning_rate": _float(0, 1),
    "gamma": _float(0),
    "max_depth": _int(0),
    "min_child_weight": _float(0),
    "max_delta_step": _float(0),
    "subsample": _float(0, 1, lo_open=True),
    "colsample_bytree": _float(0, 1, lo_open=True),
    "colsample_bylevel": _float(0, 1, lo_open=True),
    "colsample_bynode": _float(0, 1, lo_open=True),
    "lambda": _float(0),
    "reg_lambda": _float(0),
    "alpha": _float(0),
    "reg_alpha": _float(0),
    "tree_method": _choice("auto", "exact", "approx", "hist"),
    "sketch_eps": _float(0, 1, lo_open=True),
    "scale_pos_weight": _float(0, lo_open=True),
    "max_leaves": _int(0),
    "max_bin": _int(2),
    "grow_policy": _choice("depthwise", "lossguide"),
    "num_parallel_tree": _int(1),
    "base_score": _float(),
    "seed": _int(),
    "num_class": _int(2),
    "tweedie_variance_power": _float(1, 2, lo_open=True),
    "sample_type": _choice("uniform", "weighted"),
    "normalize_type": _choice("tree", "forest"),
    "rate_drop": _float(0, 1),
    "skip_drop": _float(0, 1),
    "one_drop": _choice("0", "1"),
    "updater": str,
    "refresh_leaf": _choice("0", "1"),
    "process_type": _choice("default", "update"),
    "max_cat_to_onehot": _int(1),
    "interaction_constraints": str,
    "monotone_constraints": str,
    "single_precision_histogram": _choice("true", "false"),
    "deterministic_histogram": _choice("true", "false"),
    "aft_loss_distribution": _choice("normal", "logistic", "extreme"),
    "aft_loss_distribution_scale": _float(0, lo_open=True),
    "huber_slope": _float(0, lo_open=True),
}


def parse_hyperparameters(raw):
    """Validates raw (string values) like the built-in algorithm does and
    returns (xgboost params, num_round, early_stopping_rounds, csv_weights,
    eval metrics)."""
    unknown = sorted(set(raw) - set(HYPERPARAMETERS))
    if unknown:
        raise client_error("Additional hyperparameters are not allowed (%s unexpected)", ", ".join(repr(u) for u in unknown))
    if "num_round" not in raw:
        raise client_error("Missing required hyperparameter: num_round")
    parsed = {}
    for name, value in raw.items():
        parser = HYPERPARAMETERS[name]
        parsed[name] = parser(name, value) if parser is not str else value
    objective = parsed.get("objective", "reg:squarederror")
    if objective.startswith("multi:") and "num_class" not in parsed:
        raise client_error("Require input for parameter num_class for %s objective", objective)
    num_round = parsed.pop("num_round")
    early = parsed.pop("early_stopping_rounds", None)
    weights = parsed.pop("csv_weights", "0") == "1"
    metrics = parsed.pop("eval_metric", None)
    params = dict(parsed)
    params["objective"] = objective
    if metrics:
        params["eval_metric"] = metrics
    params.setdefault("nthread", 1)
    return params, num_round, early, weights, metrics


def _files(directory):
    out = []
    for root, _, names in os.walk(directory):
        for n in names:
            # Like the built-in algorithm: hidden files and markers such
            # as _SUCCESS are not data.
            if not n.startswith(".") and not n.startswith("_"):
                out.append(os.path.join(root, n))
    return sorted(out)


ACCEPTED = ("csv, libsvm, parquet, recordio-protobuf, text/csv, text/libsvm, text/x-libsvm, "
            "application/x-parquet, application/x-recordio-protobuf")


def content_kind(content_type):
    """Parses a channel's ContentType like the built-in algorithm (unset
    means LibSVM; text/csv may carry label_size=1)."""
    if not content_type:
        return "libsvm"
    parts = [p.strip() for p in content_type.lower().split(";")]
    ct, params = parts[0], dict(p.split("=", 1) for p in parts[1:] if "=" in p)
    if ct in ("text/csv", "csv"):
        if params.get("label_size", "1") != "1":
            raise client_error("%s is not an accepted csv ContentType. Optional parameter label_size must be equal to 1",
                               content_type)
        return "csv"
    if ct in ("text/libsvm", "libsvm", "text/x-libsvm"):
        return "libsvm"
    if ct in ("parquet", "application/x-parquet", "recordio-protobuf", "application/x-recordio-protobuf"):
        raise client_error("%s is not supported by the local cloud's XGBoost (text/csv, text/libsvm)", content_type)
    raise client_error("%s is not an accepted ContentType: %s.", content_type, ACCEPTED)


def read_csv(channel, files, weights):
    import numpy as np
    rows, width = [], None
    for path in files:
        with open(path, "r", encoding="utf-8", errors="strict") as f:
            for lineno, line in enumerate(f, 1):
                line = line.strip()
                if not line:
                    continue
                fields = line.split(",")
                if width is None:
                    width = len(fields)
                elif len(fields) != width:
                    raise client_error("Channel %s: %s line %d has %d columns, the first row has %d",
                                       channel, os.path.basename(path), lineno, len(fields), width)
                try:
                    rows.append([float(x) if x.strip() != "" else float("nan") for x in fields])
                except ValueError:
                    raise client_error("Channel %s: %s line %d: non-numeric value in %r. "
                                       "text/csv data must have no header and numbers only, label first",
                                       channel, os.path.basename(path), lineno, line[:80])
    if not rows:
        raise client_error("Channel %s has no data", channel)
    min_width = 3 if weights else 2
    if width < min_width:
        raise client_error("Channel %s: rows have %d column(s); need the label%s and at least one feature",
                           channel, width, ", the weight" if weights else "")
    data = np.array(rows, dtype=np.float64)
    label = data[:, 0]
    if np.isnan(label).any():
        raise client_error("Channel %s: a row has an empty label (first column)", channel)
    if weights:
        return data[:, 2:], label, data[:, 1]
    return data[:, 1:], label, None


def read_libsvm(channel, files):
    import numpy as np
    from scipy.sparse import csr_matrix
    labels, indptr, indices, values = [], [0], [], []
    for path in files:
        with open(path, "r", encoding="utf-8") as f:
            for lineno, line in enumerate(f, 1):
                line = line.strip()
                if not line:
                    continue
                parts = line.split()
                try:
                    labels.append(float(parts[0]))
                    for item in parts[1:]:
                        k, v = item.split(":", 1)
                        indices.append(int(k))
                        values.append(float(v))
                except ValueError:
                    raise client_error("Channel %s: %s line %d is not LibSVM (label index:value ...)",
                                       channel, os.path.basename(path), lineno)
                indptr.append(len(indices))
    if not labels:
        raise client_error("Channel %s has no data", channel)
    matrix = csr_matrix((np.array(values), np.array(indices, dtype=np.int64), np.array(indptr, dtype=np.int64)))
    return matrix, np.array(labels), None


def load_channel(xgb, name, spec, weights):
    files = _files(spec["dir"])
    if not files:
        raise client_error("Channel %s has no data: no files under its S3 prefix", name)
    kind = content_kind(spec.get("contentType"))
    if kind == "csv":
        features, label, w = read_csv(name, files, weights)
    else:
        features, label, w = read_libsvm(name, files)
    return xgb.DMatrix(features, label=label, weight=w)


def run(config):
    try:
        import xgboost as xgb
    except ImportError as e:
        raise JobError(ALGORITHM, "xgboost is not installed for %s (install the Debian package python3-xgboost): %s"
                       % (sys.executable, e))
    channels = config.get("channels") or {}
    unknown = sorted(set(channels) - {"train", "validation"})
    if unknown:
        raise client_error("Channels %s are not supported; the algorithm reads 'train' and 'validation'", unknown)
    if "train" not in channels:
        raise client_error("Channel 'train' is required")
    params, num_round, early, weights, _ = parse_hyperparameters(config.get("hyperparameters") or {})

    dtrain = load_channel(xgb, "train", channels["train"], weights)
    evals = [(dtrain, "train")]
    if "validation" in channels:
        dval = load_channel(xgb, "validation", channels["validation"], weights)
        if dval.num_col() > dtrain.num_col():
            raise client_error("Channel validation has %d features, train has %d", dval.num_col(), dtrain.num_col())
        evals.append((dval, "validation"))
    if early and len(evals) < 2:
        raise client_error("early_stopping_rounds needs a validation channel")

    results = {}
    try:
        booster = xgb.train(params, dtrain, num_boost_round=num_round, evals=evals, evals_result=results,
                            early_stopping_rounds=early, verbose_eval=True)
    except xgb.core.XGBoostError as e:
        # XGBoost refuses labels that do not fit the objective and the like:
        # the data is at fault, as the built-in algorithm reports it.
        raise client_error("XGBoost training failed: %s", str(e).splitlines()[0] if str(e) else e)

    os.makedirs(config["modelDir"], exist_ok=True)
    booster.save_model(os.path.join(config["modelDir"], "xgboost-model"))
    final = {}
    for data_name, metrics in results.items():
        for metric, values in metrics.items():
            if values:
                final["%s:%s" % (data_name, metric)] = float(values[-1])
    with open(config["metricsFile"], "w") as f:
        json.dump(final, f)
    return final


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", required=True)
    args = ap.parse_args(argv)
    with open(args.config) as f:
        config = json.load(f)
    try:
        final = run(config)
    except JobError as e:
        _fail(config, e.reason())
        return 1
    except Exception as e:  # the algorithm's own failure
        _fail(config, "%s: %s: %s" % (ALGORITHM, type(e).__name__, e))
        return 1
    print("final metrics: %s" % json.dumps(final, sort_keys=True), flush=True)
    return 0


def _fail(config, reason):
    print(reason, file=sys.stderr, flush=True)
    path = config.get("failureFile")
    if path:
        with open(path, "w") as f:
            f.write(reason)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
