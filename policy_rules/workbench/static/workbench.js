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
  if (response.status === 401) throw new Error(NEEDS_ADDRESS);
  if (!response.ok) {
    const error = data && data.error ? data.error : { message: "the server answered " + response.status, location: "" };
    throw Object.assign(new Error(error.location ? error.message + " (" + error.location + ")" : error.message), { details: error });
  }
  return data;
}

// What the register and saving need, in an officer's words: the server prints the workbench's address with its token.
const NEEDS_ADDRESS =
  "The register and saving are open only to whoever started the server: open the workbench at the address it printed when it started " +
  "(it ends in ?token=…), or paste the token from that address into Access token.";

// ---- words: what an officer reads instead of names, codes, raw amounts and ISO dates ------

const ITEM_FIELD = /^([A-Za-z_][A-Za-z0-9_]*)\[(\d+)\]\.([A-Za-z_][A-Za-z0-9_]*)$/;
const ITEM = /^([A-Za-z_][A-Za-z0-9_]*)\[(\d+)\](?: \((.*)\))?$/s;
const MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];

// A name written in the rules (`procure_local`) as words (`procure local`).
function words(name) {
  return String(name).replace(/_/g, " ");
}

function capital(text) {
  return text ? text[0].toUpperCase() + text.slice(1) : text;
}

// An outcome (or a decision a rule's outcome is taken from) as words when the policy names it; a valued outcome (an amount, a date) as it is.
function outcomeWords(value) {
  if (value === null || value === undefined) return "(none)";
  return state.outcomeNames.has(value) ? words(value) : String(value);
}

// An amount of money as the council writes it: £1,200,000, or £1,000,000.50 when there are pence.
function pounds(value) {
  const amount = Number(String(value).replace(/[£,\s]/g, ""));
  if (!Number.isFinite(amount)) return String(value);
  const pence = !Number.isInteger(amount);
  return new Intl.NumberFormat("en-GB", { style: "currency", currency: "GBP", minimumFractionDigits: pence ? 2 : 0, maximumFractionDigits: 2 }).format(amount);
}

// A date (YYYY-MM-DD) as the council writes it: 7 December 2026.
function longDate(iso) {
  const found = /^(\d{4})-(\d{2})-(\d{2})$/.exec(String(iso));
  return found ? `${Number(found[3])} ${MONTHS[Number(found[2]) - 1]} ${found[1]}` : String(iso);
}

// A moment the register recorded (UTC) as London time: 7 December 2026, 03:40.
function moment(stamp) {
  const when = new Date(stamp);
  if (Number.isNaN(when.getTime())) return String(stamp);
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat("en-GB", { timeZone: "Europe/London", year: "numeric", month: "long", day: "numeric", hour: "2-digit", minute: "2-digit", hourCycle: "h23" })
      .formatToParts(when)
      .map((p) => [p.type, p.value]),
  );
  return `${parts.day} ${parts.month} ${parts.year}, ${parts.hour}:${parts.minute}`;
}

// A date typed as the council writes it (31/3/2027, also 31-3-2027 or 31.3.2027) or as YYYY-MM-DD: YYYY-MM-DD, or null when it is not a day.
function typedDate(text) {
  const british = /^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$/.exec(text);
  const iso = /^(\d{4})-(\d{1,2})-(\d{1,2})$/.exec(text);
  if (!british && !iso) return null;
  const [day, month, year] = british ? [british[1], british[2], british[3]].map(Number) : [iso[3], iso[2], iso[1]].map(Number);
  const made = new Date(Date.UTC(year, month - 1, day));
  if (made.getUTCFullYear() !== year || made.getUTCMonth() !== month - 1 || made.getUTCDate() !== day) return null;
  return `${String(year).padStart(4, "0")}-${String(month).padStart(2, "0")}-${String(day).padStart(2, "0")}`;
}

const DATE_HINT = "the day, month and year, for example 31/3/2027";

// An item of a list as an officer counts it, from 1, with its name when it has one: `Part 2 (Lift maintenance)`.
function itemWords(list, index, facts) {
  const fact = state.policy && state.policy.facts.find((f) => f.name === list);
  const items = facts && Array.isArray(facts[list]) ? facts[list] : [];
  const item = items[index];
  const name = item && typeof item === "object" && typeof item.name === "string" && item.name.trim() ? ` (${item.name})` : "";
  return `${capital(words((fact && fact.record) || list))} ${index + 1}${name}`;
}

// A name the engine gives an item (`elements[2]`, `elements[2] (Lifts)`) as words: `Element 3`, `Element 3 (Lifts)`.
function itemName(shown, facts) {
  const found = ITEM.exec(String(shown));
  if (!found) return String(shown);
  return itemWords(found[1], Number(found[2]), found[3] === undefined ? facts : { [found[1]]: Object.assign([], { [found[2]]: { name: found[3] } }) });
}

// What an officer is asked for a fact, or for a field of one item of a list; with its control's type.
function factInfo(name, facts) {
  const policy = state.policy;
  const item = ITEM_FIELD.exec(name);
  if (item) {
    const [, list, index, field] = item;
    const fact = policy.facts.find((f) => f.name === list);
    const record = fact && policy.records.find((r) => r.name === fact.record);
    const declared = record && record.fields.find((f) => f.name === field);
    const ask = declared && (declared.question || (declared.means ? capital(declared.means) + "?" : null));
    return {
      name,
      type: declared ? declared.type : "text",
      values: declared ? declared.values : undefined,
      question: `${itemWords(list, Number(index), facts)}: ${ask || "What is its " + words(field) + "?"}`,
    };
  }
  const fact = policy.facts.find((f) => f.name === name);
  return fact ? Object.assign({}, fact) : { name, type: "text", question: `What is the ${words(name)}?` };
}

// A value as the officer reads it, by its type: yes/no, pounds, a long date, words for a listed value.
function shownValue(info, value) {
  if (value === true) return "yes";
  if (value === false) return "no";
  if (info.type === "money") return pounds(value);
  if (info.type === "date") return longDate(value);
  if (info.type === "one of") return words(value);
  return typeof value === "object" ? JSON.stringify(value) : String(value);
}

const state = { policy: null, saved: {}, drafts: {}, current: null, editor: null, base: null, editing: false, outcomeNames: new Set() };

// A status read out by screen readers: changed only when what it says changes, so a pause in typing says nothing.
function say(node, text) {
  if (node.textContent !== text) node.textContent = text;
}

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
  fileChoices();
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
  state.editor.view.contentDOM.setAttribute("aria-describedby", "editor-keys");
  choice.addEventListener("change", () => {
    state.current = choice.value;
    state.editor.setText(state.drafts[state.current]);
    check();
  });
  check();
}

function fileChoices() {
  const choice = $("file-choice");
  clear(choice);
  for (const name of Object.keys(state.drafts)) choice.appendChild(el("option", baseName(name), { value: name }));
  if (state.current !== null) choice.value = state.current;
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
  let result;
  try {
    result = await call("POST", "/v1/check", { files: state.drafts });
  } catch (error) {
    if (mine === checkSequence) say($("problems-status"), "Could not check: " + error.message);
    return;
  }
  if (mine !== checkSequence) return;
  lastFindings = inFileOrder(result.diagnostics);
  showProblems();
}

// Errors first (a warning is often caused by an error: `never used` after a misspelt name), each kind in the files' order, then by line and column.
function inFileOrder(findings) {
  const files = Object.keys(state.drafts);
  const place = (f) => (files.includes(f.path) ? files.indexOf(f.path) : files.length);
  const rank = (f) => (f.severity === "error" ? 0 : 1);
  return findings.slice().sort((a, b) => rank(a) - rank(b) || place(a) - place(b) || a.line - b.line || a.column - b.column);
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
  say($("problems-status"), lastFindings.length === 0 ? "No problems." : `${errors} error(s), ${lastFindings.length - errors} warning(s).`);
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
const CONDITION_WORDS = { true: "yes", false: "no", unknown: "not known" };

function citations(node, cites) {
  if (!cites || !cites.length) return;
  const list = el("ul");
  for (const c of cites) list.appendChild(el("li", "cites " + (c.title || c.document) + (c.section ? ", " + c.section : ""), { class: "cite" }));
  node.appendChild(list);
}

// What was read, as the officer was asked it: the fact's question and its answer; a value worked out by its words.
function readWords(read, facts) {
  if (read.kind !== "fact" && read.kind !== "field") return `${words(read.name)}: ${read.shown}`;
  const info = factInfo(read.name, facts);
  if (String(info.type).startsWith("list")) return `${capital(info.means || words(read.name))}: ${read.shown}`;
  return `${info.question} ${read.shown}`;
}

function reads(node, condition, facts) {
  if (!condition) return;
  node.appendChild(el("p", "when " + condition.text + " — " + (CONDITION_WORDS[condition.value] || condition.value)));
  if (condition.reads && condition.reads.length) {
    const list = el("ul");
    for (const r of condition.reads) list.appendChild(el("li", readWords(r, facts)));
    node.appendChild(list);
  }
}

// The rules that applied are unfolded, so the path to the decision shows at once; the rest are folded.
const OPEN = new Set(["decided", "applies", "overridden"]);

function ruleNode(rule, open, facts, what) {
  if (rule.table && what === undefined) return tableNode(rule, facts);
  const box = el("details");
  if (open) box.open = true;
  const summary = el("summary");
  summary.appendChild(el("span", (what ? what + " " : "") + words(rule.label || "rule") + (rule.conclusion ? " → " + outcomeWords(rule.conclusion) : "") + ": "));
  summary.appendChild(el("span", STATUS_WORDS[rule.status] || rule.status, { class: "status-" + rule.status }));
  box.appendChild(summary);
  if (rule.because) box.appendChild(el("p", "because " + rule.because));
  if (rule.overridden_by) box.appendChild(el("p", "overridden by " + words(rule.overridden_by)));
  reads(box, rule.condition, facts);
  citations(box, rule.citations);
  if (rule.location) box.appendChild(el("p", rule.location, { class: "cite" }));
  const inner = what === undefined ? rule.exceptions || [] : (rule.exceptions || []).filter((e) => e.table !== rule.table);
  for (const child of inner.concat(rule.rows || [])) box.appendChild(ruleNode(child, OPEN.has(child.status), facts));
  return box;
}

// A first-of table as one list, its rows in the order they are tried, then `otherwise`, as `policy-rules explain` shows it.
// The trace holds it as the chain of exceptions it means (each row an exception to the row below), where the first row sits deepest.
function tableNode(top, facts) {
  const chain = [top];
  for (;;) {
    const inner = (chain[chain.length - 1].exceptions || []).filter((e) => e.table === top.table);
    if (!inner.length) break;
    chain.push(inner[0]);
  }
  const box = el("details");
  box.open = true;
  box.appendChild(el("summary", `table ${words(top.table)}, first that applies`));
  chain.reverse().forEach((row, index) => {
    box.appendChild(ruleNode(row, OPEN.has(row.status), facts, row.kind === "default" ? "otherwise" : `row ${index + 1}`));
  });
  return box;
}

function explanation(host, trace, facts) {
  clear(host);
  for (const step of trace || []) {
    if (step.type === "decision") {
      const box = el("details");
      box.open = true;
      const item = step.item ? " for " + itemName(step.item, facts) : "";
      box.appendChild(el("summary", `${words(step.decision)}${item}: ${outcomeWords(step.value)}` + (step.decided_by ? ", decided by " + words(step.decided_by) : "")));
      if (step.calculation) box.appendChild(el("p", step.calculation, { class: "calculation" }));
      if (step.rules) box.appendChild(ruleNode(step.rules, true, facts));
      host.appendChild(box);
    } else if (step.type === "defined_value") {
      const box = el("details");
      box.appendChild(el("summary", `${words(step.name)}: ${step.shown}`));
      if (step.calculation) box.appendChild(el("p", step.calculation, { class: "calculation" }));
      if (step.because) box.appendChild(el("p", "because " + step.because));
      reads(box, step.condition, facts);
      citations(box, step.citations);
      host.appendChild(box);
    } else if (step.type === "facts") {
      const box = el("details");
      box.appendChild(el("summary", `Facts: ${step.given.length} given, ${step.missing.length} not known, as at ${longDate(step.as_of)}`));
      const list = el("ul");
      for (const g of step.given) list.appendChild(el("li", readWords(g, facts)));
      for (const m of step.missing) list.appendChild(el("li", `${factInfo(m, facts).question} not known`));
      box.appendChild(list);
      host.appendChild(box);
    } else if (step.type === "needed_facts" && step.facts.length) {
      host.appendChild(el("p", "Answers that could change the decision: " + step.facts.map((f) => factInfo(f, facts).question).join(" ")));
    }
  }
}

// A result as the explanation shows it (£9,500), or "unknown" with the answers it needs.
function resultWords(decision, name) {
  if (decision.results[name] === null) {
    const needed = decision.needed_facts.map((f) => factInfo(f).question).join(" ");
    return "unknown" + (needed ? "; it needs: " + needed : "");
  }
  for (const step of decision.trace || []) {
    if (step.type === "decision" && step.decision === name && !step.item) return step.value;
    if (step.type === "defined_value" && step.name === name) return step.shown;
  }
  return String(decision.results[name]);
}

function showResults(decision) {
  const list = $("decision-results");
  clear(list);
  const names = Object.keys(decision.results || {});
  for (const name of names) list.appendChild(el("li", `${words(name)}: ${resultWords(decision, name)}`));
  list.hidden = names.length === 0;
}

// A change of a money total as the council writes it: +£10,000, -£1,500.
function signedPounds(value) {
  const text = String(value);
  return text.startsWith("-") ? "-" + pounds(text.slice(1)) : "+" + pounds(text);
}

// ---- interview -----------------------------------------------------------------------------

function rulesReading(trace, fact) {
  const defined = new Set();
  const found = new Set();
  const readsFact = (condition) =>
    condition && (condition.reads || []).some((r) => ((r.kind === "fact" || r.kind === "field") && r.name === fact) || (r.kind === "defined" && defined.has(r.name)));
  for (const step of trace || []) if (step.type === "defined_value" && readsFact(step.condition)) defined.add(step.name);
  const walk = (rule) => {
    if (!rule) return;
    if (readsFact(rule.condition)) found.add(rule.label);
    for (const child of (rule.exceptions || []).concat(rule.rows || [])) walk(child);
  };
  for (const step of trace || []) if (step.type === "decision") walk(step.rules);
  return [...found];
}

// An answer put where the facts hold it: a field of one item of a list (`elements[1].specialist`) in that item.
function put(facts, name, value) {
  const item = ITEM_FIELD.exec(name);
  if (!item) {
    facts[name] = value;
    return;
  }
  const [, list, index, field] = item;
  if (!Array.isArray(facts[list])) facts[list] = [];
  const items = facts[list];
  while (items.length <= Number(index)) items.push({});
  if (items[index] === null || typeof items[index] !== "object") items[index] = {};
  items[index][field] = value;
}

// How each type is asked: the input, and the hint said with the question.
const TYPED = {
  money: { type: "text", inputmode: "decimal", hint: "In pounds, for example £1,200,000 or 1200000.50" },
  date: { type: "text", inputmode: "numeric", hint: "Give " + DATE_HINT + "." },
  number: { type: "number", step: "any" },
  "whole number": { type: "number", step: "1", inputmode: "numeric" },
  percentage: { type: "text", inputmode: "decimal", hint: "For example 5%" },
};

const interview = {
  started: false,
  given: {},
  answers: [],
  asking: null,
  decision: null,

  facts() {
    const facts = JSON.parse(JSON.stringify(this.given));
    for (const a of this.answers) put(facts, a.fact, a.value);
    return facts;
  },

  // The service's name, asked first when the facts do not give it: a decision is recorded under it.
  nameMissing(facts) {
    const name = state.policy && state.policy.service_name;
    return Boolean(name) && !(typeof facts[name] === "string" && facts[name].trim());
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
      await this.step();
      $("facts-status").textContent = `Started from ${file.name}: ${Object.keys(found.facts).length} fact(s) given.`;
    } catch (error) {
      $("facts-status").textContent = "Cannot start from this file: " + error.message;
    }
  },

  // Decide with the answers so far, then ask the next question; an answer the server refuses is taken back and asked again.
  async step(problem, fresh) {
    $("record-status").textContent = "";
    const facts = this.facts();
    let decision;
    try {
      decision = await call("POST", "/v1/evaluate", { facts, trace: true });
    } catch (error) {
      if (fresh) {
        this.answers.pop();
        this.step(error.message, false);
      } else this.showQuestion(null, error.message);
      return;
    }
    this.decision = decision;
    this.showAnswers();
    explanation($("explanation-tree"), decision.trace, facts);
    showResults(decision);
    const naming = this.nameMissing(facts);
    if (naming || decision.needed_facts.length) {
      const fact = naming ? state.policy.service_name : decision.needed_facts[0];
      this.asking = fact;
      this.showQuestion({ fact, info: factInfo(fact, facts), rules: naming ? [] : rulesReading(decision.trace, fact) }, problem);
      const open = decision.needed_facts.length;
      $("decision-text").textContent = open
        ? `Not settled yet: ${open} answer(s) could still change it.`
        : "Settled once the service's name is given (the decision is recorded under it).";
      $("record").hidden = true;
      $("report-link").hidden = true;
    } else {
      this.asking = null;
      this.showQuestion(null, problem);
      this.showDecision(decision);
    }
  },

  showQuestion(asked, problem) {
    const host = $("question");
    clear(host);
    $("next").disabled = !asked;
    $("back").disabled = this.answers.length === 0;
    if (problem) host.appendChild(el("p", problem, { class: "error-text", role: "alert", id: "answer-problem" }));
    if (!asked) {
      if (!problem) host.appendChild(el("p", "Every fact that could change the decision has been answered."));
      return;
    }
    const info = asked.info;
    const id = "answer-input";
    if (info.type === "yes/no" || info.type === "boolean" || info.type === "one of") {
      const group = el("fieldset", null, problem ? { "aria-describedby": "answer-problem" } : {});
      group.appendChild(el("legend", info.question));
      const options = info.type === "one of" ? info.values : ["yes", "no"];
      options.forEach((option, index) => {
        const input = el("input", null, { type: "radio", name: "answer", id: id + "-" + index, value: option });
        if (index === 0) input.required = true;
        const label = el("label", words(option), { for: id + "-" + index, class: "option" });
        group.appendChild(input);
        group.appendChild(label);
      });
      host.appendChild(group);
    } else {
      host.appendChild(el("label", info.question, { for: id }));
      const typed = TYPED[info.type] || { type: "text" };
      const described = [];
      if (typed.hint) {
        host.appendChild(el("p", typed.hint, { id: "answer-hint", class: "hint" }));
        described.push("answer-hint");
      }
      if (problem) described.push("answer-problem");
      const input = el("input", null, { id, name: "answer", type: typed.type, required: "", autocomplete: "off" });
      if (typed.step) input.setAttribute("step", typed.step);
      if (typed.inputmode) input.setAttribute("inputmode", typed.inputmode);
      if (described.length) input.setAttribute("aria-describedby", described.join(" "));
      host.appendChild(input);
    }
    if (asked.rules.length) host.appendChild(el("p", "This answer could change: " + asked.rules.map(words).join(", ")));
    host.appendChild(el("p", "Fact: " + asked.fact, { class: "cite" }));
    const first = host.querySelector("input");
    if (first) first.focus();
  },

  // The answer given, as the facts hold it ({value}), or why it cannot be one ({problem}); undefined when none is given.
  read() {
    const info = factInfo(this.asking, this.facts());
    const form = $("interview");
    const chosen = form.querySelector("input[name=answer]:checked");
    const typed = form.querySelector("input[name=answer]:not([type=radio])");
    if (info.type === "yes/no" || info.type === "boolean") return chosen ? { value: chosen.value === "yes" } : undefined;
    if (info.type === "one of") return chosen ? { value: chosen.value } : undefined;
    if (!typed || typed.value.trim() === "") return undefined;
    const text = typed.value.trim();
    if (info.type === "money") {
      const amount = text.replace(/^£/, "").replace(/,(?=\d{3}(\D|$))/g, "").replace(/\s/g, "");
      return /^\d+(\.\d{1,2})?$/.test(amount) ? { value: amount } : { problem: `${text} is not an amount of money: write pounds, for example £1,200,000 or 1200000.50` };
    }
    if (info.type === "date") {
      const day = typedDate(text);
      return day ? { value: day } : { problem: `${text} is not a date: write ${DATE_HINT}` };
    }
    if (info.type === "number" || info.type === "whole number") return { value: Number(text) };
    if (info.type.startsWith("list")) {
      try {
        return { value: JSON.parse(text) };
      } catch {
        return { value: text };
      }
    }
    return { value: text };
  },

  answer(event) {
    event.preventDefault();
    if (!this.asking) return;
    const given = this.read();
    if (given === undefined) return;
    const info = factInfo(this.asking, this.facts());
    if (given.problem) {
      this.showQuestion({ fact: this.asking, info, rules: this.nameMissing(this.facts()) ? [] : rulesReading(this.decision && this.decision.trace, this.asking) }, given.problem);
      return;
    }
    this.answers.push({ fact: this.asking, question: info.question, value: given.value, shown: shownValue(info, given.value) });
    this.step(undefined, true);
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
      const item = el("li", `${a.question} ${a.shown} `);
      const button = el("button", "Change", { type: "button", "aria-label": "Change the answer to: " + a.question });
      button.addEventListener("click", () => this.change(index));
      item.appendChild(button);
      list.appendChild(item);
    });
  },

  showDecision(decision) {
    const parts = [`Outcome: ${outcomeWords(decision.outcome)}`];
    if (decision.priority) parts.push(`priority: ${outcomeWords(decision.priority)}`);
    if (decision.decided_by) parts.push(`decided by ${words(decision.decided_by)}`);
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

function sideText(side, aspects, money) {
  return aspects
    .map((a) => {
      const v = side[a];
      if (a === "elements") return "elements: " + (v.map((e) => itemName(e.name) + " " + outcomeWords(e.outcome)).join(", ") || "(none)");
      if (a === "needed_facts") return "needed: " + (v.map((f) => factInfo(f).question).join(" ") || "(none)");
      if (a === "results")
        return Object.entries(v || {})
          .map(([name, value]) => `${words(name)}: ${value === null ? "unknown" : money.has(name) ? pounds(value) : String(value)}`)
          .join(", ");
      if (a === "reasons") return a + ": " + (v === null ? "(none)" : [].concat(v).map(words).join(", "));
      return words(a) + ": " + outcomeWords(v) + (a === "outcome" && side.message ? " (" + side.message + ")" : "");
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
  const asAt = $("impact-as-of").value.trim();
  if (asAt) {
    body.as_of = typedDate(asAt);
    if (!body.as_of) {
      status.textContent = `${asAt} is not a date: write ${DATE_HINT}.`;
      return;
    }
  }
  status.textContent = "Deciding the register twice…";
  $("impact-moves").hidden = true;
  $("impact-totals").hidden = true;
  $("impact-changes").hidden = true;
  let result;
  try {
    result = await call("POST", "/workbench/impact", body);
  } catch (error) {
    status.textContent = "No impact shown: " + error.message;
    return;
  }
  const s = result.summary;
  status.textContent = `${s.changed} of ${s.services} services decided differently (as at ${longDate(result.as_of)}).`;
  const moves = $("impact-moves").querySelector("tbody");
  clear(moves);
  for (const m of s.by_outcome) {
    const row = el("tr");
    row.appendChild(el("td", outcomeWords(m.from)));
    row.appendChild(el("td", outcomeWords(m.to)));
    row.appendChild(el("td", m.services));
    moves.appendChild(row);
  }
  $("impact-moves").hidden = s.by_outcome.length === 0;
  const totals = $("impact-totals").querySelector("tbody");
  clear(totals);
  const money = Object.entries(s.totals || {});
  for (const [name, total] of money) {
    const row = el("tr");
    row.appendChild(el("td", words(name)));
    row.appendChild(el("td", pounds(total.before)));
    row.appendChild(el("td", pounds(total.after)));
    row.appendChild(el("td", signedPounds(total.change)));
    const before = total.unknown_before || 0, after = total.unknown_after || 0;
    row.appendChild(el("td", before === after ? String(before) : `${before} saved, ${after} draft`));
    totals.appendChild(row);
  }
  $("impact-totals").hidden = money.length === 0;
  const moneyNames = new Set(money.map(([name]) => name));
  const changes = $("impact-changes").querySelector("tbody");
  clear(changes);
  for (const c of result.changes) {
    const row = el("tr");
    row.appendChild(el("td", c.service));
    row.appendChild(el("td", c.changed.map(words).join(", ")));
    row.appendChild(el("td", sideText(c.before, c.changed, moneyNames)));
    row.appendChild(el("td", sideText(c.after, c.changed, moneyNames)));
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
      for (const value of [moment(s.saved_at), s.by + " (" + s.recorded_by + ")", s.files.map(baseName).join(", "), s.reason]) row.appendChild(el("td", value));
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
    this.showDiff(`Changes of save ${found.save.id}, by ${found.save.by}: ${found.save.reason}`, found.diff);
  },

  showDiff(heading, diff) {
    $("save-changes-heading").textContent = heading;
    const pre = $("save-diff");
    clear(pre);
    for (const line of diff) {
      const kind = line.startsWith("+++") || line.startsWith("---") ? "file" : line.startsWith("+") ? "added" : line.startsWith("-") ? "removed" : "same";
      pre.appendChild(el("span", line + "\n", { class: "diff-" + kind }));
    }
    $("save-changes").hidden = false;
  },

  // After a save refused because rule files changed on disk: serve the files on disk, show what changed there, keep the officer's own changes.
  async takeUp() {
    const status = $("save-status");
    let found;
    try {
      found = await call("POST", "/workbench/take-up");
    } catch (error) {
      status.textContent = "Not taken up: " + error.message;
      return;
    }
    const before = state.saved;
    const both = [];
    const drafts = {};
    for (const [name, text] of Object.entries(found.files)) {
      const mine = name in state.drafts && state.drafts[name] !== before[name];
      if (mine && text !== before[name]) both.push(baseName(name));
      drafts[name] = mine ? state.drafts[name] : text;
    }
    state.saved = Object.assign({}, found.files);
    state.drafts = drafts;
    state.base = found.policy.digest;
    if (!(state.current in drafts)) state.current = Object.keys(drafts)[0] || null;
    fileChoices();
    state.editor.setText(state.current === null ? "" : drafts[state.current]);
    usePolicy(await call("GET", "/v1/policy"));
    $("take-up").hidden = true;
    this.showDiff("Changed on disk since the server read the rules", found.diff);
    status.textContent =
      "The server now decides with the files on disk; what changed there is shown below. " +
      (both.length
        ? `${both.join(", ")} was changed both on disk and in your draft: your draft of it is kept, so make the changes shown below again in it before you save.`
        : "Your own changes are kept in the draft.");
    interview.started = false;
    check();
    await this.refresh();
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
      $("take-up").hidden = !(error.details && error.details.changed_on_disk);
      return;
    }
    $("take-up").hidden = true;
    state.saved = Object.assign({}, state.drafts);
    state.base = done.policy.digest;
    usePolicy(await call("GET", "/v1/policy"));
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
      say(status, error.message === NEEDS_ADDRESS ? NEEDS_ADDRESS : "Cannot read the register: " + error.message);
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
    say(status, this.shown + " decision(s) shown" + ($("older").hidden ? "." : "; older ones are on the next page."));
    for (const d of found.decisions) {
      const row = el("tr");
      for (const value of [d.id, d.service, outcomeWords(d.outcome), moment(d.recorded_at), d.recorded_by]) row.appendChild(el("td", value));
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
    $("recorded-outcome").textContent = `Outcome: ${outcomeWords(d.outcome)}, recorded ${moment(d.recorded_at)} by ${d.recorded_by}`;
    const list = $("overrides");
    clear(list);
    for (const o of d.overrides || []) list.appendChild(el("li", `${outcomeWords(o.outcome)}, by ${o.by}: ${o.reason}`));
    if (!(d.overrides || []).length) list.appendChild(el("li", "None."));
    explanation($("recorded-tree"), d.trace, d.facts);
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

// The policy served: its facts and questions, and the outcome names shown as words.
function usePolicy(policy) {
  state.policy = policy;
  state.outcomeNames = new Set(policy.decisions.flatMap((d) => d.outcomes.concat([d.name])));
}

async function start() {
  takeTokenFromAddress();
  const [policy, rules, examples] = await Promise.all([call("GET", "/v1/policy"), call("GET", "/workbench/rules"), call("GET", "/workbench/examples")]);
  usePolicy(policy);
  state.base = rules.policy.digest;
  state.editing = rules.editing;
  $("save-form").hidden = !rules.editing;
  $("save-off").hidden = rules.editing;
  $("policy-name").textContent = `${policy.policy.name}, version ${policy.policy.version}`;
  const outcomeDecision = policy.decisions.find((d) => d.name === policy.outcome);
  for (const outcome of outcomeDecision ? outcomeDecision.outcomes : []) $("override-outcome").appendChild(el("option", words(outcome), { value: outcome }));
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
  $("take-up").addEventListener("click", () => saving.takeUp());
  for (const outcome of outcomeDecision ? outcomeDecision.outcomes : []) $("find-outcome").appendChild(el("option", words(outcome), { value: outcome }));
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
