"""Checks of the core pipeline section of template.yaml that cfn-lint does
not make: the functions' environment is exactly the cross-team contract,
every bucket is locked down, every core function logs to its own retained log
group, and IAM grants stay narrow."""

import os
import unittest

import yaml  # PyYAML, installed with cfn-lint

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


class Tag(object):
    """A CloudFormation short-form intrinsic (!Ref, !GetAtt, ...)."""

    def __init__(self, tag, value):
        self.tag, self.value = tag, value

    def __eq__(self, other):
        return isinstance(other, Tag) and (self.tag, self.value) == (other.tag, other.value)

    def __repr__(self):
        return "%s %r" % (self.tag, self.value)


class _Loader(yaml.SafeLoader):
    pass


def _construct(loader, suffix, node):
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return Tag("!" + suffix, value)


_Loader.add_multi_constructor("!", _construct)


def load_template():
    with open(os.path.join(ROOT, "template.yaml")) as f:
        return yaml.load(f, Loader=_Loader)


# The environment each core function gets (the cross-team contract).
CONTRACT_ENV = {
    "IngestFunction": {"STATE_MACHINE_ARN", "RAW_BUCKET", "RAW_PREFIX", "MAX_OBJECT_BYTES",
                       "TRAINING_TRIGGER", "ARTIFACTS_BUCKET", "ENDPOINT_NAME"},
    "PrepareFunction": {"GLUE_JOB_NAME", "ARTIFACTS_BUCKET"},
    "TrainFunction": {"ARTIFACTS_BUCKET", "SAGEMAKER_ROLE_ARN", "KMS_KEY_ARN", "ENDPOINT_NAME", "TRAINING_IMAGE",
                      "TRAINING_INSTANCE_TYPE", "TRAINING_INSTANCE_COUNT", "TRAINING_VOLUME_GB",
                      "MAX_RUNTIME_SECONDS", "USE_SPOT_TRAINING", "MAX_WAIT_SECONDS", "HYPERPARAMETERS",
                      "OBJECTIVE_METRIC"},
    "DeployFunction": {"ENDPOINT_NAME", "SAGEMAKER_ROLE_ARN", "KMS_KEY_ARN", "ARTIFACTS_BUCKET", "INFERENCE_IMAGE",
                       "INFERENCE_INSTANCE_TYPE", "INFERENCE_INSTANCE_COUNT", "CAPTURE_SAMPLING_PERCENT",
                       "ROLLBACK_ALARM_NAMES"},
}
CORE_BUCKETS = ("RawBucket", "ArtifactsBucket")


def statements(policy_list):
    """Every IAM statement of a SAM Policies list or an IAM role's Policies."""
    for p in policy_list or []:
        if isinstance(p, dict) and "Statement" in p:
            yield from p["Statement"]
        elif isinstance(p, dict) and "PolicyDocument" in p:
            yield from p["PolicyDocument"]["Statement"]


def as_list(v):
    return v if isinstance(v, list) else [v]


class TemplateTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.t = load_template()
        cls.r = cls.t["Resources"]

    def test_globals(self):
        env = self.t["Globals"]["Function"]["Environment"]["Variables"]
        self.assertEqual(set(env), {"LOG_LEVEL", "METRICS_NAMESPACE"})
        fn = self.t["Globals"]["Function"]
        self.assertEqual((fn["Runtime"], fn["Architectures"], fn["Handler"]), ("provided.al2023", ["arm64"], "bootstrap"))

    def test_environment_is_the_contract(self):
        for name, want in CONTRACT_ENV.items():
            with self.subTest(name):
                got = set(self.r[name]["Properties"]["Environment"]["Variables"])
                self.assertEqual(got, want)

    def test_functions_build_with_the_makefile(self):
        for name in CONTRACT_ENV:
            with self.subTest(name):
                self.assertEqual(self.r[name]["Metadata"], {"BuildMethod": "makefile"})
                self.assertEqual(self.r[name]["Properties"]["CodeUri"], ".")

    def test_each_function_logs_to_a_retained_encrypted_group(self):
        groups = set()
        for name in CONTRACT_ENV:
            with self.subTest(name):
                ref = self.r[name]["Properties"]["LoggingConfig"]["LogGroup"]
                self.assertEqual(ref.tag, "!Ref")
                group = self.r[ref.value]
                self.assertEqual(group["Type"], "AWS::Logs::LogGroup")
                self.assertEqual(group["Properties"]["RetentionInDays"], Tag("!Ref", "LogRetentionDays"))
                self.assertIn("KmsKeyId", group["Properties"])
                groups.add(ref.value)
        self.assertEqual(len(groups), len(CONTRACT_ENV), "one log group per function")

    def test_buckets_are_locked_down(self):
        for name in CORE_BUCKETS:
            with self.subTest(name):
                p = self.r[name]["Properties"]
                self.assertEqual(p["PublicAccessBlockConfiguration"], {
                    "BlockPublicAcls": True, "BlockPublicPolicy": True,
                    "IgnorePublicAcls": True, "RestrictPublicBuckets": True})
                self.assertEqual(p["VersioningConfiguration"], {"Status": "Enabled"})
                sse = p["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
                self.assertEqual(sse["SSEAlgorithm"], "aws:kms")
                self.assertTrue(p["LifecycleConfiguration"]["Rules"])
                policies = [r for r in self.r.values() if r["Type"] == "AWS::S3::BucketPolicy"
                            and r["Properties"]["Bucket"] == Tag("!Ref", name)]
                self.assertEqual(len(policies), 1)
                deny = [s for s in policies[0]["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Deny"]
                self.assertEqual(deny[0]["Condition"], {"Bool": {"aws:SecureTransport": "false"}})
        self.assertTrue(self.r["RawBucket"]["Properties"]["NotificationConfiguration"]
                        ["EventBridgeConfiguration"]["EventBridgeEnabled"])
        self.assertNotIn("NotificationConfiguration", self.r["ArtifactsBucket"]["Properties"])

    def test_key_rotates(self):
        self.assertTrue(self.r["Key"]["Properties"]["EnableKeyRotation"])

    def test_ingest_failures_end_in_the_dlq(self):
        p = self.r["IngestFunction"]["Properties"]
        ev = p["Events"]["ObjectCreated"]
        self.assertEqual(ev["Type"], "EventBridgeRule")
        self.assertEqual(ev["Properties"]["DeadLetterConfig"]["Arn"], Tag("!GetAtt", "IngestDLQ.Arn"))
        self.assertIn("MaximumRetryAttempts", ev["Properties"]["RetryPolicy"])
        pattern = ev["Properties"]["Pattern"]
        self.assertEqual(pattern["detail-type"], ["Object Created"])
        self.assertEqual(pattern["detail"]["object"]["key"], [{"prefix": Tag("!Ref", "RawPrefix")}])
        inv = p["EventInvokeConfig"]
        self.assertEqual(inv["DestinationConfig"]["OnFailure"]["Destination"], Tag("!GetAtt", "IngestDLQ.Arn"))
        self.assertIn("MaximumEventAgeInSeconds", inv)
        self.assertIn("ReservedConcurrentExecutions", p)
        self.assertIn("KmsMasterKeyId", self.r["IngestDLQ"]["Properties"])

    def test_iam_stays_narrow(self):
        roles = {n: self.r[n]["Properties"]["Policies"] for n in CONTRACT_ENV}
        roles["SageMakerRole"] = self.r["SageMakerRole"]["Properties"]["Policies"]
        roles["GlueRole"] = self.r["GlueRole"]["Properties"]["Policies"]
        for name, policies in roles.items():
            with self.subTest(name):
                for s in statements(policies):
                    for action in as_list(s["Action"]):
                        self.assertFalse(action == "*" or action.endswith(":*"), "%s grants %s" % (name, action))
                        if action == "iam:PassRole":
                            self.assertIn("iam:PassedToService", s["Condition"]["StringEquals"])
                    if s.get("Resource") == "*":
                        # Only actions without resource-level permissions may use "*".
                        for action in as_list(s["Action"]):
                            self.assertIn(action.split(":")[0], ("ecr", "cloudwatch", "logs"),
                                          "%s: %s on *" % (name, action))

    def test_state_machine(self):
        p = self.r["PipelineStateMachine"]["Properties"]
        self.assertEqual(p["DefinitionUri"], "statemachines/pipeline.asl.json")
        self.assertEqual(p["Logging"]["Level"], "ALL")
        self.assertTrue(p["Logging"]["IncludeExecutionData"])
        self.assertTrue(p["Tracing"]["Enabled"])
        subs = p["DefinitionSubstitutions"]
        self.assertEqual(subs["PrepareFunctionArn"], Tag("!GetAtt", "PrepareFunction.Arn"))
        self.assertEqual(subs["TrainFunctionArn"], Tag("!GetAtt", "TrainFunction.Arn"))
        self.assertEqual(subs["DeployFunctionArn"], Tag("!GetAtt", "DeployFunction.Arn"))
        self.assertEqual(subs["TopicArn"], Tag("!Ref", "Topic"))
        self.assertEqual(subs["MaxValidationError"], Tag("!Ref", "MaxValidationError"))

    def test_glue_job(self):
        p = self.r["PrepareJob"]["Properties"]
        self.assertEqual(p["SecurityConfiguration"], Tag("!Ref", "GlueSecurityConfiguration"))
        enc = self.r["GlueSecurityConfiguration"]["Properties"]["EncryptionConfiguration"]
        self.assertEqual(enc["S3Encryptions"][0]["S3EncryptionMode"], "SSE-KMS")
        self.assertIn("--schema", p["DefaultArguments"])
        self.assertIn("--max_reject_ratio", p["DefaultArguments"])


if __name__ == "__main__":
    unittest.main()
