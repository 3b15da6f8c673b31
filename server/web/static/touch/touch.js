/* Smilepost: the customer page of a web touchpoint (/s/<slug>). Plain JS, no framework, nothing third-party.

   The page (server/web/templates/touchpoint.html) holds every screen and, as JSON, what the server worked out
   (server/web/touch_view.py): the questions, their reasons by side, timings and every text in every language.

   - Answers: a tap is written to the IndexedDB outbox before anything else shows (durable first, as on a kiosk).
     A tap that gets a follow-up (reasons, a comment) is held until it is answered, skipped or times out, then
     completed and released: the server receives each tap once, complete, and a sent tap never changes. Holds
     left behind (a closed tab) are released as follow-up timeouts at the next start.
   - Sending: the outbox is sent in protocol-v1 batches (the device id as boot_id, Date.now() * 1e6 as mono_ns),
     oldest first. A 200 answer removes the batch's taps; a 422 sets the taps it names (else the whole batch)
     aside for good; a 413 halves the batch; 429 and 503 wait Retry-After (at most 300 s); anything else (network
     errors, 5xx, 403, 404) backs off with full jitter, random() * min(60, 0.5 * 2^attempt) s. The tap ids make
     every resend idempotent. Sent on start, after each answer, on `online` and when the page shows again.
   - Questions: `single`; `rotate` (one question per customer, in turn per device: the turn is saved with the tap
     that moves it); `sequence` (the main question, then each aspect question, skippable, timing out, linked to
     the customer's first tap by first_tap_id). Whether an answer is a repeat is the server's to decide.
   - On a phone the thank-you stays (one answer per visit); a follow-up waits at least phone_followup_seconds, a
     comment phone_comment_seconds after the last key, an aspect question question_timeout_seconds; whoever lets
     one run out is thanked (the held tap goes as a follow-up timeout).
   - Kiosk mode (?kiosk=1): fullscreen on the first tap, the thank-you returns to the question, an attract screen
     after attract_after_seconds idle, each new customer starts in the page's first language. Every customer gets
     their own boot_id (device id + "." + customer number), so the server's per-device repeat window applies to
     one customer, not to the tablet; a press within repeat_press_seconds of the previous one is the same customer.
   - Offline: the service worker (/s/sw.js) keeps this page and its files; html[data-offline="ready"] once it has.
   - For tests and curious people: html[data-ready], html[data-screen], html[data-pending] (taps not yet
     acknowledged), and User Timing marks smilepost:ready, smilepost:tap, smilepost:thanks. */
"use strict";

(() => {
  const data = JSON.parse(document.getElementById("smilepost-page").textContent);
  const html = document.documentElement;
  const $ = (id) => document.getElementById(id);
  const kiosk = new URLSearchParams(location.search).get("kiosk") === "1";
  const questions = data.questions;
  const main = questions[0];
  const pads = { [main.scale]: $("pad").innerHTML };
  const SETTLE_MS = 400; // an aspect question ignores presses this long (#pad[data-settling]): a finger still there
  const COMMENT_MIN_SECONDS = 30; // a kiosk's comment waits this long for the next key
  const MAX_BATCH = 100;
  let language = data.language;

  const t = (key) => data.texts[language][key] ?? data.texts[data.language][key] ?? "";

  // -- the outbox (IndexedDB) ----------------------------------------------------------------------------------

  const OUTBOX = "outbox";
  const META = "meta";
  const deviceKey = `device:${data.slug}`;
  let opened = null;

  function database() {
    opened ??= new Promise((resolve, reject) => {
      const request = indexedDB.open("smilepost", 1);
      request.onupgradeneeded = () => {
        request.result.createObjectStore(OUTBOX, { keyPath: "id" });
        request.result.createObjectStore(META);
      };
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
    return opened;
  }

  const done = (request) =>
    new Promise((resolve, reject) => {
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });

  /** Run `work(outbox, meta)` in one transaction; its result once the transaction committed. */
  async function transact(mode, work) {
    const tx = (await database()).transaction([OUTBOX, META], mode);
    const committed = new Promise((resolve, reject) => {
      tx.oncomplete = resolve;
      tx.onabort = tx.onerror = () => reject(tx.error || new Error("transaction aborted"));
    });
    try {
      const result = await work(tx.objectStore(OUTBOX), tx.objectStore(META));
      await committed;
      return result;
    } catch (error) {
      if (!tx.error) {
        try {
          tx.abort();
        } catch {
          /* already finished */
        }
      }
      throw error;
    }
  }

  const hex = (bytes) => Array.from(crypto.getRandomValues(new Uint8Array(bytes)), (b) => b.toString(16).padStart(2, "0")).join("");

  function uuid4() {
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }

  async function device(meta) {
    return (await done(meta.get(deviceKey))) ?? { id: hex(16), seq: 0, turn: 0, customer: 0, pressed: 0 };
  }

  /** Store one answer (held if a follow-up follows); the outbox row. */
  function record(answer) {
    const now = Date.now();
    return transact("readwrite", async (outbox, meta) => {
      const me = await device(meta);
      me.seq += 1;
      let boot = answer.boot ?? me.id;
      if (kiosk && !answer.boot) {
        if (now - me.pressed >= data.repeat_press_seconds * 1000 || now < me.pressed) me.customer += 1;
        me.pressed = now;
        boot = `${me.id}.${me.customer}`;
      }
      if (answer.nextTurn !== null) me.turn = answer.nextTurn;
      const tap = {
        id: uuid4(), seq: me.seq, question_id: answer.question.id, scale: answer.question.scale,
        score: answer.score, tapped_at: new Date(now).toISOString(), mono_ns: now * 1e6, boot_id: boot,
        followup: null, comment: null, flags: [], first_tap_id: answer.first,
      };
      const row = { id: tap.id, url: data.tap_url, device: me.id, tap, held: answer.hold ? 1 : 0, aside: 0 };
      meta.put(me, deviceKey);
      outbox.put(row);
      return row;
    });
  }

  function completed(tap, how) {
    const comment = (how.comment || "").replace(/\u0000/g, "").trim();
    const flags = how.timedOut && !tap.flags.includes("followup_timeout") ? [...tap.flags, "followup_timeout"] : tap.flags;
    return { ...tap, followup: how.followup ?? null, comment: comment || null, flags };
  }

  /** Write the follow-up answer of a held tap and release it; nothing if it is no longer held. */
  function complete(id, how) {
    return transact("readwrite", async (outbox) => {
      const row = await done(outbox.get(id));
      if (!row || !row.held) return;
      outbox.put({ ...row, tap: completed(row.tap, how), held: 0 });
    });
  }

  /** Release every held tap as a follow-up timeout (holds a closed page left behind). */
  function releaseHolds() {
    return transact("readwrite", async (outbox) => {
      for (const row of await done(outbox.getAll())) {
        if (row.held) outbox.put({ ...row, tap: completed(row.tap, { timedOut: true }), held: 0 });
      }
    });
  }

  const waiting = (rows) => rows.filter((row) => !row.aside);

  /** The next batch: the oldest sendable taps of one touchpoint and device, at most `limit`. */
  async function nextBatch(limit) {
    const rows = await transact("readonly", (outbox) => done(outbox.getAll()));
    const ready = waiting(rows).filter((row) => !row.held).sort((a, b) => a.tap.seq - b.tap.seq);
    if (!ready.length) return null;
    const first = ready[0];
    const same = ready.filter((row) => row.url === first.url && row.device === first.device);
    return { url: first.url, device: first.device, taps: same.slice(0, limit).map((row) => row.tap) };
  }

  function update(ids, change) {
    return transact("readwrite", async (outbox) => {
      for (const id of ids) {
        if (change === "forget") outbox.delete(id);
        else {
          const row = await done(outbox.get(id));
          if (row) outbox.put({ ...row, aside: 1 });
        }
      }
    });
  }

  // -- sending -------------------------------------------------------------------------------------------------

  let attempt = 0;
  let limit = MAX_BATCH;
  let retry = 0;
  let draining = false;
  let again = false;
  let failing = false;

  function retryAfter(value) {
    if (!value) return null;
    let seconds = Number(value);
    if (!Number.isFinite(seconds)) seconds = (Date.parse(value) - Date.now()) / 1000;
    return Number.isFinite(seconds) ? Math.min(300, Math.max(0, seconds)) : null;
  }

  function batchBody(deviceId, taps) {
    const now = Date.now();
    return JSON.stringify({ sent_at: new Date(now).toISOString(), boot_id: deviceId, mono_ns: now * 1e6, taps });
  }

  const HEADERS = { "Content-Type": "application/json", "X-Smilepost-Client": "web" };

  /** POST one batch; what to do next: {ok}, {aside: ids}, {halve}, or {wait: seconds | null}. */
  async function post(batch) {
    let response;
    try {
      response = await fetch(batch.url, {
        method: "POST", headers: HEADERS, body: batchBody(batch.device, batch.taps), credentials: "omit",
        cache: "no-store", redirect: "error", signal: AbortSignal.timeout ? AbortSignal.timeout(30000) : undefined,
      });
    } catch {
      return { wait: null };
    }
    if (response.status === 200) {
      const result = await response.json().catch(() => null);
      return result && typeof result.accepted === "number" ? { ok: true } : { wait: null };
    }
    if (response.status === 422) {
      const body = await response.json().catch(() => ({}));
      const named = (Array.isArray(body.detail) ? body.detail : [])
        .map((d) => (Array.isArray(d.loc) && d.loc[0] === "body" && d.loc[1] === "taps" ? batch.taps[d.loc[2]] : null))
        .filter(Boolean)
        .map((tap) => tap.id);
      return { aside: named.length ? [...new Set(named)] : batch.taps.map((tap) => tap.id) };
    }
    if (response.status === 413) return { halve: true };
    if (response.status === 429 || response.status === 503) return { wait: retryAfter(response.headers.get("Retry-After")) };
    return { wait: null };
  }

  async function drainOnce() {
    for (;;) {
      const batch = await nextBatch(limit);
      if (!batch) {
        attempt = 0;
        failing = false;
        return;
      }
      const ids = batch.taps.map((tap) => tap.id);
      const outcome = await post(batch);
      if (outcome.ok) {
        await update(ids, "forget");
        attempt = 0;
        failing = false;
      } else if (outcome.aside) {
        await update(outcome.aside, "aside");
      } else if (outcome.halve && ids.length > 1) {
        limit = Math.max(1, Math.floor(ids.length / 2));
      } else if (outcome.halve) {
        await update(ids, "aside");
      } else {
        failing = true;
        attempt += 1;
        const wait = outcome.wait ?? Math.random() * Math.min(60, 0.5 * 2 ** attempt);
        retry = setTimeout(send, wait * 1000);
        return;
      }
    }
  }

  async function drain() {
    clearTimeout(retry);
    try {
      do {
        again = false;
        await drainOnce();
      } while (again && !failing);
    } catch {
      failing = true; // the outbox could not be read: the next answer or event tries again
    }
    showPending();
  }

  /** Send what waits. One drain at a time in this tab (a call meanwhile makes it look once more), and one tab of
   * this device at a time (Web Locks: a second tab waits for the first to finish, then finds little to send). */
  function send() {
    if (draining) {
      again = true;
      return;
    }
    draining = true;
    const run = () =>
      drain().finally(() => {
        draining = false;
        if (again && !failing) send(); // asked for while the last look was ending
      });
    if (navigator.locks) navigator.locks.request("smilepost-send", run).catch(() => (draining = false));
    else run();
  }

  async function showPending() {
    try {
      const count = waiting(await transact("readonly", (outbox) => done(outbox.getAll()))).length;
      html.dataset.pending = String(count);
      $("status").textContent = count && failing ? t("web.pending") : "";
    } catch {
      /* nothing to show */
    }
  }

  // -- screens -------------------------------------------------------------------------------------------------

  const SCREENS = { ask: "question", followup: "followup-heading", comment: "comment-text", thanks: "thanks-heading", attract: "wake" };
  const state = { questions: [main], step: 0, first: null, boot: null, held: null, screen: "ask", recording: false };
  let turn = 0;
  let timer = 0;
  let idle = 0;

  function show(name, focus) {
    for (const screen of Object.keys(SCREENS)) $(screen).hidden = screen !== name;
    state.screen = html.dataset.screen = name;
    if (focus) {
      window.scrollTo(0, 0);
      $(SCREENS[name]).focus();
    }
    restartIdle();
  }

  function later(seconds, then) {
    clearTimeout(timer);
    timer = setTimeout(then, seconds * 1000);
  }

  function restartIdle() {
    clearTimeout(idle);
    if (kiosk && state.screen === "ask" && state.step === 0) idle = setTimeout(() => show("attract", false), data.attract_after_seconds * 1000);
  }

  function customerQuestions() {
    if (data.mode === "sequence") return questions;
    if (data.mode === "rotate") return [questions[turn % questions.length]];
    return [main];
  }

  function startCustomer(focus) {
    clearTimeout(timer);
    if (kiosk && language !== data.language) setLanguage(data.language);
    Object.assign(state, { questions: customerQuestions(), step: 0, first: null, boot: null, held: null });
    showQuestion(focus);
  }

  function nameButtons(root) {
    for (const el of root.querySelectorAll("[data-t]")) el.textContent = t(el.dataset.t);
    for (const face of root.querySelectorAll("button[data-name]")) face.setAttribute("aria-label", t(face.dataset.name));
  }

  function showQuestion(focus) {
    const question = state.questions[state.step];
    const pad = $("pad");
    if (pad.dataset.scale !== String(question.scale)) {
      pad.innerHTML = pads[question.scale] ?? $(`pad-${question.scale}`).innerHTML;
      pad.dataset.scale = String(question.scale);
      nameButtons(pad);
    }
    pad.dataset.question = question.id;
    drawQuestionTexts();
    $("skip-question").hidden = state.step === 0;
    show("ask", focus);
    if (state.step > 0) {
      pad.dataset.settling = "1";
      setTimeout(() => delete pad.dataset.settling, SETTLE_MS);
      later(data.question_seconds, customerGone);
    }
  }

  function drawQuestionTexts() {
    const question = state.questions[state.step];
    const total = state.questions.length;
    $("question").textContent = t(`q.${question.id}`);
    $("step").hidden = total < 2;
    $("step").textContent = t("web.step").replace("{n}", state.step + 1).replace("{total}", total);
  }

  function enterFullscreen() {
    if (!kiosk || document.fullscreenElement || document.webkitFullscreenElement) return;
    const request = html.requestFullscreen || html.webkitRequestFullscreen;
    if (request) Promise.resolve(request.call(html)).catch(() => {});
    if (navigator.wakeLock) navigator.wakeLock.request("screen").catch(() => {});
  }

  async function answer(score) {
    if (state.recording || $("pad").dataset.settling) return;
    performance.mark("smilepost:tap");
    enterFullscreen();
    const question = state.questions[state.step];
    const aspect = state.step > 0;
    const side = question.sides[String(score)];
    const reasons = side === "neutral" ? [] : question.reasons[side];
    const comment = !aspect && data.comment.enabled;
    const hold = reasons.length > 0 || comment;
    const nextTurn = data.mode === "rotate" && !aspect ? turn + 1 : null;
    state.recording = true;
    let row = null;
    try {
      row = await record({ question, score, hold, nextTurn, first: aspect ? state.first : null, boot: aspect ? state.boot : null });
    } catch {
      $("status").textContent = t("web.pending"); // could not store: the customer still sees thanks
    } finally {
      state.recording = false;
    }
    if (row && nextTurn !== null) turn = nextTurn;
    if (row && !aspect) Object.assign(state, { first: row.tap.id, boot: row.tap.boot_id });
    if (row && hold) {
      state.held = row;
      showFollowup(question, reasons, comment);
    } else {
      next();
      send();
    }
    showPending();
  }

  function followupSeconds() {
    const question = state.questions[state.step];
    return kiosk ? question.followup_seconds : Math.max(question.followup_seconds, data.phone_followup_seconds);
  }

  function showFollowup(question, reasons, comment) {
    const list = $("reasons");
    list.replaceChildren(
      ...reasons.map((id) => {
        const button = document.createElement("button");
        button.type = "button";
        button.dataset.reason = id;
        button.dataset.t = `r.${question.id}.${id}`;
        button.textContent = t(button.dataset.t);
        return button;
      }),
    );
    list.hidden = reasons.length === 0;
    const heading = $("followup-heading");
    heading.dataset.t = reasons.length ? "followup_question" : "thanks";
    heading.textContent = t(heading.dataset.t);
    $("followup-thanks").hidden = reasons.length === 0;
    $("open-comment").hidden = !comment;
    show("followup", true);
    later(followupSeconds(), followupTimedOut);
  }

  /** Complete and release the held tap (if any), then send. */
  function finishHeld(how) {
    clearTimeout(timer);
    const held = state.held;
    state.held = null;
    if (held) complete(held.id, how).catch(() => {}).then(send);
  }

  function followupTimedOut() {
    finishHeld({ timedOut: true });
    $("comment-text").value = "";
    if (kiosk) startCustomer(true);
    else showThanks();
  }

  function customerGone() {
    if (kiosk) startCustomer(true);
    else showThanks();
  }

  function next() {
    if (data.mode === "sequence" && state.first && state.step + 1 < state.questions.length) {
      state.step += 1;
      showQuestion(true);
    } else showThanks();
  }

  function showThanks() {
    clearTimeout(timer);
    show("thanks", true);
    requestAnimationFrame(() => setTimeout(() => performance.mark("smilepost:thanks"), 0));
    if (kiosk) later(data.thank_you_seconds, () => startCustomer(true));
  }

  function commentSeconds() {
    return Math.max(kiosk ? COMMENT_MIN_SECONDS : data.phone_comment_seconds, followupSeconds());
  }

  function charsLeft() {
    const left = data.comment.max_chars - $("comment-text").value.length;
    $("comment-left").textContent = t("web.chars_left").replace("{n}", left);
  }

  function setLanguage(code) {
    if (!data.texts[code]) return;
    language = code;
    html.lang = code;
    nameButtons(document);
    for (const button of document.querySelectorAll("[data-lang]")) button.setAttribute("aria-pressed", String(button.dataset.lang === code));
    const nav = document.querySelector("nav.languages");
    if (nav) nav.setAttribute("aria-label", t("web.language"));
    drawQuestionTexts();
    charsLeft();
  }

  // -- wiring --------------------------------------------------------------------------------------------------

  $("pad").addEventListener("click", (event) => {
    const button = event.target.closest("button[data-score]");
    if (button) answer(Number(button.dataset.score));
  });
  $("skip-question").addEventListener("click", () => next());
  $("reasons").addEventListener("click", (event) => {
    const button = event.target.closest("button[data-reason]");
    if (!button) return;
    finishHeld({ followup: button.dataset.reason });
    next();
  });
  $("skip-followup").addEventListener("click", () => {
    finishHeld({});
    next();
  });
  $("open-comment").addEventListener("click", () => {
    $("comment-text").value = "";
    charsLeft();
    show("comment", true);
    later(commentSeconds(), followupTimedOut);
  });
  $("comment-text").addEventListener("input", () => {
    charsLeft();
    later(commentSeconds(), followupTimedOut);
  });
  $("comment-form").addEventListener("submit", (event) => {
    event.preventDefault();
    finishHeld({ comment: $("comment-text").value });
    $("comment-text").value = "";
    next();
  });
  $("cancel-comment").addEventListener("click", () => {
    $("comment-text").value = "";
    show("followup", true);
    later(followupSeconds(), followupTimedOut);
  });
  $("wake").addEventListener("click", () => {
    enterFullscreen();
    startCustomer(true);
  });
  document.querySelector("nav.languages")?.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-lang]");
    if (button) setLanguage(button.dataset.lang);
  });
  for (const type of ["pointerdown", "keydown"]) document.addEventListener(type, restartIdle, { passive: true });
  addEventListener("online", () => {
    attempt = 0;
    send();
  });
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") send();
  });
  // A page closed during a follow-up: the held tap goes as a timeout now (keepalive outlives the page), and is
  // written so in the outbox; should that write not finish, the next start releases it the same way.
  addEventListener("pagehide", () => {
    const held = state.held;
    if (!held) return;
    state.held = null;
    const tap = completed(held.tap, { timedOut: true });
    complete(held.id, { timedOut: true }).catch(() => {});
    fetch(held.url, { method: "POST", headers: HEADERS, body: batchBody(held.device, [tap]), credentials: "omit", keepalive: true }).catch(() => {});
  });

  async function keepOffline() {
    if (!("serviceWorker" in navigator)) return;
    try {
      await navigator.serviceWorker.register(data.worker, { scope: "/s/" });
      const registration = await navigator.serviceWorker.ready;
      const reply = new MessageChannel();
      const cached = new Promise((resolve) => (reply.port1.onmessage = (event) => resolve(event.data)));
      // Controlled by the worker, this visit went through it and refreshed the copy: it need not fetch again.
      const fetch = !navigator.serviceWorker.controller;
      registration.active.postMessage({ cache: location.pathname, fetch }, [reply.port2]);
      if (await cached) html.dataset.offline = "ready";
    } catch {
      /* no offline copy: the page works while online */
    }
  }

  if (kiosk) html.classList.add("kiosk");
  state.questions = customerQuestions(); // turn 0 until the device's turn is read
  charsLeft();
  show("ask", false);
  html.dataset.ready = "1";
  performance.mark("smilepost:ready");

  transact("readonly", (_, meta) => device(meta))
    .then((me) => {
      turn = me.turn;
      if (data.mode === "rotate" && state.screen === "ask" && !state.recording && !state.first) startCustomer(false);
    })
    .catch(() => {});
  releaseHolds()
    .catch(() => {})
    .then(send);
  if (document.readyState === "complete") keepOffline();
  else addEventListener("load", keepOffline);
})();
