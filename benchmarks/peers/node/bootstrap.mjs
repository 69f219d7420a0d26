// COMPARISON BASELINE - never deployed, not part of the platform.
//
// The inference proxy written the way the usual AWS sample writes it
// (SDK v3 client at module level, InvokeEndpointCommand, return the body),
// run as a Lambda custom runtime: this file is the `bootstrap` with a
// minimal Runtime API loop. benchmarks/ measures it side by side with
// functions/infer behind the same local Runtime API and fake endpoint.
// @aws-sdk/client-sagemaker-runtime is installed by scripts/bench.sh into
// benchmarks/peers/node/node_modules (see package.json for the version).
import http from "node:http";
import {
  SageMakerRuntimeClient,
  InvokeEndpointCommand,
} from "@aws-sdk/client-sagemaker-runtime";

const client = new SageMakerRuntimeClient({});
const ENDPOINT_NAME = process.env.ENDPOINT_NAME;

export const handler = async (event) => {
  let body = event.body ?? "";
  if (event.isBase64Encoded) body = Buffer.from(body, "base64");
  const contentType = (event.headers ?? {})["Content-Type"] ?? "text/csv";
  const response = await client.send(
    new InvokeEndpointCommand({ EndpointName: ENDPOINT_NAME, ContentType: contentType, Body: body }),
  );
  return {
    statusCode: 200,
    headers: { "Content-Type": response.ContentType ?? "text/csv" },
    body: Buffer.from(response.Body).toString("utf8"),
  };
};

const [host, port] = process.env.AWS_LAMBDA_RUNTIME_API.split(":");
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const base = "/2018-06-01/runtime/invocation/";

function call(method, path, body) {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host, port, method, path, agent, headers: body ? { "Content-Type": "application/json" } : {} },
      (res) => {
        const chunks = [];
        res.on("data", (c) => chunks.push(c));
        res.on("end", () => resolve({ headers: res.headers, body: Buffer.concat(chunks) }));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

for (;;) {
  const next = await call("GET", base + "next");
  const id = next.headers["lambda-runtime-aws-request-id"];
  if (next.headers["lambda-runtime-trace-id"]) process.env._X_AMZN_TRACE_ID = next.headers["lambda-runtime-trace-id"];
  try {
    const out = await handler(JSON.parse(next.body.toString("utf8")));
    await call("POST", base + id + "/response", JSON.stringify(out));
  } catch (err) {
    await call("POST", base + id + "/error", JSON.stringify({ errorMessage: String(err?.message ?? err), errorType: err?.name ?? "Error" }));
  }
}
