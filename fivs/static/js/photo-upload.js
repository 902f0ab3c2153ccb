/* fivs photo upload on the zone page: downsized on the tablet, sent through the offline queue.
 *
 * Enhances each photo form of photos/_forms.html (its file inputs sit in the item's fieldset and
 * belong to it through form="..."): instead of posting the form, each chosen photo is drawn on a
 * canvas and re-encoded as a JPEG of at most data-photo-max-px (the zone form's: FIVS_PHOTO_MAX_PX)
 * on its long edge at data-photo-quality, upright as the camera's EXIF orientation says
 * (createImageBitmap imageOrientation "from-image") and without any metadata (a canvas keeps none:
 * no EXIF, so no GPS), given a client UUID and put in the offline queue (offline-queue.js), which sends it to
 * POST /api/v1/audits/<uuid>/photos now or when the connection returns. Without JavaScript the form
 * posts as usual, and the server runs its full pipeline on whatever arrives either way.
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

  function enhance(form) {
    var inputs = fileInputs(form); // camera and gallery
    var bar = document.querySelector("[data-offline-bar]");
    form.addEventListener("submit", function (event) {
      var files = inputs.reduce(function (all, input) {
        return all.concat(Array.prototype.slice.call(input.files || []));
      }, []);
      if (!files.length) {
        return; // the server explains that a photo is needed
      }
      event.preventDefault();
      var formRoom = fieldValue(form, "zone_instance");
      var item = itemOf(form, inputs[0]);
      Promise.all(files.map(function (file) {
        return downsize(file).then(function (blob) {
          return queue.putPhoto(auditApi, {id: crypto.randomUUID(), item: item,
                                           zone_instance: formRoom === null ? room : formRoom,
                                           blob: blob, name: (file.name || "photo").replace(/\.\w+$/, "") + ".jpg"});
        });
      })).then(function () {
        inputs.forEach(function (input) { input.value = ""; });
        say(form, bar.getAttribute("data-photo-queued"));
        return queue.drain();
      });
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

  document.addEventListener("fivs:photo-saved", function (event) {
    sayForItem(event.detail.record, document.querySelector("[data-offline-bar]").getAttribute("data-photo-sent"));
  });

  /* The upload's progress, by the item too (the offline bar shows it as well). */
  document.addEventListener("fivs:photo-progress", function (event) {
    var pct = String(Math.min(100, Math.round(100 * event.detail.loaded / (event.detail.total || 1))));
    var lang = document.documentElement.getAttribute("lang") || "vi";
    sayForItem(event.detail.record, document.querySelector("[data-offline-bar]").getAttribute("data-sending-photo")
      .replace("{pct}", lang === "vi" ? pct + " %" : pct + "%"));
  });
})();
