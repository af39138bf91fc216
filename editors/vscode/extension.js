// Starts `policy-rules lsp` for rule files (languageId `policy-rules`) and connects VS Code to it over stdio.
const vscode = require("vscode");
const { LanguageClient } = require("vscode-languageclient/node");

let client;

function activate(context) {
  const [command, ...args] = vscode.workspace.getConfiguration("policyRules").get("command", ["policy-rules", "lsp"]);
  client = new LanguageClient(
    "policy-rules",
    "Policy rules",
    { command, args },
    { documentSelector: [{ scheme: "file", language: "policy-rules" }] },
  );
  context.subscriptions.push(client);
  return client.start();
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
