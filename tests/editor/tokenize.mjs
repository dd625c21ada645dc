// Tokenizes files with a TextMate grammar through vscode-textmate and
// vscode-oniguruma, the engine VS Code runs, and prints the tokens as JSON:
// {file: [[{text, scopes}, ...] per line]}.
// usage: node tokenize.mjs NODE_MODULES_DIR GRAMMAR.json FILE...
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";

const [modules, grammarPath, ...files] = process.argv.slice(2);
const require = createRequire(join(modules, "package.json"));
const oniguruma = require("vscode-oniguruma");
const textmate = require("vscode-textmate");

const wasm = readFileSync(require.resolve("vscode-oniguruma/release/onig.wasm"));
await oniguruma.loadWASM(wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength));
const registry = new textmate.Registry({
  onigLib: Promise.resolve({
    createOnigScanner: (patterns) => new oniguruma.OnigScanner(patterns),
    createOnigString: (text) => new oniguruma.OnigString(text),
  }),
  loadGrammar: async () => textmate.parseRawGrammar(readFileSync(grammarPath, "utf8"), grammarPath),
});
const grammar = await registry.loadGrammar("source.protodsl");
if (grammar === null) throw new Error(`no grammar for source.protodsl in ${grammarPath}`);

const result = {};
for (const file of files) {
  let stack = textmate.INITIAL;
  result[file] = readFileSync(file, "utf8").split("\n").map((line) => {
    const tokenized = grammar.tokenizeLine(line, stack);
    stack = tokenized.ruleStack;
    return tokenized.tokens.map((t) => ({
      text: line.slice(t.startIndex, t.endIndex),
      scopes: t.scopes,
    }));
  });
}
process.stdout.write(JSON.stringify(result));
