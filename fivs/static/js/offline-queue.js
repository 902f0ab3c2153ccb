/* fivs offline queue: answers and photos made with no connection wait in IndexedDB and are sent
 * through the API when the connection returns ("online"), on "Send now", and on every page load.
 *
 * Records: {key, kind: "answer"|"photo", user, audit: "/api/v1/audits/<uuid>", at, answer|photo}.
 * An answer's key is its user, audit, item and room, so a newer answer replaces the queued one; a
 * photo's key is its client UUID, so a retry is a replay the server recognises. A record belongs to
 * the user who made it (a tablet is shared): it is shown, sent and discarded only while that user
 * is logged in, never with someone else's session. A record leaves the queue only
 * after a 2xx from the server, or a photo's 410 (someone deleted it meanwhile: said in the bar). Queued answers are sent with the audit's current row_version (read
 * first with GET); a 409 is shown with both values and nothing is overwritten.
 * An answer record also keeps its "base": the answer as the server had confirmed it when the user
 * changed it (autosave.js; the first change's base when a newer answer replaces a queued one). If
 * the server's answer is no longer the base (a colleague saved another value meanwhile) the record
 * is not sent: both values are shown, and the record remembers the server's value it was shown
 * ("seen"). "Send now" then keeps the user's value over exactly that one; discarding keeps the
 * server's. Other records of the same audit are sent, each with its base, so that a colleague's
 * save landing between the read and the write refuses only an answer they changed, not the batch.
 * A record whose answer the server holds already (read first, as above) is not sent again: its save
 * landed and only the response was lost on the way back; it leaves the queue.
 * A dropped connection (the request fails on the network, not refused by the server) leaves the
 * record queued and retries it with backoff (1 s, doubling to 30 s at most) while the bar says so
 * ("retrying"); a photo is sent with XMLHttpRequest so that its upload's progress shows. Waiting
 * answers always go before waiting photos, so the scores are safe first; the bar counts both, and
 * on a zone page every item with something waiting is marked.
 * Also registers the service worker (sw.js) and asks it to keep the opened audit's pages.
 */
(function () {
  "use strict";

  var bar = document.querySelector("[data-offline-bar]");
  if (!bar || !window.indexedDB || !window.fetch || !window.Promise) {
    return;
  }
  var STORE = "queue";
  var count = bar.querySelector("[data-offline-count]");
  var conflictBox = bar.querySelector("[data-offline-conflict]");
  var discardButton = bar.querySelector("[data-offline-discard]");
  var retryBox = bar.querySelector("[data-offline-retry]");
  var progressBox = bar.querySelector("[data-offline-progress]");
  var zoneForm = document.querySelector("form[data-autosave]");
  var RETRY_FIRST_MS = 1000;
  var RETRY_MAX_MS = 30000;
  var dbPromise = null;
  var draining = null;
  var waiting = 0;
  var retryDelay = 0;     // the last wait before a retry; 0: the last attempt did not fail on the network
  var retryTimer = null;

  function text(name) {
    return bar.getAttribute("data-" + name) || "";
  }

  function openDb() {
    if (!dbPromise) {
      dbPromise = new Promise(function (resolve, reject) {
        var req = indexedDB.open("fivs-offline", 1);
        req.onupgradeneeded = function () {
          req.result.createObjectStore(STORE, {keyPath: "key"});
        };
        req.onsuccess = function () { resolve(req.result); };
        req.onerror = function () { reject(req.error); };
      });
    }
    return dbPromise;
  }

  /* Runs fn(store) in one transaction; resolves with fn's request result once it commits. */
  function withStore(mode, fn) {
    return openDb().then(function (db) {
      return new Promise(function (resolve, reject) {
        var tx = db.transaction(STORE, mode);
        var req = fn(tx.objectStore(STORE));
        tx.oncomplete = function () { resolve(req ? req.result : undefined); };
        tx.onerror = tx.onabort = function () { reject(tx.error); };
      });
    });
  }

  var me = text("user");

  /* The logged-in user's records (records from before users were kept count as anyone's). */
  function all() {
    return withStore("readonly", function (store) { return store.getAll(); }).then(function (records) {
      return records.filter(function (record) { return (record.user || me) === me; });
    });
  }

  /* In one transaction, fn(store, stored) for each record still as it was read: not replaced by a
   * newer answer since (while it was being sent). */
  function withUnchanged(records, fn) {
    return withStore("readwrite", function (store) {
      records.forEach(function (record) {
        store.get(record.key).onsuccess = function (event) {
          var now = event.target.result;
          if (now && now.at === record.at) {
            fn(store, now);
          }
        };
      });
      return null;
    });
  }

  function remove(records) {
    return withUnchanged(records, function (store, stored) { store.delete(stored.key); });
  }

  function csrfHeaders(extra) {
    var headers = extra || {};
    headers["Accept"] = "application/json";
    headers["X-CSRFToken"] = text("csrf");
    return headers;
  }

  /* The request failed on the way (dropped connection, no answer): retried, unlike a refusal. */
  function networkFailure() {
    var error = new Error("network");
    error.network = true;
    throw error;
  }

  function readJson(resp) {
    return resp.json().catch(function () { return {}; }).then(function (data) {
      return {status: resp.status, ok: resp.ok, data: data};
    });
  }

  // ------------------------------------------------------------ the bar
  function showCount() {
    return all().then(function (records) {
      waiting = records.length;
      count.textContent = text("waiting").replace("{n}", String(waiting));
      bar.hidden = records.length === 0 && conflictBox.hidden;
      markWaitingItems(records);
      return records;
    });
  }

  /* On a zone page: each item of this zone and room with an answer or a photo still waiting says so. */
  function markWaitingItems(records) {
    if (!zoneForm) {
      return;
    }
    var audit = zoneForm.getAttribute("data-autosave").replace(/\/answers$/, "");
    var room = zoneForm.getAttribute("data-room") || "";
    var items = {};
    records.forEach(function (record) {
      var change = record.kind === "answer" ? record.answer : record.photo;
      if (record.audit === audit && change && (change.zone_instance || "") === room && change.item) {
        items[change.item] = true;
      }
    });
    Array.prototype.forEach.call(zoneForm.querySelectorAll("fieldset[data-item]"), function (set) {
      var mark = set.querySelector("[data-waiting-mark]");
      var isWaiting = items[set.getAttribute("data-item")] === true;
      set.classList.toggle("is-waiting", isWaiting);
      if (isWaiting && !mark) {
        mark = document.createElement("span");
        mark.className = "badge waiting-mark";
        mark.setAttribute("data-waiting-mark", "");
        mark.textContent = text("item-waiting");
        set.querySelector(".item-meta").appendChild(mark);
      } else if (!isWaiting && mark) {
        mark.parentNode.removeChild(mark);
      }
    });
  }

  function showRetrying(on) {
    retryBox.hidden = !on;
    retryBox.textContent = on ? text("retrying") : "";
  }

  function showProgress(loaded, total) {
    progressBox.hidden = total === null;
    if (total !== null) {
      var pct = String(Math.min(100, Math.round(100 * loaded / (total || 1))));
      var lang = document.documentElement.getAttribute("lang") || "vi";
      progressBox.textContent = text("sending-photo").replace("{pct}", lang === "vi" ? pct + " %" : pct + "%");
    }
  }

  /* After a failure on the network: the next attempt after a wait twice as long as the last one. */
  function scheduleRetry() {
    retryDelay = retryDelay ? Math.min(retryDelay * 2, RETRY_MAX_MS) : RETRY_FIRST_MS;
    showRetrying(true);
    clearTimeout(retryTimer);
    retryTimer = setTimeout(function () {
      retryTimer = null;
      drain();
    }, retryDelay);
  }

  /* A refused change stays queued: the user may discard the waiting changes (unless nothing waits: dropped). */
  function showProblem(message, dropped) {
    bar.querySelector("[data-offline-problem]").textContent = message || "";
    discardButton.hidden = !message || dropped === true;
  }

  function valueText(answer) {
    if (!answer || (answer.score === null && !answer.na)) {
      return text("not-scored");
    }
    return answer.na ? text("na") : String(answer.score);
  }

  function showConflict(records, error) {
    var list = conflictBox.querySelector("ul");
    var server = (error.details && error.details.audit && error.details.audit.answers) || [];
    list.textContent = "";
    conflictBox.querySelector("[data-offline-conflict-message]").textContent = error.message || "";
    records.forEach(function (record) {
      var mine = record.answer;
      var theirs = null;
      server.forEach(function (a) {
        if (a.item === mine.item && (a.zone_instance || null) === (mine.zone_instance || null)) {
          theirs = a;
        }
      });
      var li = document.createElement("li");
      li.textContent = text("conflict-line")
        .replace("{item}", mine.item + (mine.zone_instance ? " · " + mine.zone_instance : ""))
        .replace("{mine}", valueText(mine))
        .replace("{theirs}", valueText(theirs));
      list.appendChild(li);
    });
    conflictBox.hidden = false;
    discardButton.hidden = false;
    bar.hidden = false;
  }

  // ------------------------------------------------------------ sending
  function answerKey(answer) {
    return answer.item + "\u0000" + (answer.zone_instance || "");
  }

  /* Same score, N/A and note (no answer: not scored, no note). */
  function sameAnswer(a, b) {
    function state(x) {
      x = x || {};
      return [x.score, !!x.na, x.note || ""].join("\u0000");  // null and undefined scores alike: ""
    }
    return state(a) === state(b);
  }

  /* The server's answers by item and room. */
  function answersByKey(server) {
    var current = {};
    ((server && server.answers) || []).forEach(function (a) { current[answerKey(a)] = a; });
    return current;
  }

  /* Records whose answer a colleague changed since their base (see the top), unless the user chose
   * to keep theirs over the value they were shown ("Send now": forced). */
  function changedMeanwhile(records, current, forced) {
    return records.filter(function (r) {
      var theirs = current[answerKey(r.answer)] || null;
      return !!r.base && !sameAnswer(theirs, r.base) && !sameAnswer(theirs, r.answer) &&
        !(forced && r.seen !== undefined && sameAnswer(theirs, r.seen));
    });
  }

  /* The answer with the base the server checks should a colleague save between the read above and
   * this write: the value the user was shown and chose to keep theirs over ("Send now"), else the
   * queued base (none for records queued without one: then any save meanwhile refuses them). */
  function withBase(record, forced) {
    if (forced && record.seen !== undefined) {
      return Object.assign({base: record.seen}, record.answer);
    }
    return record.base ? Object.assign({base: record.base}, record.answer) : record.answer;
  }

  /* The server's values the user was shown for these records. */
  function markSeen(records, current) {
    return withUnchanged(records, function (store, stored) {
      stored.seen = current[answerKey(stored.answer)] || null;
      store.put(stored);
    });
  }

  function sendAnswers(audit, records, forced) {
    var server = null;
    var clashes = [];
    var sending = records;
    var there = [];  // records whose answer the server holds already (their save landed, its answer was lost)
    return fetch(audit, {credentials: "same-origin", referrerPolicy: "no-referrer", headers: csrfHeaders()}).then(readJson, networkFailure).then(function (got) {
      if (!got.ok) {
        return got;
      }
      server = got.data;
      var current = answersByKey(server);
      there = records.filter(function (r) { return sameAnswer(current[answerKey(r.answer)], r.answer); });
      var rest = records.filter(function (r) { return there.indexOf(r) === -1; });
      clashes = changedMeanwhile(rest, current, forced);
      sending = rest.filter(function (r) { return clashes.indexOf(r) === -1; });
      if (!sending.length) {  // nothing to send again: the page follows the audit as read
        return {ok: true, status: 200, data: there.length ? server : null};
      }
      return fetch(audit + "/answers", {
        method: "PUT",
        credentials: "same-origin",
        referrerPolicy: "no-referrer",  // the API needs no Referer
        headers: csrfHeaders({"Content-Type": "application/json", "Prefer": "return=minimal"}),
        body: JSON.stringify({row_version: got.data.row_version,
                              answers: sending.map(function (r) { return withBase(r, forced); })})
      }).then(readJson, networkFailure);
    }).then(function (result) {
      if (result.ok) {
        if (result.data) {
          document.dispatchEvent(new CustomEvent("fivs:queue-saved", {detail: result.data}));
        }
        return remove(sending.concat(there)).then(function () {
          if (clashes.length) {
            return markSeen(clashes, answersByKey(server)).then(function () {
              showConflict(clashes, {message: text("changed-meanwhile"), details: {audit: server}});
              throw new Error("refused");
            });
          }
        });
      }
      var error = (result.data && result.data.error) || {};
      if (result.status === 409) {
        showConflict(records, error);
      } else {
        showProblem(error.message || text("failed"));
      }
      throw new Error("refused");
    });
  }

  function sendPhoto(record) {
    var photo = record.photo;
    var body = new FormData();
    body.append("id", photo.id);
    body.append("item", photo.item || "");
    body.append("zone_instance", photo.zone_instance || "");
    body.append("file", photo.blob, photo.name || "photo.jpg");
    return upload(record.audit + "/photos", body, function (loaded, total) {
      showProgress(loaded, total);
      document.dispatchEvent(new CustomEvent("fivs:photo-progress",
                                             {detail: {record: record, loaded: loaded, total: total}}));
    }).then(function (result) {
      showProgress(0, null);
      return result;
    }, function (error) {
      showProgress(0, null);
      throw error;
    }).then(function (result) {
      if (result.ok) {
        document.dispatchEvent(new CustomEvent("fivs:photo-saved", {detail: {record: record, photo: result.data}}));
        return remove([record]);
      }
      if (result.status === 410) {  // deleted on the server meanwhile: the deletion stands, the retry goes
        return remove([record]).then(function () {
          showProblem(text("photo-deleted"), true);
        });
      }
      var message = (result.data.error && result.data.error.message) || text("failed");
      if (result.status >= 400 && result.status < 500 && [401, 408, 429].indexOf(result.status) === -1) {
        // refused for good (not an image, too large, the audit locked...): sending it again cannot
        // help, so it leaves the queue and the item says why (photo-upload.js)
        return remove([record]).then(function () {
          document.dispatchEvent(new CustomEvent("fivs:photo-refused",
                                                 {detail: {record: record, message: message, status: result.status}}));
        });
      }
      showProblem(message);
      throw new Error("refused");
    });
  }

  /* POST with the upload's progress (fetch has none): {status, ok, data} as readJson gives. */
  function upload(url, body, onProgress) {
    return new Promise(function (resolve, reject) {
      var xhr = new XMLHttpRequest();
      var headers = csrfHeaders();
      xhr.open("POST", url);
      Object.keys(headers).forEach(function (name) { xhr.setRequestHeader(name, headers[name]); });
      xhr.upload.onprogress = function (event) {
        if (event.lengthComputable) {
          onProgress(event.loaded, event.total);
        }
      };
      xhr.onload = function () {
        var data = {};
        try {
          data = JSON.parse(xhr.responseText) || {};
        } catch (e) {
          data = {};
        }
        resolve({status: xhr.status, ok: xhr.status >= 200 && xhr.status < 300, data: data});
      };
      xhr.onerror = xhr.ontimeout = xhr.onabort = function () {
        try {
          networkFailure();
        } catch (error) {
          reject(error);
        }
      };
      xhr.send(body);
    });
  }

  /* Sends everything queued, audit by audit, answers before photos; stops at the first failure.
   * forced: the user pressed "Send now" (keeps their answers over the server's values shown). */
  function drain(forced) {
    forced = forced === true;
    if (draining) {
      return draining;
    }
    clearTimeout(retryTimer);
    retryTimer = null;
    if (navigator.onLine === false) {
      showRetrying(false);  // "online" sends again
      return showCount();
    }
    draining = all().then(function (records) {
      if (records.length) {  // a new attempt: the last one's notices go (with nothing to send they stay)
        conflictBox.hidden = true;
        showProblem("");
      }
      var answers = {};
      var photos = [];
      records.forEach(function (record) {
        if (record.kind === "answer") {
          (answers[record.audit] = answers[record.audit] || []).push(record);
        } else {
          photos.push(record);
        }
      });
      var chain = Promise.resolve();
      Object.keys(answers).forEach(function (audit) {
        chain = chain.then(function () { return sendAnswers(audit, answers[audit], forced); });
      });
      photos.forEach(function (record) {
        chain = chain.then(function () { return sendPhoto(record); });
      });
      return chain;
    }).then(function () {
      retryDelay = 0;
      showRetrying(false);
      return true;
    }, function (error) {
      // a refused record stays queued (shown above); one that failed on the network is retried
      if (error && error.network) {
        scheduleRetry();
      } else {
        retryDelay = 0;
        showRetrying(false);
      }
    }).then(function (sent) {
      draining = null;
      return showCount().then(function (records) {
        // what was queued while this went (an answer given during a photo's upload) goes now too
        return sent === true && records.length ? drain(forced) : records;
      });
    });
    return draining;
  }

  // ------------------------------------------------------------ what other scripts use
  /* bases[i]: the answer as the server last confirmed it (autosave.js); kept from the queued
   * record when a newer answer replaces it. */
  function putAnswers(audit, answers, bases) {
    var at = Date.now();
    return withStore("readwrite", function (store) {
      answers.forEach(function (answer, i) {
        var record = {key: ["answer", me, audit, answer.item, answer.zone_instance || ""].join("|"),
                      kind: "answer", user: me, audit: audit, at: at, answer: answer};
        store.get(record.key).onsuccess = function (event) {
          var queued = event.target.result;
          var base = queued ? queued.base : (bases && bases[i]);
          if (base) {
            record.base = base;
          }
          if (queued && queued.seen !== undefined) {
            record.seen = queued.seen;
          }
          store.put(record);
        };
      });
      return null;
    }).then(showCount);
  }

  function putPhoto(audit, photo) {
    return withStore("readwrite", function (store) {
      return store.put({key: "photo|" + photo.id, kind: "photo", user: me, audit: audit, at: Date.now(),
                        photo: photo});
    }).then(showCount);
  }

  function queuedAnswers(audit, room) {
    return all().then(function (records) {
      return records.filter(function (r) {
        return r.kind === "answer" && r.audit === audit && (r.answer.zone_instance || "") === (room || "");
      }).map(function (r) { return r.answer; });
    });
  }

  function discard() {
    return all().then(function (records) {
      return withStore("readwrite", function (store) {
        records.forEach(function (record) { store.delete(record.key); });
        return null;
      });
    }).then(function () {
      conflictBox.hidden = true;
      showProblem("");
      return showCount();
    });
  }

  window.fivsQueue = {putAnswers: putAnswers, putPhoto: putPhoto, drain: drain, queuedAnswers: queuedAnswers,
                      waiting: function () { return waiting; }};

  bar.querySelector("[data-offline-send]").addEventListener("click", function () { drain(true); });
  discardButton.addEventListener("click", discard);
  window.addEventListener("online", drain);
  window.addEventListener("offline", showCount);

  // ------------------------------------------------------------ service worker
  /* The zones linked from this page are kept if not kept yet; this page itself is kept (again) when
   * the user leaves it, so its cached copy holds the answers given on it. */
  function keepPages(worker) {
    var urls = [];
    var links = document.querySelectorAll("main a[href*='/zones/'], main .zone-nav a");
    for (var i = 0; i < links.length; i++) {
      urls.push(links[i].href.split("#")[0]);
    }
    worker.postMessage({type: "cache", urls: urls, missing: true});
    window.addEventListener("pagehide", function () {
      if (navigator.onLine !== false) {
        worker.postMessage({type: "cache", urls: [location.href]});
      }
    });
  }

  if ("serviceWorker" in navigator && bar.getAttribute("data-sw")) {
    navigator.serviceWorker.register(bar.getAttribute("data-sw"), {scope: "/"}).then(function () {
      return navigator.serviceWorker.ready;
    }).then(function (registration) {
      if (navigator.onLine !== false && location.pathname.indexOf("/audits/") === 0) {
        keepPages(registration.active);
      }
    }).catch(function () {});
  }

  /* Logging out forgets the kept pages and the audits' last known state (autosave.js). */
  var logout = document.querySelector("form[action$='/logout']");
  if (logout) {
    logout.addEventListener("submit", function () {
      if (navigator.serviceWorker && navigator.serviceWorker.controller) {
        navigator.serviceWorker.controller.postMessage({type: "clear"});
      }
      Object.keys(localStorage).forEach(function (key) {
        if (key.indexOf("fivs-audit:") === 0) {
          localStorage.removeItem(key);
        }
      });
    });
  }

  drain();
})();
