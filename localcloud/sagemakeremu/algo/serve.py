#!/usr/bin/python3
"""The local cloud's model server for SageMaker's built-in XGBoost (1.7-1).

    serve.py --model-dir DIR [--port 0]

Loads every model file in DIR (the extracted model.tar.gz: `xgboost-model`,
pickled or in XGBoost's own format, as the built-in container accepts),
listens on 127.0.0.1 and prints "listening <port>" once ready. It answers
the container contract SageMaker hosting speaks:

  GET  /ping         200 once the model is loaded
  POST /invocations  text/csv (features only, one row per line) or
                     text/libsvm / text/x-libsvm (also when no Content-Type
                     is sent, as the container does); the predictions come back
                     as the built-in algorithm returns them: one number per
                     row, joined by commas, Content-Type text/csv.

Errors use the built-in container's statuses: 204 for an empty body, 415
for an unsupported content type or unparsable data, 400 when the model
cannot evaluate the rows (wrong feature count).
"""

import argparse
import math
import os
import pickle
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MAX_CONTENT_LENGTH = 6 * 1024 * 1024
CSV = "text/csv"
LIBSVM = ("text/libsvm", "text/x-libsvm")


class RequestError(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


def load_models(model_dir):
    import xgboost as xgb
    models = []
    for name in sorted(os.listdir(model_dir)):
        path = os.path.join(model_dir, name)
        if not os.path.isfile(path):
            continue
        try:
            with open(path, "rb") as f:
                booster = pickle.load(f)
        except Exception as exp_pkl:
            try:
                booster = xgb.Booster()
                booster.load_model(path)
            except Exception as exp_xgb:
                raise RuntimeError("Model at %s cannot be loaded:\n%s\n%s" % (path, exp_pkl, exp_xgb))
        booster.set_param("nthread", 1)
        models.append(booster)
    if not models:
        raise RuntimeError("no model file in %s" % model_dir)
    return models


# The content types the built-in algorithm names in its refusal.
ACCEPTED = ("csv, libsvm, parquet, recordio-protobuf, text/csv, text/libsvm, text/x-libsvm, "
            "application/x-parquet, application/x-recordio-protobuf")


def content_type_of(header):
    """Parses Content-Type like the built-in container: no header means
    LibSVM; parquet and recordio-protobuf are not served locally."""
    if not header:
        return LIBSVM[0]
    ct = header.split(";")[0].strip().lower()
    if ct in (CSV, "csv"):
        return CSV
    if ct in LIBSVM or ct == "libsvm":
        return LIBSVM[0]
    if ct in ("parquet", "application/x-parquet", "recordio-protobuf", "application/x-recordio-protobuf"):
        raise RequestError(415, "%s is not supported by the local cloud's XGBoost server (text/csv, text/libsvm)" % header)
    raise RequestError(415, "%s is not an accepted ContentType: %s." % (header, ACCEPTED))


def parse_csv(text):
    import numpy as np
    rows, width = [], None
    for line in text.strip().split("\n"):
        line = line.strip()
        fields = [x.strip() for x in line.split(",")]
        if width is None:
            width = len(fields)
        elif len(fields) != width:
            raise ValueError("rows have different numbers of columns (%d and %d)" % (width, len(fields)))
        rows.append([float(x) if x != "" else math.nan for x in fields])
    return np.array(rows, dtype=np.float32)


def parse_libsvm(text):
    import numpy as np
    from scipy.sparse import csr_matrix
    indptr, indices, values = [0], [], []
    for line in text.strip().split("\n"):
        for item in line.split():
            if ":" in item:
                k, v = item.split(":", 1)
                indices.append(int(k))
                values.append(float(v))
        indptr.append(len(indices))
    return csr_matrix((np.array(values), np.array(indices, dtype=np.int64), np.array(indptr, dtype=np.int64)))


class Scorer:
    """Holds the boosters; XGBoost prediction is not thread-safe, so one
    request predicts at a time."""

    def __init__(self, models):
        self.models = models
        self.lock = threading.Lock()

    def predict(self, body, content_type):
        import numpy as np
        import xgboost as xgb
        ct = content_type_of(content_type)
        try:
            text = body.decode("utf-8")
            if ct == CSV:
                dtest = xgb.DMatrix(parse_csv(text))
            else:
                dtest = xgb.DMatrix(parse_libsvm(text))
        except Exception as e:
            kind = "csv" if ct == CSV else "libsvm"
            raise RequestError(415, "Loading %s data failed with Exception, please ensure data is in %s format:\n %s\n %s"
                               % (kind, kind, type(e), e))
        with self.lock:
            try:
                preds = []
                for booster in self.models:
                    n = booster.num_features()
                    if ct == CSV and dtest.num_col() != n:
                        raise ValueError("Feature size of csv inference data %d is not consistent with feature size "
                                         "of trained model %d." % (dtest.num_col(), n))
                    if ct != CSV and dtest.num_col() > n + 1:
                        raise ValueError("Feature size of libsvm inference data %d is larger than feature size of "
                                         "trained model %d." % (dtest.num_col(), n))
                    preds.append(booster.predict(dtest, validate_features=False))
            except Exception as e:
                raise RequestError(400, "Unable to evaluate payload provided: %s" % e)
        out = preds[0] if len(preds) == 1 else np.mean(preds, axis=0)
        return ",".join(map(str, out.tolist()))


def make_handler(scorer):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # One write per response (headers and body together, flushed by
        # handle_one_request) and no Nagle: otherwise every keep-alive
        # answer waits ~40 ms for a delayed ACK.
        wbufsize = 64 * 1024
        disable_nagle_algorithm = True

        def log_message(self, fmt, *args):  # the Go side logs requests
            pass

        def _answer(self, status, body, content_type="text/plain; charset=utf-8"):
            data = body.encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            if self.path == "/ping":
                self._answer(200, "")
            else:
                self._answer(404, "not found")

        def do_POST(self):
            if self.path != "/invocations":
                self._answer(404, "not found")
                return
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_CONTENT_LENGTH:
                self.rfile.read(length)
                self._answer(413, "payload larger than %d bytes" % MAX_CONTENT_LENGTH)
                return
            body = self.rfile.read(length)
            if not body:
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            try:
                out = scorer.predict(body, self.headers.get("Content-Type"))
            except RequestError as e:
                self._answer(e.status, str(e))
                return
            except Exception as e:
                self._answer(500, "internal error: %s" % e)
                return
            self._answer(200, out, "text/csv; charset=utf-8")

    return Handler


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model-dir", required=True)
    ap.add_argument("--port", type=int, default=0)
    args = ap.parse_args(argv)
    try:
        scorer = Scorer(load_models(args.model_dir))
    except ImportError as e:
        print("xgboost is not installed for %s (install the Debian package python3-xgboost): %s"
              % (sys.executable, e), file=sys.stderr, flush=True)
        return 2
    except Exception as e:
        print("cannot load the model: %s" % e, file=sys.stderr, flush=True)
        return 2
    server = ThreadingHTTPServer(("127.0.0.1", args.port), make_handler(scorer))
    server.daemon_threads = True
    print("listening %d" % server.server_address[1], flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
