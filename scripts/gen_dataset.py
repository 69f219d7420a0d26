#!/usr/bin/env python3
"""Deterministic generator of the churn dataset (scripts/schema.json).

The churn probability is a known logistic function of the features, so a
trained model has something real to learn and its validation error has a
floor one can reason about:

    z = -0.5 - 0.08 * tenure_months + 0.05 * (monthly_charges - 65)
        + 0.9 * support_calls + PLAN_EFFECT[plan]
    P(churned = 1) = 1 / (1 + exp(-z))

Modes:
  train     (default) CSV with header, plan as its name, label last: what
            lands in the raw bucket.
  inference features only, no header, plan as its code (0, 1, 2): the body
            of an inference request, drawn from the training distribution.
  drifted   like inference, but charges shifted up by 30 and support calls
            three times as frequent: traffic the drift monitor must flag.
  bad       like train, but --bad-share of the rows (default 0.3) break the
            schema (unknown plan, text in a number, label 2, missing label),
            so the Glue job rejects more than --max_reject_ratio and fails.

Usage: gen_dataset.py [--rows N] [--seed S] [--mode MODE] [--out FILE]
Same arguments, same bytes. Standard library only.
"""

import argparse
import csv
import math
import random
import sys

FEATURES = ["tenure_months", "monthly_charges", "support_calls", "plan"]
LABEL = "churned"
PLANS = ["basic", "standard", "premium"]  # schema order = codes 0, 1, 2
PLAN_WEIGHTS = [0.5, 0.3, 0.2]
PLAN_EFFECT = {"basic": 0.6, "standard": 0.0, "premium": -0.9}
MODES = ("train", "inference", "drifted", "bad")
# Share of training rows with a missing monthly_charges (allowed by the schema).
MISSING_SHARE = 0.01


def churn_probability(tenure, charges, calls, plan):
    """The true P(churned = 1) of a customer."""
    z = -0.5 - 0.08 * tenure + 0.05 * (charges - 65) + 0.9 * calls + PLAN_EFFECT[plan]
    return 1.0 / (1.0 + math.exp(-z))


def poisson(rng, mean):
    """Knuth's method; fine for the small means used here."""
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def customer(rng, drifted=False):
    """One customer's features as (tenure, charges, calls, plan)."""
    tenure = rng.randint(0, 72)
    charges = rng.gauss(95 if drifted else 65, 20)
    charges = round(min(max(charges, 18.0), 150.0), 2)
    calls = poisson(rng, 4.5 if drifted else 1.5)
    plan = rng.choices(PLANS, weights=PLAN_WEIGHTS)[0]
    return tenure, charges, calls, plan


def corrupt(rng, row):
    """Break one training row in one of the ways the schema forbids."""
    kind = rng.randrange(4)
    row = list(row)
    if kind == 0:
        row[3] = "gold"  # unknown category
    elif kind == 1:
        row[0] = "twelve"  # not a number
    elif kind == 2:
        row[4] = "2"  # label not 0/1
    else:
        row[4] = ""  # missing label
    return row


def generate(rows, seed, mode="train", bad_share=0.3):
    """Return the dataset as a list of CSV rows (lists of strings)."""
    if mode not in MODES:
        raise ValueError("mode %r is not one of %s" % (mode, ", ".join(MODES)))
    if rows < 0:
        raise ValueError("rows must be >= 0")
    if not 0 <= bad_share <= 1:
        raise ValueError("bad_share must be between 0 and 1")
    rng = random.Random(seed)
    out = []
    if mode in ("train", "bad"):
        out.append(FEATURES + [LABEL])
    for _ in range(rows):
        tenure, charges, calls, plan = customer(rng, drifted=(mode == "drifted"))
        if mode in ("inference", "drifted"):
            out.append([str(tenure), "%.2f" % charges, str(calls), str(PLANS.index(plan))])
            continue
        label = 1 if rng.random() < churn_probability(tenure, charges, calls, plan) else 0
        charges_text = "" if rng.random() < MISSING_SHARE else "%.2f" % charges
        row = [str(tenure), charges_text, str(calls), plan, str(label)]
        if mode == "bad" and rng.random() < bad_share:
            row = corrupt(rng, row)
        out.append(row)
    return out


def main(argv=None, stdout=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1000, help="data rows to generate (default 1000)")
    parser.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    parser.add_argument("--mode", choices=MODES, default="train")
    parser.add_argument("--bad-share", type=float, default=0.3, help="share of broken rows in bad mode")
    parser.add_argument("--out", help="output file (default: standard output)")
    args = parser.parse_args(argv)
    try:
        rows = generate(args.rows, args.seed, args.mode, args.bad_share)
    except ValueError as e:
        parser.error(str(e))
    if args.out:
        with open(args.out, "w", newline="") as f:
            csv.writer(f, lineterminator="\n").writerows(rows)
    else:
        csv.writer(stdout or sys.stdout, lineterminator="\n").writerows(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
