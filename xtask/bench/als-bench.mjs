// The aws-local-stepfunctions half of the engine comparison in `cargo xtask bench`: runs one
// definition sequentially on npm aws-local-stepfunctions (installed by the xtask into a
// scratch folder) and prints one JSON object with the timing on stdout.
//
// usage: node als-bench.mjs PACKAGE_DIR DEFINITION INPUT EXECUTIONS WARMUP
//
// Every Task is answered like the engine bench's no-op Lambda: `taskResourceLocalHandlers`
// returns {"ExecutedVersion", "Payload": <request Payload>, "StatusCode"}. The context object
// (`$$`) is built per execution as the engine builds it (execution id, name, input, start
// time, role, state machine), since the package's default has no `Execution.Id`.

// aws-local-stepfunctions 3.0.0 calls Promise.withResolvers, which Node 22 has and Node 20
// lacks: the same thing, written out.
if (typeof Promise.withResolvers !== 'function') {
  Promise.withResolvers = function withResolvers() {
    let resolve;
    let reject;
    const promise = new Promise((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return { promise, resolve, reject };
  };
}

import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const [packageDir, definitionFile, inputFile, executionsArg, warmupArg] = process.argv.slice(2);
if (!packageDir || !definitionFile || !inputFile) {
  console.error('usage: node als-bench.mjs PACKAGE_DIR DEFINITION INPUT EXECUTIONS WARMUP');
  process.exit(2);
}
const executions = Number(executionsArg ?? 1000);
const warmup = Number(warmupArg ?? 200);

const entry = path.join(packageDir, 'node_modules/aws-local-stepfunctions/build/main.node.esm.js');
const { StateMachine } = await import(pathToFileURL(entry).href);
const pkg = JSON.parse(
  fs.readFileSync(path.join(packageDir, 'node_modules/aws-local-stepfunctions/package.json')),
);

const definition = JSON.parse(fs.readFileSync(definitionFile, 'utf8'));
const input = JSON.parse(fs.readFileSync(inputFile, 'utf8'));

const echo = async (request) => ({
  ExecutedVersion: '$LATEST',
  Payload: request.Payload,
  StatusCode: 200,
});
const taskResourceLocalHandlers = {};
for (const [name, state] of Object.entries(definition.States)) {
  if (state.Type === 'Task') taskResourceLocalHandlers[name] = echo;
}

const machine = new StateMachine(definition);
const machineArn = 'arn:aws:states:us-east-1:123456789012:stateMachine:cordon-bench';

async function runOne(name) {
  const context = {
    Execution: {
      Id: `arn:aws:states:us-east-1:123456789012:execution:cordon-bench:${name}`,
      Input: input,
      Name: name,
      RoleArn: 'arn:aws:iam::123456789012:role/cordon-bench',
      StartTime: new Date().toISOString(),
      RedriveCount: 0,
    },
    StateMachine: { Id: machineArn, Name: 'cordon-bench' },
  };
  return machine.run(input, { context, overrides: { taskResourceLocalHandlers } }).result;
}

// The output compared with the engine's: of an execution with the engine probe's name.
const output = await runOne('probe');
for (let i = 0; i < warmup; i++) await runOne(`warmup-${i}`);
const started = process.hrtime.bigint();
for (let i = 0; i < executions; i++) await runOne(`seq-${i}`);
const seconds = Number(process.hrtime.bigint() - started) / 1e9;

console.log(
  JSON.stringify({
    package: `${pkg.name} ${pkg.version}`,
    node: process.version,
    executions,
    seconds,
    output,
  }),
);
