"""samconfig.toml sets only parameters template.yaml declares, with values
its constraints accept, so `sam deploy --config-env <env>` cannot fail on a
typo or an out-of-range value."""

import os
import re
import shlex
import tomllib
import unittest

import yaml  # PyYAML, installed with cfn-lint

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


class _Loader(yaml.SafeLoader):
    pass


_Loader.add_multi_constructor("!", lambda loader, suffix, node: None)


def load():
    with open(os.path.join(ROOT, "samconfig.toml"), "rb") as f:
        config = tomllib.load(f)
    with open(os.path.join(ROOT, "template.yaml")) as f:
        template = yaml.load(f, Loader=_Loader)
    return config, template["Parameters"]


def overrides(deploy):
    return dict(kv.split("=", 1) for kv in shlex.split(deploy["parameter_overrides"]))


def violation(name, spec, value):
    """Why CloudFormation would refuse value for parameter spec, or None."""
    if spec.get("Type") == "Number":
        try:
            x = float(value)
        except ValueError:
            return "%s=%r is not a number" % (name, value)
        if "MinValue" in spec and x < spec["MinValue"]:
            return "%s=%s is below %s" % (name, value, spec["MinValue"])
        if "MaxValue" in spec and x > spec["MaxValue"]:
            return "%s=%s is above %s" % (name, value, spec["MaxValue"])
    allowed = spec.get("AllowedValues")
    if allowed is not None and value not in [str(a) for a in allowed]:
        return "%s=%r is not one of %s" % (name, value, allowed)
    pattern = spec.get("AllowedPattern")
    if pattern is not None and not re.fullmatch(pattern, value):
        return "%s=%r does not match %s" % (name, value, pattern)
    return None


class SamconfigTest(unittest.TestCase):
    def test_environments(self):
        config, params = load()
        endpoints = set()
        for env in ("dev", "prod"):
            with self.subTest(env):
                deploy = config[env]["deploy"]["parameters"]
                values = overrides(deploy)
                self.assertEqual(values["Environment"], env)
                self.assertEqual(deploy["stack_name"], "mlops-" + env)
                self.assertTrue(deploy["resolve_s3"])
                self.assertIn("CAPABILITY_IAM", deploy["capabilities"])
                endpoints.add(values["EndpointName"])
                for name, value in values.items():
                    self.assertIn(name, params, "%s is not a template parameter" % name)
                    self.assertIsNone(violation(name, params[name], value))
        self.assertTrue(config["prod"]["deploy"]["parameters"]["confirm_changeset"], "prod change sets are reviewed")
        self.assertEqual(len(endpoints), 2, "each environment has its own endpoint")

    def test_violation_detects_bad_values(self):
        cases = [
            ("number below min", {"Type": "Number", "MinValue": 1}, "0", "below"),
            ("not a number", {"Type": "Number"}, "x", "not a number"),
            ("not allowed", {"Type": "String", "AllowedValues": ["dev", "prod"]}, "test", "not one of"),
            ("pattern", {"Type": "String", "AllowedPattern": "^[a-z]+$"}, "Churn", "does not match"),
            ("fine", {"Type": "Number", "AllowedValues": [14, 30]}, "14", None),
        ]
        for name, spec, value, want in cases:
            with self.subTest(name):
                got = violation("P", spec, value)
                if want is None:
                    self.assertIsNone(got)
                else:
                    self.assertIn(want, got)


if __name__ == "__main__":
    unittest.main()
