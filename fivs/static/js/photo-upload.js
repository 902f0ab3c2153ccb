/* fivs photo upload on the zone page: downsized on the tablet, sent through the offline queue.
 *
 * Enhances each photo form of photos/_forms.html (its file inputs sit in the item's fieldset and
 * belong to it through form="..."): instead of posting the form, each chosen photo is drawn on a
 * canvas and re-encoded as a JPEG of at most data-photo-max-px (the zone form's: FIVS_PHOTO_MAX_PX)
 * on its long edge at data-photo-quality, upright as the camera's EXIF orientation says
 * (createImageBitmap imageOrientation "from-image") and without any metadata (a canvas keeps none:
 * no EXIF, so no GPS), given a client UUID and put in the offline queue (offline-queue.js), which sends it to
 * POST /api/v1/audits/<uuid>/photos now or when the connection returns. Choosing a photo is enough:
 * its local thumbnail shows at once with the upload's progress, the server's thumbnail replaces it
 * once stored, and a photo the server refuses says why at the item (it leaves the queue). Without
 * JavaScript the Upload button (hidden here) posts the form, and the server runs its full pipeline
 * on whatever arrives either way. Removing a photo asks first.
 */
(function () {
  "use strict";

  var zoneForm = document.querySelector("form[data-autosave]");
  var queue = window.fivsQueue;
  if (!zoneForm || !queue || !window.createImageBitmap || !window.crypto || !crypto.randomUUID) {
    return;
  }
  var LONG_EDGE = parseInt(zoneForm.getAttribute("data-photo-max-px"), 10) || 1600;
  var QUALITY = (parseInt(zoneForm.getAttribute("data-photo-quality"), 10) || 80) / 100;
  var auditApi = zoneForm.getAttribute("data-autosave").replace(/\/answers$/, "");
  var room = zoneForm.getAttribute("data-room") || "";

  /* A JPEG no longer than LONG_EDGE, upright, without metadata: a smaller photo is re-encoded too
   * (its EXIF, GPS included, stays on the tablet). */
  function downsize(file) {
    return createImageBitmap(file, {imageOrientation: "from-image"}).then(function (bitmap) {
      var scale = Math.min(1, LONG_EDGE / Math.max(bitmap.width, bitmap.height));
      var canvas = document.createElement("canvas");
      canvas.width = Math.round(bitmap.width * scale);
      canvas.height = Math.round(bitmap.height * scale);
      canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
      bitmap.close();
      return new Promise(function (resolve) {
        canvas.toBlob(function (blob) { resolve(blob || file); }, "image/jpeg", QUALITY);
      });
    }, function () {
      return file; // not an image the browser can read: the server decides and explains
    });
  }

  /* form.elements: the controls inside the form and those tied to it with form="id" (the zone page
   * is one form, so its photo inputs sit in the item's fieldset and belong to a form after it). */
  function fieldValue(form, name) {
    var field = form.elements.namedItem(name);
    return field ? field.value : null;
  }

  function fileInputs(form) {
    return Array.prototype.filter.call(form.elements, function (el) { return el.type === "file"; });
  }

  function itemOf(form, input) {
    var owner = input.closest("[data-item]") || form.closest("[data-item]");
    return fieldValue(form, "item") || (owner ? owner.getAttribute("data-item") : "");
  }

  function say(form, message) {
    var box = fileInputs(form)[0].closest("[data-photos]");
    var status = (box || form).querySelector("[data-photo-status]");
    if (!status) {
      status = document.createElement("p");
      status.setAttribute("role", "status");
      status.setAttribute("data-photo-status", "");
      form.appendChild(status);
    }
    status.textContent = message;
  }

  /* The item's photo box and its list (made when the item has no photo yet). */
  function listOf(form) {
    var box = fileInputs(form)[0].closest("[data-photos]");
    var list = box && box.querySelector(".photo-list");
    if (box && !list) {
      list = document.createElement("ul");
      list.className = "photo-list";
      box.insertBefore(list, box.firstChild);
    }
    return list;
  }

  var shown = {};  // photo id -> its <li> on this page, from choosing it until the server answers

  function pendingItem(form, file, id) {
    var list = listOf(form);
    if (!list) {
      return null;
    }
    var box = list.closest("[data-photos]");
    var li = document.createElement("li");
    li.className = "photo-pending";
    li.setAttribute("data-pending-photo", id);
    var img = document.createElement("img");
    img.src = URL.createObjectURL(file);
    img.alt = box.getAttribute("data-local-alt") || "";
    img.onerror = function () { img.hidden = true; };  // not an image the browser can show
    var progress = document.createElement("progress");
    progress.max = 100;
    progress.value = 0;
    progress.setAttribute("aria-label", box.getAttribute("data-progress-label") || "");
    li.appendChild(img);
    li.appendChild(progress);
    list.appendChild(li);
    shown[id] = li;
    return li;
  }

  /* The server's thumbnail is fetched aside and swapped in once it has arrived, so the local preview
     stays until then (on a slow line there is never an empty frame); if it cannot be fetched, the
     preview stays: the photo is stored all the same. */
  function stored(li, photo) {
    var img = li.querySelector("img");
    var server = new Image();
    server.onload = function () {
      var local = img.src;
      img.onerror = null;
      img.hidden = false;
      img.src = server.src;
      if (photo.thumb_width && photo.thumb_height) {
        img.width = photo.thumb_width;
        img.height = photo.thumb_height;
      }
      if (local.indexOf("blob:") === 0) {
        URL.revokeObjectURL(local);
      }
      markStored(li, photo);
    };
    server.onerror = function () { markStored(li, photo); };
    server.src = photo.thumb_url;
  }

  function markStored(li, photo) {
    var box = li.closest("[data-photos]");
    var img = li.querySelector("img");
    img.alt = box.getAttribute("data-stored-alt") || "";
    li.className = "photo-stored";
    li.setAttribute("data-photo-id", photo.id);
    var progress = li.querySelector("progress");
    if (progress) {
      progress.remove();
    }
    var template = box.getAttribute("data-delete-url");
    if (template && document.getElementById("photo-remove")) {
      var remove = document.createElement("button");
      remove.type = "submit";
      remove.className = "link";
      remove.setAttribute("form", "photo-remove");
      remove.setAttribute("formaction", template.replace("PHOTO", photo.id));
      remove.setAttribute("data-confirm", box.getAttribute("data-confirm-remove") || "");
      remove.textContent = box.getAttribute("data-remove-label") || "";
      li.appendChild(remove);
    }
  }

  function refused(li, message) {
    li.className = "photo-refused";
    var progress = li.querySelector("progress");
    if (progress) {
      progress.remove();
    }
    var error = document.createElement("p");
    error.className = "photo-error";
    error.setAttribute("role", "alert");
    error.textContent = message;
    li.appendChild(error);
  }

  function enhance(form) {
    var inputs = fileInputs(form); // camera and gallery
    var bar = document.querySelector("[data-offline-bar]");
    Array.prototype.forEach.call(form.elements, function (el) {
      if (el.hasAttribute("data-nojs-upload")) {
        el.hidden = true;  // choosing a photo sends it
      }
    });

    function send(files) {
      if (!files.length) {
        return;
      }
      var formRoom = fieldValue(form, "zone_instance");
      var item = itemOf(form, inputs[0]);
      Promise.all(files.map(function (file) {
        var id = crypto.randomUUID();
        pendingItem(form, file, id);
        return downsize(file).then(function (blob) {
          return queue.putPhoto(auditApi, {id: id, item: item,
                                           zone_instance: formRoom === null ? room : formRoom,
                                           blob: blob, name: (file.name || "photo").replace(/\.\w+$/, "") + ".jpg"});
        });
      })).then(function () {
        inputs.forEach(function (input) { input.value = ""; });
        if (navigator.onLine === false) {
          say(form, bar.getAttribute("data-photo-queued"));
        }
        return queue.drain();
      });
    }

    function chosen() {
      return inputs.reduce(function (all, input) {
        return all.concat(Array.prototype.slice.call(input.files || []));
      }, []);
    }

    inputs.forEach(function (input) {
      input.addEventListener("change", function () { send(chosen()); });
    });
    form.addEventListener("submit", function (event) {
      var files = chosen();
      if (!files.length) {
        return; // the server explains that a photo is needed
      }
      event.preventDefault();
      send(files);
    });
  }

  var inputs = document.querySelectorAll("main form input[type=file]");
  var enhanced = [];
  for (var i = 0; i < inputs.length; i++) {
    var form = inputs[i].form;
    if (form && enhanced.indexOf(form) === -1 && /\/photos(\/|$|\?)/.test(form.getAttribute("action") || "")) {
      enhanced.push(form);
      enhance(form);
    }
  }

  /* Says message by the photo controls of the item the queued photo belongs to. */
  function sayForItem(record, message) {
    var forms = document.querySelectorAll("main form");
    for (var j = 0; j < forms.length; j++) {
      var input = fileInputs(forms[j])[0];
      if (input && itemOf(forms[j], input) === record.photo.item) {
        say(forms[j], message);
      }
    }
  }

  function barText(key) {
    return document.querySelector("[data-offline-bar]").getAttribute(key);
  }

  document.addEventListener("fivs:photo-saved", function (event) {
    var li = shown[event.detail.record.photo.id];
    if (li && event.detail.photo && event.detail.photo.thumb_url) {
      stored(li, event.detail.photo);
      delete shown[event.detail.record.photo.id];
    }
    sayForItem(event.detail.record, barText("data-photo-sent"));
  });

  /* Refused for good (not an image, too large...): the reason at the item; nothing stays queued. */
  document.addEventListener("fivs:photo-refused", function (event) {
    var li = shown[event.detail.record.photo.id];
    if (li) {
      refused(li, event.detail.message);
      delete shown[event.detail.record.photo.id];
    }
    sayForItem(event.detail.record, event.detail.message);
  });

  /* The upload's progress, by the item too (the offline bar shows it as well). */
  document.addEventListener("fivs:photo-progress", function (event) {
    var pct = Math.min(100, Math.round(100 * event.detail.loaded / (event.detail.total || 1)));
    var li = shown[event.detail.record.photo.id];
    var progress = li && li.querySelector("progress");
    if (progress) {
      progress.value = pct;
    }
    var lang = document.documentElement.getAttribute("lang") || "vi";
    sayForItem(event.detail.record, barText("data-sending-photo")
      .replace("{pct}", lang === "vi" ? pct + " %" : pct + "%"));
  });

  /* Removing a photo asks first. */
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("button[data-confirm]");
    if (button && !window.confirm(button.getAttribute("data-confirm"))) {
      event.preventDefault();
    }
  });
})();
