// Bundles src/editor.js (CodeMirror 6) into ../../policy_rules/workbench/static/editor.min.js and copies
// axe-core for the accessibility tests. Run: npm install && npm run build
import { build } from "esbuild";
import { copyFileSync } from "node:fs";

await build({
  entryPoints: ["src/editor.js"],
  bundle: true,
  minify: true,
  format: "iife",
  target: ["es2020"],
  legalComments: "eof",
  outfile: "../../policy_rules/workbench/static/editor.min.js",
});
copyFileSync("node_modules/axe-core/axe.min.js", "../../tests/workbench_axe.min.js");
