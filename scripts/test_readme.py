"""The README documents every template parameter and every function's
environment variable: a parameter or variable added without a README line
fails `make test`."""
import os
import re
import unittest

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class _Loader(yaml.SafeLoader):
    pass


def _tag(loader, suffix, node):
    if isinstance(node, yaml.ScalarNode):
        return {suffix: loader.construct_scalar(node)}
    if isinstance(node, yaml.SequenceNode):
        return {suffix: loader.construct_sequence(node)}
    return {suffix: loader.construct_mapping(node)}


_Loader.add_multi_constructor("!", _tag)


class ReadmeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        with open(os.path.join(ROOT, "template.yaml")) as f:
            cls.template = yaml.load(f, Loader=_Loader)
        with open(os.path.join(ROOT, "README.md")) as f:
            cls.readme = f.read()

    def test_every_parameter_is_documented(self):
        for name in self.template["Parameters"]:
            with self.subTest(parameter=name):
                self.assertIn("`%s`" % name, self.readme)

    def test_every_environment_variable_is_documented(self):
        for logical, res in self.template["Resources"].items():
            if res["Type"] != "AWS::Serverless::Function":
                continue
            env = res["Properties"].get("Environment", {}).get("Variables", {})
            for var in env:
                with self.subTest(function=logical, variable=var):
                    self.assertIn("`%s`" % var, self.readme)

    def test_the_two_commands(self):
        self.assertIn("make local", self.readme)
        self.assertIn("make test", self.readme)

    def test_deploy_instructions_name_a_configured_environment(self):
        with open(os.path.join(ROOT, "samconfig.toml")) as f:
            envs = set(re.findall(r"^\[(\w+)\.deploy\.parameters\]", f.read(), re.M))
        for env in re.findall(r"sam deploy --config-env (\w+)", self.readme):
            with self.subTest(env=env):
                self.assertIn(env, envs)


if __name__ == "__main__":
    unittest.main()
