// The page's behaviour: every request goes to this site's own URLs (its functions under
// /.netlify/functions/, the Flask API through the /api/* redirect). No framework.
"use strict";

const FUNCTIONS = "/.netlify/functions";

// Show `text` in the status element `id`; data-state lets tests (and CSS) tell the phases.
function say(id, state, text) {
  const element = document.getElementById(id);
  element.dataset.state = state;
  element.textContent = text;
}

// fetch, then the JSON body (or null); an answer that is not JSON becomes {error: its text}.
async function call(url, options) {
  const response = await fetch(url, options);
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch (error) {
    data = { error: text.trim() || response.statusText };
  }
  return { status: response.status, ok: response.ok, data };
}

function problem(answer) {
  const said = answer.data && answer.data.error;
  return `${answer.status}: ${said || "no answer"}`;
}

async function greet() {
  const name = new URLSearchParams(window.location.search).get("name") || "";
  const query = name ? `?name=${encodeURIComponent(name)}` : "";
  const answer = await call(`${FUNCTIONS}/hello${query}`);
  if (answer.ok) {
    say("greeting", "ready", answer.data.message);
  } else {
    say("greeting", "error", `hello answered ${problem(answer)}`);
  }
}

function noteItem(note) {
  const item = document.createElement("li");
  item.dataset.id = String(note.id);
  const text = document.createElement("span");
  text.className = "note-text";
  text.textContent = note.text;
  const when = document.createElement("time");
  when.dateTime = note.created;
  when.textContent = new Date(note.created).toLocaleString();
  item.append(text, when);
  return item;
}

function countNotes(count) {
  return count === 1 ? "1 note" : `${count} notes`;
}

async function listNotes() {
  const answer = await call(`${FUNCTIONS}/notes`);
  if (!answer.ok) {
    say("notes-status", "error", `notes answered ${problem(answer)}`);
    return;
  }
  const list = document.getElementById("notes");
  list.replaceChildren(...answer.data.notes.map(noteItem));
  say("notes-status", "ready", answer.data.notes.length ? countNotes(answer.data.notes.length) : "No notes yet.");
}

async function addNote(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const input = document.getElementById("note-text");
  form.querySelector("button").disabled = true;
  say("notes-status", "saving", "Saving…");
  try {
    const answer = await call(`${FUNCTIONS}/notes`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ text: input.value }),
    });
    if (!answer.ok) {
      say("notes-status", "error", `notes answered ${problem(answer)}`);
      return;
    }
    const list = document.getElementById("notes");
    list.prepend(noteItem(answer.data));
    input.value = "";
    say("notes-status", "ready", `Saved note ${answer.data.id}; ${countNotes(list.children.length)}`);
  } finally {
    form.querySelector("button").disabled = false;
  }
}

async function listItems() {
  const answer = await call("/api/items");
  if (!answer.ok) {
    say("api-status", "error", `/api/items answered ${problem(answer)}`);
    return;
  }
  const list = document.getElementById("items");
  list.replaceChildren(
    ...answer.data.items.map((item) => {
      const element = document.createElement("li");
      element.textContent = `${item.name}: ${Number(item.price).toFixed(2)}`;
      return element;
    }),
  );
  say("api-status", "ready", `GET /api/items answered ${answer.status} with ${answer.data.items.length} items`);
}

async function sendReport(event) {
  event.preventDefault();
  const destination = document.getElementById("report-destination").value;
  const notes = document.getElementById("notes").children.length;
  say("report-status", "sending", "Sending…");
  const answer = await call(`${FUNCTIONS}/send-report-background`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ destination, content: `The page lists ${countNotes(notes)}.` }),
  });
  if (answer.status === 202) {
    say("report-status", "accepted", `Accepted (202): the report for ${destination} runs in the background; the server's log shows how it went.`);
  } else {
    say("report-status", "error", `send-report-background answered ${problem(answer)}`);
  }
}

// Each part loads on its own: one that fails says so in its place, the others still show.
function guarded(part, statusId) {
  return part().catch((error) => say(statusId, "error", `request failed: ${error.message}`));
}

document.addEventListener("DOMContentLoaded", () => {
  document.getElementById("note-form").addEventListener("submit", (event) => {
    guarded(() => addNote(event), "notes-status");
  });
  document.getElementById("report-form").addEventListener("submit", (event) => {
    guarded(() => sendReport(event), "report-status");
  });
  guarded(greet, "greeting");
  guarded(listNotes, "notes-status");
  guarded(listItems, "api-status");
});
