// The workbench page: editor with live checking, interview, explanation, impact and register.
// Every piece of data is shown with textContent (never innerHTML), and every request goes to this server only.
"use strict";

const $ = (id) => document.getElementById(id);

function el(tag, text, attrs) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, value);
  return node;
}

function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
}

async function call(method, path, body) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const token = $("token").value.trim();
  if (token) headers.Authorization = "Bearer " + token;
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const type = response.headers.get("content-type") || "";
  const data = type.includes("json") ? await response.json() : await response.text();
  if (!response.ok) {
    const error = data && data.error ? data.error : { message: "the server answered " + response.status, location: "" };
    throw new Error(error.location ? error.message + " (" + error.location + ")" : error.message);
  }
  return data;
}

const state = { policy: null, saved: {}, drafts: {}, current: null, editor: null, base: null, editing: false };

// ---- pages ---------------------------------------------------------------------------------

const PAGES = ["editor", "interview", "impact", "register"];

function showPage() {
  const name = PAGES.includes(location.hash.slice(1)) ? location.hash.slice(1) : "editor";
  for (const page of PAGES) $("page-" + page).hidden = page !== name;
  for (const link of document.querySelectorAll("nav a")) {
    if (link.getAttribute("href") === "#" + name) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  if (name === "interview" && !interview.started) interview.restart();
  if (name === "register") register.refresh(false);
  if (name === "impact") saving.refresh();
}

// ---- editor --------------------------------------------------------------------------------

let checkTimer = null;
let checkSequence = 0;

function baseName(path) {
  return path.split(/[\\/]/).pop();
}

function startEditor(files) {
  state.saved = Object.assign({}, files);
  state.drafts = Object.assign({}, files);
  const choice = $("file-choice");
  for (const name of Object.keys(files)) choice.appendChild(el("option", baseName(name), { value: name }));
  state.current = Object.keys(files)[0] || null;
  state.editor = window.PolicyEditor.create($("editor-host"), {
    doc: state.current ? files[state.current] : "",
    label: "Rule file",
    onChange(text) {
      if (state.current === null) return;
      state.drafts[state.current] = text;
      showUnsaved();
      clearTimeout(checkTimer);
      checkTimer = setTimeout(check, 400);
    },
  });
  choice.addEventListener("change", () => {
    state.current = choice.value;
    state.editor.setText(state.drafts[state.current]);
    check();
  });
  check();
}

async function formatFile() {
  const status = $("format-status");
  try {
    const done = await call("POST", "/workbench/format", { name: state.current, text: state.drafts[state.current] });
    if (done.text !== state.drafts[state.current]) state.editor.setText(done.text);
    status.textContent = "Formatted.";
  } catch (error) {
    status.textContent = "Not formatted: " + error.message;
  }
}

let lastFindings = [];

async function check() {
  const mine = ++checkSequence;
  $("problems-status").textContent = "Checking…";
  let result;
  try {
    result = await call("POST", "/v1/check", { files: state.drafts });
  } catch (error) {
    if (mine === checkSequence) $("problems-status").textContent = "Could not check: " + error.message;
    return;
  }
  if (mine !== checkSequence) return;
  lastFindings = result.diagnostics;
  showProblems();
}

function showProblems() {
  const list = $("problems");
  clear(list);
  for (const finding of lastFindings) {
    const item = el("li", null, { class: finding.severity });
    const jump = el("button", `${baseName(finding.path)}: line ${finding.line}, column ${finding.column}`, { type: "button" });
    jump.addEventListener("click", () => goTo(finding));
    item.appendChild(jump);
    item.appendChild(document.createTextNode(": " + finding.message));
    list.appendChild(item);
  }
  const here = lastFindings.filter((f) => f.path === state.current);
  state.editor.setFindings(here);
  const errors = lastFindings.filter((f) => f.severity === "error").length;
  $("problems-status").textContent = lastFindings.length === 0 ? "No problems." : `${errors} error(s), ${lastFindings.length - errors} warning(s).`;
}

function goTo(finding) {
  if (finding.path in state.drafts && finding.path !== state.current) {
    $("file-choice").value = finding.path;
    $("file-choice").dispatchEvent(new Event("change"));
  }
  const view = state.editor.view;
  const line = view.state.doc.line(Math.min(Math.max(finding.line, 1), view.state.doc.lines));
  view.dispatch({ selection: { anchor: Math.min(line.from + finding.column - 1, line.to) }, scrollIntoView: true });
  view.focus();
}

// ---- explanation ---------------------------------------------------------------------------

const STATUS_WORDS = {
  decided: "decided",
  applies: "applies",
  overridden: "overridden",
  does_not_apply: "did not apply",
  unknown: "unknown",
  not_needed: "not needed",
};

function citations(node, cites) {
  if (!cites || !cites.length) return;
  const list = el("ul");
  for (const c of cites) list.appendChild(el("li", "cites " + (c.title || c.document) + (c.section ? ", " + c.section : ""), { class: "cite" }));
  node.appendChild(list);
}

function reads(node, condition) {
  if (!condition) return;
  node.appendChild(el("p", "when " + condition.text + " — " + condition.value));
  if (condition.reads && condition.reads.length) {
    const list = el("ul");
    for (const r of condition.reads) list.appendChild(el("li", `${r.name} = ${r.shown}`));
    node.appendChild(list);
  }
}

// The rules that applied are unfolded, so the path to the decision shows at once; the rest are folded.
const OPEN = new Set(["decided", "applies", "overridden"]);

function ruleNode(rule, open) {
  const box = el("details");
  if (open) box.open = true;
  const summary = el("summary");
  summary.appendChild(el("span", (rule.label || "rule") + (rule.conclusion ? " → " + rule.conclusion : "") + ": "));
  summary.appendChild(el("span", STATUS_WORDS[rule.status] || rule.status, { class: "status-" + rule.status }));
  box.appendChild(summary);
  if (rule.because) box.appendChild(el("p", "because " + rule.because));
  if (rule.overridden_by) box.appendChild(el("p", "overridden by " + rule.overridden_by));
  reads(box, rule.condition);
  citations(box, rule.citations);
  if (rule.location) box.appendChild(el("p", rule.location, { class: "cite" }));
  for (const child of (rule.exceptions || []).concat(rule.rows || [])) box.appendChild(ruleNode(child, OPEN.has(child.status)));
  return box;
}

function explanation(host, trace) {
  clear(host);
  for (const step of trace || []) {
    if (step.type === "decision") {
      const box = el("details");
      box.open = true;
      box.appendChild(el("summary", `${step.decision}${step.item ? " (" + step.item + ")" : ""}: ${step.value}` + (step.decided_by ? ", decided by " + step.decided_by : "")));
      if (step.rules) box.appendChild(ruleNode(step.rules, true));
      host.appendChild(box);
    } else if (step.type === "defined_value") {
      const box = el("details");
      box.appendChild(el("summary", `${step.name} = ${step.shown}`));
      if (step.because) box.appendChild(el("p", "because " + step.because));
      reads(box, step.condition);
      citations(box, step.citations);
      host.appendChild(box);
    } else if (step.type === "facts") {
      const box = el("details");
      box.appendChild(el("summary", `Facts: ${step.given.length} given, ${step.missing.length} not known, as at ${step.as_of}`));
      const list = el("ul");
      for (const g of step.given) list.appendChild(el("li", `${g.name} = ${g.shown}`));
      for (const m of step.missing) list.appendChild(el("li", `${m} is not known`));
      box.appendChild(list);
      host.appendChild(box);
    } else if (step.type === "needed_facts" && step.facts.length) {
      host.appendChild(el("p", "Facts that could change the decision: " + step.facts.join(", ")));
    }
  }
}

// ---- interview -----------------------------------------------------------------------------

function factType(name) {
  const fact = state.policy && state.policy.facts.find((f) => f.name === name);
  return fact || { name, type: "text" };
}

function rulesReading(trace, fact) {
  const defined = new Set();
  const found = new Set();
  const readsFact = (condition) => condition && (condition.reads || []).some((r) => (r.kind === "fact" && r.name === fact) || (r.kind === "defined" && defined.has(r.name)));
  for (const step of trace || []) if (step.type === "defined_value" && readsFact(step.condition)) defined.add(step.name);
  const walk = (rule) => {
    if (!rule) return;
    if (readsFact(rule.condition)) found.add(rule.label);
    for (const child of (rule.exceptions || []).concat(rule.rows || [])) walk(child);
  };
  for (const step of trace || []) if (step.type === "decision") walk(step.rules);
  return [...found];
}

const interview = {
  started: false,
  given: {},
  answers: [],
  asking: null,
  decision: null,

  facts() {
    const facts = Object.assign({}, this.given);
    for (const a of this.answers) facts[a.fact] = a.value;
    return facts;
  },

  restart() {
    this.started = true;
    this.given = {};
    this.answers = [];
    $("facts-file").value = "";
    $("facts-status").textContent = "";
    this.step();
  },

  async startFrom() {
    const file = $("facts-file").files[0];
    if (!file) return;
    try {
      const found = await call("POST", "/workbench/facts", { name: file.name, text: await file.text() });
      this.given = found.facts;
      this.answers = [];
      $("facts-status").textContent = `Started from ${file.name}: ${Object.keys(found.facts).length} fact(s) given.`;
      this.step();
    } catch (error) {
      $("facts-status").textContent = "Cannot start from this file: " + error.message;
    }
  },

  async step() {
    $("record-status").textContent = "";
    let decision;
    try {
      decision = await call("POST", "/v1/evaluate", { facts: this.facts(), trace: true });
    } catch (error) {
      this.showQuestion(null, error.message);
      return;
    }
    this.decision = decision;
    this.showAnswers();
    explanation($("explanation-tree"), decision.trace);
    if (decision.needed_facts.length) {
      const fact = decision.needed_facts[0];
      const asked = (decision.questions || []).find((q) => q.fact === fact);
      this.asking = fact;
      this.showQuestion({ fact, question: asked ? asked.question : fact, rules: rulesReading(decision.trace, fact) });
      $("decision-text").textContent = "Not settled yet: " + decision.needed_facts.length + " fact(s) could still change it.";
      $("record").hidden = true;
      $("report-link").hidden = true;
    } else {
      this.asking = null;
      this.showQuestion(null);
      this.showDecision(decision);
    }
  },

  showQuestion(asked, problem) {
    const host = $("question");
    clear(host);
    $("next").disabled = !asked;
    $("back").disabled = this.answers.length === 0;
    if (problem) host.appendChild(el("p", problem, { class: "error-text", role: "alert" }));
    if (!asked) {
      if (!problem) host.appendChild(el("p", "Every fact that could change the decision has been answered."));
      return;
    }
    const info = factType(asked.fact);
    const id = "answer-input";
    if (info.type === "yes/no" || info.type === "boolean" || info.type === "one of") {
      const group = el("fieldset");
      group.appendChild(el("legend", asked.question));
      const options = info.type === "one of" ? info.values : ["yes", "no"];
      options.forEach((option, index) => {
        const input = el("input", null, { type: "radio", name: "answer", id: id + "-" + index, value: option });
        if (index === 0) input.required = true;
        const label = el("label", option, { for: id + "-" + index, class: "option" });
        group.appendChild(input);
        group.appendChild(label);
      });
      host.appendChild(group);
    } else {
      host.appendChild(el("label", asked.question, { for: id }));
      const kinds = { date: "date", number: "number", money: "number", "whole number": "number" };
      const input = el("input", null, { id, name: "answer", type: kinds[info.type] || "text", required: "" });
      if (info.type === "money" || info.type === "number") input.setAttribute("step", "any");
      host.appendChild(input);
    }
    if (asked.rules.length) host.appendChild(el("p", "This answer could change: " + asked.rules.join(", ")));
    host.appendChild(el("p", "Fact: " + asked.fact, { class: "cite" }));
    const first = host.querySelector("input");
    if (first) first.focus();
  },

  read() {
    const info = factType(this.asking);
    const form = $("interview");
    const chosen = form.querySelector("input[name=answer]:checked");
    const typed = form.querySelector("input[name=answer]:not([type=radio])");
    if (info.type === "yes/no" || info.type === "boolean") return chosen ? chosen.value === "yes" : undefined;
    if (info.type === "one of") return chosen ? chosen.value : undefined;
    if (!typed || typed.value === "") return undefined;
    if (["number", "money", "whole number"].includes(info.type)) return Number(typed.value);
    if (info.type.startsWith("list")) {
      try {
        return JSON.parse(typed.value);
      } catch {
        return typed.value;
      }
    }
    return typed.value;
  },

  answer(event) {
    event.preventDefault();
    if (!this.asking) return;
    const value = this.read();
    if (value === undefined) return;
    const asked = $("question").querySelector("legend, label");
    this.answers.push({ fact: this.asking, question: asked ? asked.textContent : this.asking, value });
    this.step();
  },

  back() {
    this.answers.pop();
    this.step();
  },

  change(index) {
    this.answers = this.answers.slice(0, index);
    this.step();
  },

  showAnswers() {
    const list = $("answers");
    clear(list);
    this.answers.forEach((a, index) => {
      const item = el("li", `${a.question} ${a.value === true ? "yes" : a.value === false ? "no" : a.value} `);
      const button = el("button", "Change", { type: "button", "aria-label": "Change the answer to: " + a.question });
      button.addEventListener("click", () => this.change(index));
      item.appendChild(button);
      list.appendChild(item);
    });
  },

  showDecision(decision) {
    const parts = [`Outcome: ${decision.outcome}`];
    if (decision.priority) parts.push(`priority: ${decision.priority}`);
    if (decision.decided_by) parts.push(`decided by ${decision.decided_by}`);
    $("decision-text").textContent = parts.join("; ");
    $("record").hidden = false;
    this.report();
  },

  async report() {
    const link = $("report-link");
    try {
      const html = await call("POST", "/workbench/report", { facts: this.facts() });
      if (link.href) URL.revokeObjectURL(link.href);
      link.href = URL.createObjectURL(new Blob([html], { type: "text/html" }));
      link.download = "decision-report.html";
      link.hidden = false;
    } catch (error) {
      link.hidden = true;
    }
  },

  async record() {
    try {
      const made = await call("POST", "/v1/decisions", { facts: this.facts(), trace: false });
      $("record-status").textContent = "Recorded as decision " + made.id + ".";
    } catch (error) {
      $("record-status").textContent = "Not recorded: " + error.message;
    }
  },
};

// ---- impact --------------------------------------------------------------------------------

function sideText(side, aspects) {
  return aspects
    .map((a) => {
      const v = side[a];
      if (a === "elements") return "elements: " + (v.map((e) => e.name + " " + e.outcome).join(", ") || "(none)");
      if (a === "needed_facts") return "needed: " + (v.join(", ") || "(none)");
      return a + ": " + (v === null ? "(none)" : v) + (a === "outcome" && side.message ? " (" + side.message + ")" : "");
    })
    .join("; ");
}

async function runImpact(event) {
  event.preventDefault();
  const status = $("impact-status");
  const body = { files: state.drafts };
  const file = $("register-file").files[0];
  const example = $("example-choice").value;
  if (file) {
    body.register_name = file.name;
    body.register_text = await file.text();
  } else if (example) {
    body.example = example;
  } else {
    status.textContent = "Choose a register first: upload one or pick an example.";
    return;
  }
  if ($("impact-as-of").value) body.as_of = $("impact-as-of").value;
  status.textContent = "Deciding the register twice…";
  $("impact-moves").hidden = true;
  $("impact-changes").hidden = true;
  let result;
  try {
    result = await call("POST", "/workbench/impact", body);
  } catch (error) {
    status.textContent = "No impact shown: " + error.message;
    return;
  }
  const s = result.summary;
  status.textContent = `${s.changed} of ${s.services} services decided differently (as at ${result.as_of}).`;
  const moves = $("impact-moves").querySelector("tbody");
  clear(moves);
  for (const m of s.by_outcome) {
    const row = el("tr");
    row.appendChild(el("td", m.from));
    row.appendChild(el("td", m.to));
    row.appendChild(el("td", m.services));
    moves.appendChild(row);
  }
  $("impact-moves").hidden = s.by_outcome.length === 0;
  const changes = $("impact-changes").querySelector("tbody");
  clear(changes);
  for (const c of result.changes) {
    const row = el("tr");
    row.appendChild(el("td", c.service));
    row.appendChild(el("td", c.changed.join(", ")));
    row.appendChild(el("td", sideText(c.before, c.changed)));
    row.appendChild(el("td", sideText(c.after, c.changed)));
    changes.appendChild(row);
  }
  $("impact-changes").hidden = result.changes.length === 0;
}

// ---- saving --------------------------------------------------------------------------------

function changedFiles() {
  return Object.keys(state.drafts).filter((name) => state.drafts[name] !== state.saved[name]);
}

function showUnsaved() {
  const changed = changedFiles();
  $("unsaved").textContent =
    changed.length === 0 ? "The draft is the same as the saved rules." : "Changed in the draft, not saved: " + changed.map(baseName).join(", ") + ".";
}

const saving = {
  async refresh() {
    showUnsaved();
    if (!state.editing) return;
    let found;
    try {
      found = await call("GET", "/workbench/saves?limit=20");
    } catch (error) {
      $("save-status").textContent = "Cannot list the saves: " + error.message;
      return;
    }
    const body = $("saves").querySelector("tbody");
    clear(body);
    for (const s of found.saves) {
      const row = el("tr");
      for (const value of [s.saved_at, s.by + " (" + s.recorded_by + ")", s.files.map(baseName).join(", "), s.reason]) row.appendChild(el("td", value));
      const cell = el("td");
      const show = el("button", "Show the changes", { type: "button", "aria-label": "Show the changes of save " + s.id });
      show.addEventListener("click", () => this.show(s.id));
      cell.appendChild(show);
      row.appendChild(cell);
      body.appendChild(row);
    }
    $("saves").hidden = found.saves.length === 0;
  },

  async show(id) {
    let found;
    try {
      found = await call("GET", "/workbench/saves/" + encodeURIComponent(id));
    } catch (error) {
      $("save-status").textContent = "Cannot show save " + id + ": " + error.message;
      return;
    }
    $("save-changes-heading").textContent = `Changes of save ${found.save.id}, by ${found.save.by}: ${found.save.reason}`;
    const pre = $("save-diff");
    clear(pre);
    for (const line of found.diff) {
      const kind = line.startsWith("+++") || line.startsWith("---") ? "file" : line.startsWith("+") ? "added" : line.startsWith("-") ? "removed" : "same";
      pre.appendChild(el("span", line + "\n", { class: "diff-" + kind }));
    }
    $("save-changes").hidden = false;
  },

  async save(event) {
    event.preventDefault();
    const status = $("save-status");
    if (changedFiles().length === 0) {
      status.textContent = "Nothing to save: the draft is the same as the saved rules.";
      return;
    }
    if (lastFindings.some((f) => f.severity === "error")) {
      status.textContent = "Not saved: fix the problems on the Editor page first.";
      return;
    }
    const body = { files: state.drafts, base: state.base, reason: $("save-reason").value, by: $("save-by").value };
    status.textContent = "Saving…";
    let done;
    try {
      done = await call("POST", "/workbench/save", body);
    } catch (error) {
      status.textContent = "Not saved: " + error.message;
      return;
    }
    state.saved = Object.assign({}, state.drafts);
    state.base = done.policy.digest;
    state.policy = await call("GET", "/v1/policy");
    $("policy-name").textContent = `${done.policy.name}, version ${done.policy.version}`;
    status.textContent = `Saved ${done.save.files.map(baseName).join(", ")} as save ${done.save.id}, by ${done.save.by}. The server now decides with these rules.`;
    $("save-reason").value = "";
    interview.started = false;
    await this.refresh();
  },
};

// ---- register ------------------------------------------------------------------------------

const REGISTER_PAGE = 50;

const register = {
  openId: null,
  shown: 0,
  oldest: null,

  async refresh(older) {
    const status = $("register-status");
    const query = new URLSearchParams({ limit: String(REGISTER_PAGE) });
    if ($("find-service").value.trim()) query.set("service", $("find-service").value.trim());
    if ($("find-outcome").value) query.set("outcome", $("find-outcome").value);
    if (older && this.oldest !== null) query.set("before", String(this.oldest));
    let found;
    try {
      found = await call("GET", "/v1/decisions?" + query.toString());
    } catch (error) {
      status.textContent = "Cannot read the register: " + error.message;
      return;
    }
    const body = $("decisions").querySelector("tbody");
    if (!older) {
      clear(body);
      this.shown = 0;
    }
    this.shown += found.decisions.length;
    if (found.decisions.length) this.oldest = found.decisions[found.decisions.length - 1].id;
    $("older").hidden = found.decisions.length < REGISTER_PAGE;
    status.textContent = this.shown + " decision(s) shown" + ($("older").hidden ? "." : "; older ones are on the next page.");
    for (const d of found.decisions) {
      const row = el("tr");
      for (const value of [d.id, d.service, d.outcome, d.recorded_at, d.recorded_by]) row.appendChild(el("td", value));
      const cell = el("td");
      const open = el("button", "Open", { type: "button", "aria-label": "Open decision " + d.id });
      open.addEventListener("click", () => this.open(d.id));
      cell.appendChild(open);
      row.appendChild(cell);
      body.appendChild(row);
    }
  },

  async open(id) {
    let d;
    try {
      d = await call("GET", "/v1/decisions/" + encodeURIComponent(id));
    } catch (error) {
      $("register-status").textContent = "Cannot open decision " + id + ": " + error.message;
      return;
    }
    this.openId = d.id;
    $("recorded").hidden = false;
    $("recorded-heading").textContent = `Decision ${d.id}: ${d.service}`;
    $("recorded-outcome").textContent = `Outcome: ${d.outcome}, recorded ${d.recorded_at} by ${d.recorded_by}`;
    const list = $("overrides");
    clear(list);
    for (const o of d.overrides || []) list.appendChild(el("li", `${o.outcome}, by ${o.by}: ${o.reason}`));
    if (!(d.overrides || []).length) list.appendChild(el("li", "None."));
    explanation($("recorded-tree"), d.trace);
  },

  async override(event) {
    event.preventDefault();
    const body = { outcome: $("override-outcome").value, reason: $("override-reason").value, by: $("override-by").value };
    try {
      await call("POST", `/v1/decisions/${this.openId}/overrides`, body);
    } catch (error) {
      $("register-status").textContent = "Override not recorded: " + error.message;
      return;
    }
    $("register-status").textContent = "Override recorded for decision " + this.openId + ".";
    $("override-reason").value = "";
    await this.open(this.openId);
  },
};

// ---- start ---------------------------------------------------------------------------------

function takeTokenFromAddress() {
  // `serve` without tokens prints the address with a token of its own; keep it in the field, not in the address bar or history.
  const params = new URLSearchParams(location.search);
  const given = params.get("token");
  if (!given) return;
  $("token").value = given;
  params.delete("token");
  const rest = params.toString();
  history.replaceState(null, "", location.pathname + (rest ? "?" + rest : "") + location.hash);
}

async function start() {
  takeTokenFromAddress();
  const [policy, rules, examples] = await Promise.all([call("GET", "/v1/policy"), call("GET", "/workbench/rules"), call("GET", "/workbench/examples")]);
  state.policy = policy;
  state.base = rules.policy.digest;
  state.editing = rules.editing;
  $("save-form").hidden = !rules.editing;
  $("save-off").hidden = rules.editing;
  $("policy-name").textContent = `${policy.policy.name}, version ${policy.policy.version}`;
  const outcomeDecision = policy.decisions.find((d) => d.name === policy.outcome);
  for (const outcome of outcomeDecision ? outcomeDecision.outcomes : []) $("override-outcome").appendChild(el("option", outcome, { value: outcome }));
  for (const name of examples.examples) $("example-choice").appendChild(el("option", name, { value: name }));
  startEditor(rules.files);
  $("format").addEventListener("click", formatFile);
  $("interview").addEventListener("submit", (e) => interview.answer(e));
  $("back").addEventListener("click", () => interview.back());
  $("restart").addEventListener("click", () => interview.restart());
  $("facts-file").addEventListener("change", () => interview.startFrom());
  $("record").addEventListener("click", () => interview.record());
  $("impact-form").addEventListener("submit", runImpact);
  $("save-form").addEventListener("submit", (e) => saving.save(e));
  for (const outcome of outcomeDecision ? outcomeDecision.outcomes : []) $("find-outcome").appendChild(el("option", outcome, { value: outcome }));
  $("find-decisions").addEventListener("submit", (e) => {
    e.preventDefault();
    register.refresh(false);
  });
  $("older").addEventListener("click", () => register.refresh(true));
  $("override-form").addEventListener("submit", (e) => register.override(e));
  window.addEventListener("hashchange", showPage);
  window.addEventListener("beforeunload", (event) => {
    // The draft lives only in this page: ask before a reload or a closed tab loses it.
    if (changedFiles().length > 0) event.preventDefault();
  });
  showPage();
  document.body.dataset.ready = "true";
}

start().catch((error) => {
  document.querySelector("main").prepend(el("p", "The workbench could not start: " + error.message, { role: "alert", class: "error-text" }));
});
