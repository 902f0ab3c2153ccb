/* fivs autosave: saves the answers of a zone form in batches, a few seconds after they are given.
 *
 * Answers given in a burst go in one request (slow mobile lines pay ~0.3 s and ~1.6 KB of headers
 * per request): a batch goes QUIET_MS after the last change, at the latest MAX_WAIT_MS after its
 * first, and at once when the user leaves the zone (a link, hiding or closing the page), presses
 * "Save" or "Send now", or chooses a photo (answers go before photos). Until it is confirmed, the
 * batch is kept on the tablet too (localStorage, written as each answer is given): a page closed
 * before its request came back puts it in the offline queue on the next page load.
 *
 * Progressive enhancement over the server-rendered form (which still saves the changed answers on
 * "Save" without JavaScript; its hidden base fields are kept current here). A changed answer is sent with PUT to the form's data-autosave URL
 * (/api/v1/audits/<id>/answers) as {"row_version": n, "answers": [{item, zone_instance, score, na,
 * note, base}]}, with the session cookie and the CSRF token from <meta name="csrf-token">. Each answer's
 * "base" is the answer as the server last confirmed it here: when a colleague saved other answers
 * meanwhile, the server saves ours on top of theirs; when they changed the same answer, it refuses
 * (409 answer_changed) and the item shows both, until Save keeps ours or the user chooses again. Changes that
 * could not be sent stay pending and go with the next change or the Save button. One request at a
 * time, so the row version always follows the server's. With no connection, or while older changes
 * still wait, answers go to the offline queue (offline-queue.js), which sends them when it can,
 * each with its "base": the answer as the server last confirmed it here, so that the queue can tell
 * a colleague's change made meanwhile from its own and show both instead of overwriting it.
 */
(function () {
  "use strict";

  var form = document.querySelector("form[data-autosave]");
  if (!form || !window.fetch || !window.JSON) {
    return;
  }
  var url = form.getAttribute("data-autosave");
  var room = form.getAttribute("data-room") || null;
  var version = form.querySelector("input[name=row_version]");
  var status = form.querySelector("[data-save-status]");
  var meta = document.querySelector('meta[name="csrf-token"]');
  var lang = document.documentElement.getAttribute("lang") || "vi";
  var offlineBar = document.querySelector("[data-offline-bar]");
  var me = offlineBar ? offlineBar.getAttribute("data-user") || "" : "";
  var QUIET_MS = 3000;     // a batch goes this long after the last answer given...
  var MAX_WAIT_MS = 20000; // ...and at the latest this long after its first
  var DRAFT_KEY = "fivs-draft:";
  var queue = window.fivsQueue || null;
  var auditApi = url.replace(/\/answers$/, "");
  var STATE_KEY = "fivs-audit:" + auditApi;
  DRAFT_KEY += auditApi + "|" + (room || "");

  var pending = {};       // item code -> true: changed here, not yet confirmed by the server
  var confirmed = {};     // item code -> the answer as the server last confirmed it (a queued answer's base)
  var batchTimer = null;  // the waiting batch's timer
  var batchSince = 0;     // when the waiting batch's first change was made
  var inFlight = null;    // the save under way (a promise), if any
  var sending = {};       // item code -> true: in the save under way
  var held = {};          // item code -> true: a colleague changed it meanwhile; sent again only by "Save"
  var halted = false;     // locked, or a conflict without bases: stop sending; "Save" posts the form
  var useForm = false;    // the API answered with an error we cannot handle: "Save" posts the form
  var posting = false;    // "Save" posts the form: the page is left on purpose
  var queuing = 0;        // answers being written to the offline queue (the page must not be left meanwhile)

  /* Same rule as fivs.scoring.format_pct: one decimal, half up on the shortest decimal
   * representation; vi "62,5 %", en "62.5%"; no value: "—". */
  function formatPct(pct, language) {
    if (pct === null || pct === undefined || typeof pct !== "number" || !isFinite(pct)) {
      return "—";
    }
    var digits = String(Math.abs(pct));
    var text;
    if (digits.indexOf("e") !== -1) {
      text = Math.abs(pct).toFixed(1);
    } else {
      var parts = digits.split(".");
      var fraction = (parts[1] || "") + "00";
      var tenths = parseInt(parts[0] + fraction.charAt(0), 10);
      if (fraction.charAt(1) >= "5") {
        tenths += 1;
      }
      text = Math.floor(tenths / 10) + "." + (tenths % 10);
    }
    if (pct < 0 && text !== "0.0") {
      text = "-" + text;
    }
    return language === "vi" ? text.replace(".", ",") + " %" : text + "%";
  }

  function setStatus(key, message) {
    status.textContent = message || status.getAttribute("data-" + key);
    status.classList.toggle("is-error", key !== "saved" && key !== "saving" && key !== "queued");
  }

  function fieldsetFor(code) {
    var sets = form.querySelectorAll("fieldset[data-item]");
    for (var i = 0; i < sets.length; i++) {
      if (sets[i].getAttribute("data-item") === code) {
        return sets[i];
      }
    }
    return null;
  }

  function answerFor(code) {
    var set = fieldsetFor(code);
    var checked = set.querySelector("input[type=radio]:checked");
    var choice = checked ? checked.value : "";
    var note = set.querySelector("textarea");
    return {
      item: code,
      zone_instance: room,
      score: choice === "" || choice === "na" ? null : parseInt(choice, 10),
      na: choice === "na",
      note: note ? note.value : ""
    };
  }

  function showItemError(code, message) {
    var set = fieldsetFor(code);
    if (!set) {
      return;
    }
    var p = set.querySelector("[data-js-error]");
    if (!message) {
      if (p) {
        p.parentNode.removeChild(p);
      }
      return;
    }
    if (!p) {
      p = document.createElement("p");
      p.className = "error";
      p.setAttribute("role", "alert");
      p.setAttribute("data-js-error", "");
      set.appendChild(p);
    }
    p.textContent = message;
  }

  function showScores(scores) {
    if (!scores || !scores.by_s) {
      return;
    }
    var cells = document.querySelectorAll("[data-score]");
    for (var i = 0; i < cells.length; i++) {
      var key = cells[i].getAttribute("data-score");
      cells[i].textContent = formatPct(key === "overall" ? scores.overall : scores.by_s[key], lang);
    }
  }

  function showProgress() {
    var counter = document.querySelector("[data-answered]");
    if (counter) {
      counter.textContent = String(form.querySelectorAll("fieldset[data-item] input[type=radio]:checked").length);
    }
  }

  function requeue(codes) {
    for (var i = 0; i < codes.length; i++) {
      pending[codes[i]] = true;
    }
  }

  function hasPending() {
    return Object.keys(pending).length > 0;
  }

  /* Returns true when the save worked and more changes may be sent at once. */
  function handle(code, data, codes) {
    var error = (data && data.error) || {};
    if (code === 200) {
      var othersSaved = data.row_version - parseInt(version.value, 10) > 1;
      remember(data);
      version.value = String(data.row_version);
      showScores(data.scores);
      for (var i = 0; i < codes.length; i++) {
        showItemError(codes[i], "");
      }
      setStatus(batchTimer ? "saving" : hasPending() ? "unsaved" : (Object.keys(held).length ? "changed" : "saved"));
      if (othersSaved) {
        showColleagues();
      }
      return true;
    }
    if (code === 409 && error.code === "answer_changed" && holdChanged(error.details, codes)) {
      return hasPending(); // the other answers go again at once, over the colleague's
    }
    if (code === 409) {
      halted = true;
      requeue(codes);
      setStatus("conflict", error.code === "locked" ? error.message : "");
      return false;
    }
    if (code === 422 && error.details && error.details.length) {
      for (var j = 0; j < error.details.length; j++) {
        var detail = error.details[j];
        showItemError(detail.item || codes[detail.index], detail.message);
      }
      setStatus("unsaved", error.message);
      return false;
    }
    useForm = true;
    requeue(codes);
    setStatus("unsaved", error.message ? status.getAttribute("data-unsaved") + ": " + error.message : "");
    return false;
  }

  /* A colleague saved other values for some of these answers meanwhile: show theirs beside each
   * (the user's choice stays on screen), take theirs as the new base and hold the item until "Save"
   * (keep mine) or a new choice. Returns false when none of them is on this page. */
  function holdChanged(details, codes) {
    var clashes = ((details && details.answers) || []).filter(function (c) {
      return (c.zone_instance || "") === (room || "") && fieldsetFor(c.item);
    });
    if (!clashes.length) {
      return false;
    }
    var clashed = {};
    clashes.forEach(function (c) {
      clashed[c.item] = held[c.item] = true;
      setConfirmed(c.item, c.theirs);
      showItemError(c.item, status.getAttribute("data-answer-changed")
        .replace("{theirs}", describe(c.theirs)).replace("{mine}", describe(c.yours)));
    });
    version.value = String(details.row_version);
    requeue(codes.filter(function (code) { return !clashed[code]; }));
    setStatus("changed");
    return true;
  }

  /* Someone else saved answers of this audit since this page was shown (the row version moved by
   * more than our own saves): show theirs here too, on every item the user has not changed. */
  function showColleagues() {
    fetch(auditApi, {credentials: "same-origin", headers: {"Accept": "application/json"}}).then(function (resp) {
      return resp.ok ? resp.json() : null;
    }).then(function (audit) {
      ((audit && audit.answers) || []).forEach(function (a) {
        if ((a.zone_instance || "") !== (room || "") || !fieldsetFor(a.item) || pending[a.item] || held[a.item]
            || !sameAnswer(answerFor(a.item), confirmed[a.item])) {
          return; // not on this page, or the user's own change: that one stays on screen
        }
        showAnswers([a]);
        setConfirmed(a.item, a);
      });
      showProgress();
    }, function () {});  // no connection: the page catches up on the next save or reload
  }

  function sameAnswer(a, b) {
    return !!b && a.score === b.score && !!a.na === !!b.na && (a.note || "") === (b.note || "");
  }

  function describe(answer) {
    var value = answer.na ? status.getAttribute("data-na")
      : (answer.score === null || answer.score === undefined ? status.getAttribute("data-not-scored") : String(answer.score));
    return answer.note ? value + " · " + answer.note : value;
  }

  function release(code) {
    if (held[code]) {
      delete held[code];
      showItemError(code, "");
    }
  }

  function toQueue(codes) {
    var bases = codes.map(function (code) { return confirmed[code] || null; });
    return queue.putAnswers(auditApi, codes.map(answerFor), bases).then(function () {
      setStatus("queued");
    }, function () {
      requeue(codes);
      setStatus("offline");
    });
  }

  /* Sends the changes now (the waiting batch goes); resolves when the save is answered or queued.
   * keepalive: the page is being left; the request outlives it (its draft stays, see the top). */
  function send(keepalive) {
    clearTimeout(batchTimer);
    batchTimer = null;
    batchSince = 0;
    var codes = Object.keys(pending);
    if (inFlight) {
      return inFlight;  // the changes meanwhile go when it is answered
    }
    if (halted || codes.length === 0) {
      keepDraft();
      return Promise.resolve();
    }
    if (queue && (navigator.onLine === false || queue.waiting() > 0)) {
      pending = {};
      queuing += 1;
      return toQueue(codes).then(function () {
        queuing -= 1;
        keepDraft();
        return queue.drain();
      });
    }
    pending = {};
    sending = {};
    codes.forEach(function (code) { sending[code] = true; });
    setStatus("saving");
    var answers = codes.map(answerFor);
    var body = JSON.stringify({row_version: parseInt(version.value, 10), answers: answers.map(function (a) {
      return Object.assign({base: confirmed[a.item] || null}, a);
    })});
    inFlight = fetch(url, {
      method: "PUT",
      credentials: "same-origin",
      keepalive: keepalive === true,
      referrerPolicy: "no-referrer",  // the API needs no Referer: ~100 bytes less per save
      // return=minimal: the new row version and scores, not every answer again (slow lines).
      headers: {"Content-Type": "application/json", "Accept": "application/json", "Prefer": "return=minimal",
                "X-CSRFToken": meta ? meta.getAttribute("content") : ""},
      body: body
    }).then(function (resp) {
      return resp.json().catch(function () { return {}; }).then(function (data) {
        if (resp.status === 200) {
          confirmAnswers(answers);
        }
        return handle(resp.status, data, codes);
      });
    }, function () {
      if (queue) {  // the connection dropped: the queue keeps the answers and retries (no "online" comes)
        queuing += 1;
        return toQueue(codes).then(function () {
          queuing -= 1;
          queue.drain();
          return false;
        });
      }
      requeue(codes);
      setStatus("offline");
      return false;
    }).then(function (again) {
      inFlight = null;
      sending = {};
      keepDraft();
      showProgress();
      if (again && !batchTimer) {  // changes made meanwhile wait for their own batch's timer
        return send();
      }
    });
    return inFlight;
  }

  /* A change: the batch goes QUIET_MS after it, or at MAX_WAIT_MS after the batch's first change.
   * Offline, or while older changes wait in the queue, it goes to the queue at once. */
  function later() {
    keepDraft();
    if (queue && (navigator.onLine === false || queue.waiting() > 0)) {
      send();
      return;
    }
    setStatus("saving");
    batchSince = batchSince || Date.now();
    clearTimeout(batchTimer);
    batchTimer = setTimeout(send, Math.max(0, Math.min(QUIET_MS, batchSince + MAX_WAIT_MS - Date.now())));
  }

  /* The changes not confirmed yet (waiting for their batch, or under way), kept on the tablet
   * (with each one's base) until the server confirmed them or the offline queue holds them. */
  function keepDraft() {
    var codes = Object.keys(pending).concat(Object.keys(sending).filter(function (c) { return !pending[c]; }));
    try {
      if (codes.length) {
        localStorage.setItem(DRAFT_KEY, JSON.stringify({user: me, answers: codes.map(answerFor),
          bases: codes.map(function (code) { return confirmed[code] || null; })}));
      } else {
        localStorage.removeItem(DRAFT_KEY);
      }
    } catch (e) {
      // storage full or disabled: the batch is only in this page until sent
    }
  }

  function itemCode(target) {
    if (target.form !== form) {
      return null; // a photo input inside the item belongs to its own form (photo-upload.js)
    }
    var set = target.closest ? target.closest("fieldset[data-item]") : null;
    return set ? set.getAttribute("data-item") : null;
  }

  form.addEventListener("change", function (event) {
    var code = itemCode(event.target);
    if (!code || event.target.type === "file") { // a photo: photo-upload.js sends it
      return;
    }
    release(code);
    pending[code] = true;
    showProgress();
    later();
  });

  form.addEventListener("input", function (event) {
    var code = itemCode(event.target);
    if (!code || event.target.tagName !== "TEXTAREA") {
      return;
    }
    release(code);
    pending[code] = true;
    later();
  });

  /* The waiting batch goes at once when the user leaves the zone, sends the queue or takes a photo. */
  function flushThen(go) {
    send().then(go, go);
  }

  document.addEventListener("click", function (event) {
    var link = event.target.closest ? event.target.closest("a[href]") : null;
    if (link && (hasPending() || inFlight) && !halted && !useForm && event.button === 0 &&
        !(event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) && !link.target &&
        link.origin === location.origin && !event.defaultPrevented &&
        !(link.hash && link.pathname === location.pathname && link.search === location.search)) {
      event.preventDefault();
      flushThen(function () { location.assign(link.href); });
    }
  });
  document.addEventListener("click", function (event) {
    if (event.target.closest && event.target.closest("[data-offline-send]")) {
      send();
    }
  }, true);
  document.addEventListener("change", function (event) {  // a photo chosen: the answers go first
    if (event.target.type === "file") {
      send();
    }
  }, true);
  document.addEventListener("submit", function (event) {  // another form of the page (a photo's, a room's)
    if (event.target !== form) {
      send();
    }
  }, true);
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") {
      send(true);
    }
  });
  window.addEventListener("pagehide", function () {
    send(true);
  });

  /* "Next zone": the answers are saved (or queued) first, then the next page opens; a conflict or an
   * error keeps the user here, where the status says why. */
  function leaveWhenSaved(href, tries) {
    if (halted || useForm || Object.keys(held).length) {
      return;
    }
    if (!inFlight && !hasPending() && queuing === 0) {
      posting = true;
      window.location.href = href;
    } else if (tries < 300) {
      setTimeout(function () { leaveWhenSaved(href, tries + 1); }, 100);
    }
  }

  form.addEventListener("submit", function (event) {
    var next = event.submitter && event.submitter.getAttribute("data-next");
    if (next && !halted && !useForm) {
      event.preventDefault();
      send();
      leaveWhenSaved(next, 0);
      return;
    }
    if (queue && navigator.onLine === false) {
      event.preventDefault(); // every answer is already waiting in the queue
      send();
      return;
    }
    Object.keys(held).forEach(function (code) { // "Save": keep mine over what the colleague saved
      release(code);
      pending[code] = true;
    });
    if (halted || useForm || (!hasPending() && !inFlight)) {
      posting = true;
      return; // a normal form post: the server saves, or shows the conflict with both values
    }
    event.preventDefault();
    send();
  });

  /* Leaving the page while an answer is held beside a colleague's, or waits for "Save" (locked,
   * or a conflict the form must show), would lose the user's choice from the screen: the browser
   * asks first. Answers in the offline queue are kept on the tablet and need no question. */
  window.addEventListener("beforeunload", function (event) {
    if (posting || !(Object.keys(held).length || (hasPending() && (halted || useForm)))) {
      return;
    }
    event.preventDefault();
    event.returnValue = "";  // older browsers ask only when this is set
  });

  /* The queue saved answers of this audit: follow the server's row version and scores. */
  document.addEventListener("fivs:queue-saved", function (event) {
    if (auditApi.slice(-event.detail.id.length) === event.detail.id) {
      confirmAnswers((event.detail.answers || []).filter(function (a) { return (a.zone_instance || "") === (room || ""); }));
      remember(event.detail);
      version.value = String(event.detail.row_version);
      showScores(event.detail.scores);
      setStatus(batchTimer ? "saving" : hasPending() ? "unsaved" : "saved");
    }
  });

  /* The audit as the server last confirmed it is kept on the tablet (localStorage): a page served
   * by the service worker's cache may be older than the answers saved since. */
  function remember(data) {
    var answers = data.answers || [];
    if (!data.zone_instances) {
      // A short answer (Prefer: return=minimal) holds only the answers just saved: add them to the ones
      // remembered before, replacing the same item and room.
      var before = readState();
      var merged = {};
      var order = [];
      ((before && before.answers) || []).concat(answers).forEach(function (a) {
        var key = a.item + "\u0000" + (a.zone_instance || "");
        if (!(key in merged)) {
          order.push(key);
        }
        merged[key] = a;
      });
      answers = order.map(function (key) { return merged[key]; });
    }
    try {
      localStorage.setItem(STATE_KEY, JSON.stringify({row_version: data.row_version, scores: data.scores,
                                                      answers: answers}));
    } catch (e) {
      // storage full or disabled: pages from the cache may then show older answers
    }
  }

  function readState() {
    try {
      return JSON.parse(localStorage.getItem(STATE_KEY));
    } catch (e) {
      return null;
    }
  }

  function recall() {
    var saved = readState();
    if (saved && saved.row_version > parseInt(version.value, 10)) {
      version.value = String(saved.row_version);
      showScores(saved.scores);
      var here = saved.answers.filter(function (a) { return (a.zone_instance || "") === (room || ""); });
      showAnswers(here);
      confirmAnswers(here);
    }
  }

  function showAnswers(answers) {
    answers.forEach(function (answer) {
      var set = fieldsetFor(answer.item);
      if (!set) {
        return;
      }
      var value = answer.na ? "na" : (answer.score === null ? "" : String(answer.score));
      var radios = set.querySelectorAll("input[type=radio]");
      for (var i = 0; i < radios.length; i++) {
        radios[i].checked = radios[i].value === value;
      }
      var note = set.querySelector("textarea");
      if (note) {
        note.value = answer.note || "";
      }
    });
    showProgress();
  }

  /* Then the answers still waiting in the offline queue go on top. */
  function showQueued(answers) {
    showAnswers(answers);
    if (answers.length) {
      setStatus("queued");
    }
  }

  function confirmAnswers(answers) {
    answers.forEach(function (a) {
      setConfirmed(a.item, a);
    });
  }

  /* The answer as the server confirmed it, here and in the form's base fields (for "Save"). */
  function setConfirmed(code, answer) {
    confirmed[code] = {score: answer.score === undefined ? null : answer.score, na: !!answer.na, note: answer.note || ""};
    var base = baseFields(code);
    if (base) {
      base.choice.value = confirmed[code].na ? "na" : (confirmed[code].score === null ? "" : String(confirmed[code].score));
      base.note.value = confirmed[code].note;
    }
  }

  function baseFields(code) {
    var choice = form.querySelector('input[name="base-' + code + '"]');
    var note = form.querySelector('input[name="base-note-' + code + '"]');
    return choice && note ? {choice: choice, note: note} : null;
  }

  /* The server's answers as the page was served: its base fields (a page re-shown after a refused
   * save shows the user's inputs, and the server's answers only there). */
  function confirmServed() {
    Array.prototype.forEach.call(form.querySelectorAll("fieldset[data-item]"), function (set) {
      var code = set.getAttribute("data-item");
      var base = baseFields(code);
      setConfirmed(code, !base ? answerFor(code) : {
        score: /^[0-9]$/.test(base.choice.value) ? parseInt(base.choice.value, 10) : null,
        na: base.choice.value === "na", note: base.note.value});
    });
  }

  /* A batch a page left behind unconfirmed (closed before its answer came): into the offline queue,
   * which sends it with its bases (and drops what the server holds already). */
  function recoverDraft() {
    var draft = null;
    try {
      draft = JSON.parse(localStorage.getItem(DRAFT_KEY));
    } catch (e) {
      draft = null;
    }
    if (!queue || !draft || draft.user !== me || !draft.answers || !draft.answers.length) {
      return Promise.resolve();
    }
    return queue.putAnswers(auditApi, draft.answers, draft.bases).then(function () {
      localStorage.removeItem(DRAFT_KEY);
      queue.drain();
    }, function () {});
  }

  setStatus("saved");
  confirmServed();
  recall();  // newer answers kept on this tablet (a page from the cache), before queued answers go on top
  if (queue) {
    recoverDraft().then(function () {
      return queue.queuedAnswers(auditApi, room);
    }).then(showQueued);
  }
})();
