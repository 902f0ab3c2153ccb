/* fivs service worker: the capture pages keep working with no connection.
 *
 * Served from /sw.js (scope "/"). The app shell (CSS, JS, icon) is cached at install and served
 * from the cache, refreshed in the background. Page loads go to the network first; the audit pages
 * (/audits/...) that were opened, or that offline-queue.js asks for (every zone of an opened audit),
 * are kept, and served from the cache when the network fails. Only GETs are touched: answers and
 * photos go through the IndexedDB queue of offline-queue.js, never through this worker.
 */
"use strict";

var VERSION = "fivs-v1";  // a new version drops the old caches at once (files are refreshed anyway)
var SHELL = VERSION + "-shell";
var PAGES = VERSION + "-pages";
var SHELL_FILES = [
  "/static/css/app.css",
  "/static/css/audits.css",
  "/static/css/offline.css",
  "/static/js/autosave.js",
  "/static/js/offline-queue.js",
  "/static/js/photo-upload.js",
  "/static/favicon.svg"
];

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(SHELL).then(function (cache) {
    return cache.addAll(SHELL_FILES);
  }).then(function () {
    return self.skipWaiting();
  }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (keys) {
    return Promise.all(keys.filter(function (key) {
      return key.indexOf(VERSION + "-") !== 0;
    }).map(function (key) {
      return caches.delete(key);
    }));
  }).then(function () {
    return self.clients.claim();
  }));
});

function isAuditPage(url) {
  return url.origin === self.location.origin && url.pathname.indexOf("/audits/") === 0;
}

function keepable(response) {
  return response && response.ok && response.type === "basic" && !response.redirected;
}

function storePage(url, response) {
  if (!keepable(response) || !isAuditPage(new URL(url, self.location.href))) {
    return Promise.resolve();
  }
  return caches.open(PAGES).then(function (cache) {
    return cache.put(url, response);
  });
}

function networkFirst(event) {
  return fetch(event.request).then(function (response) {
    event.waitUntil(storePage(event.request.url, response.clone()));
    return response;
  }, function (error) {
    return caches.match(event.request.url, {cacheName: PAGES}).then(function (cached) {
      if (cached) {
        return cached;
      }
      throw error;
    });
  });
}

function shellFirst(event) {
  return caches.match(event.request, {cacheName: SHELL}).then(function (cached) {
    var fresh = fetch(event.request).then(function (response) {
      if (keepable(response)) {
        var copy = response.clone();
        event.waitUntil(caches.open(SHELL).then(function (cache) {
          return cache.put(event.request, copy);
        }));
      }
      return response;
    });
    if (cached) {
      event.waitUntil(fresh.catch(function () {}));
      return cached;
    }
    return fresh;
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  var url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) {
    return;
  }
  if (request.mode === "navigate") {
    event.respondWith(networkFirst(event));
  } else if (url.pathname.indexOf("/static/") === 0) {
    event.respondWith(shellFirst(event));
  }
});

function keep(url, onlyMissing) {
  var kept = onlyMissing ? caches.match(url, {cacheName: PAGES}) : Promise.resolve(undefined);
  return kept.then(function (cached) {
    if (cached) {
      return undefined;
    }
    return fetch(url, {credentials: "same-origin"}).then(function (response) {
      return storePage(url, response);
    });
  }).catch(function () {});
}

/* Messages from the pages: {type: "cache", urls: [...], missing: bool} keeps those audit pages for
 * offline use (with `missing`, only those not kept yet); {type: "clear"} forgets every kept page
 * (on logout). */
self.addEventListener("message", function (event) {
  var data = event.data || {};
  if (data.type === "cache" && Array.isArray(data.urls)) {
    event.waitUntil(Promise.all(data.urls.map(function (url) {
      return keep(url, data.missing);
    })));
  } else if (data.type === "clear") {
    event.waitUntil(caches.delete(PAGES));
  }
});
