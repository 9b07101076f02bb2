/* PAR Index assessment — the pages work without this file (forms post and reload); it only
   adds comfort: confirmations, field errors announced to screen readers, upload progress,
   and the live notification count. No inline scripts anywhere: behaviour hangs on data-
   attributes, so a Content-Security-Policy without 'unsafe-inline' can be applied. */
(function () {
  "use strict";

  document.documentElement.classList.add("js");

  /* A form with data-confirm asks before it is sent (submitting, finalising …). */
  document.addEventListener(
    "submit",
    function (event) {
      var form = event.target;
      var question = form.getAttribute && form.getAttribute("data-confirm");
      if (question && !window.confirm(question)) {
        event.preventDefault();
        event.stopPropagation();
      }
    },
    true
  );

  /* A form's setting (data-failed, data-max-bytes …): its own, or that of the closest element
     around it that says it once for all its forms (the score sheet's rows). An upload's
     failure is data-upload-failed, as its list holds the score forms' data-failed too. */
  function setting(form, name) {
    var holder = form.closest && form.closest("[" + name + "]");
    return holder ? holder.getAttribute(name) : null;
  }

  /* A form with data-max-bytes sends no file over its limit: the words of data-too-large
     (with the file's size) are said beside the file field, and the form keeps what it holds.
     The server answers such a body 413 before reading it; said the same way when it does. */
  function chosenFile(form) {
    var inputs = form.querySelectorAll ? form.querySelectorAll("input[type=file]") : [];
    for (var i = 0; i < inputs.length; i++) {
      var file = inputs[i].files && inputs[i].files[0];
      if (file) return { input: inputs[i], size: file.size };
    }
    return null;
  }

  function megabytes(bytes) {
    var language = document.documentElement.getAttribute("lang") || "vi";
    return new Intl.NumberFormat(language, { maximumFractionDigits: 1 }).format(bytes / 1048576);
  }

  function sayTooLarge(form, chosen) {
    var text = (setting(form, "data-too-large") || "").replace("{size}", megabytes(chosen.size));
    var error = document.getElementById(chosen.input.id + "-error");
    if (error) {
      error.textContent = text;
      error.setAttribute("role", "alert");
    }
    chosen.input.setAttribute("aria-invalid", "true");
    var status = document.getElementById(form.getAttribute("data-status") || "");
    if (status) status.textContent = "";
    var bar = form.querySelector("progress");
    if (bar) bar.hidden = true;
    var button = form.querySelector("button[type=submit]");
    if (button) button.disabled = false;
  }

  document.addEventListener(
    "submit",
    function (event) {
      var form = event.target;
      var max = form.getAttribute && parseInt(setting(form, "data-max-bytes") || "", 10);
      var chosen = max > 0 ? chosenFile(form) : null;
      if (chosen && chosen.size > max) {
        event.preventDefault();
        event.stopPropagation();
        sayTooLarge(form, chosen);
        chosen.input.focus();
      }
    },
    true
  );

  /* After a partial update, mark the fields whose error text is not empty. */
  function markInvalid(root) {
    var errors = (root || document).querySelectorAll("[data-error-for]");
    errors.forEach(function (node) {
      var field = document.getElementById(node.getAttribute("data-error-for"));
      if (!field) return;
      if (node.textContent.trim()) field.setAttribute("aria-invalid", "true");
      else field.removeAttribute("aria-invalid");
    });
  }

  function word(name) {
    var box = document.getElementById("js-words");
    return (box && box.getAttribute("data-" + name)) || "";
  }

  function sayNotSaved(form, text) {
    var target = document.getElementById(form.getAttribute("data-status") || "");
    if (!target || !text) return;
    target.textContent = "";
    var span = document.createElement("span");
    span.className = "not-saved";
    span.textContent = text;
    target.appendChild(span);
  }

  /* What the server said when it refused a request with a whole page (403, 404, 429, 503 …):
     the page's heading and first paragraph. */
  function serverMessage(xhr) {
    if (!xhr || !xhr.responseText) return "";
    var doc = new DOMParser().parseFromString(xhr.responseText, "text/html");
    var main = doc.querySelector("main") || doc.body;
    if (!main) return "";
    var parts = [];
    var heading = main.querySelector("h1");
    var paragraph = main.querySelector("h1 ~ p, p");
    if (heading) parts.push(heading.textContent.trim());
    if (paragraph && paragraph.textContent.trim()) parts.push(paragraph.textContent.trim());
    return parts.join(" – ");
  }

  /* A refused or unsent autosave says why where "Saved" would appear, and the form keeps
     what was typed (also across a reload, until a save succeeds). */
  function notSaved(event) {
    var form = event.detail && event.detail.elt;
    if (!form || !form.getAttribute || !form.hasAttribute("data-status")) return;
    var button = form.querySelector && form.querySelector("button[type=submit]");
    if (button) button.disabled = false;
    var xhr = event.detail.xhr;
    var chosen = chosenFile(form);
    if (xhr && xhr.status === 413 && chosen && setting(form, "data-too-large") !== null) {
      sayTooLarge(form, chosen);
      return;
    }
    var text = setting(form, form.hasAttribute("data-upload") ? "data-upload-failed" : "data-failed");
    if (event.type === "htmx:responseError" && xhr && xhr.status) {
      var said = serverMessage(xhr);
      text = said ? word("refused") + " " + said : text;
    }
    sayNotSaved(form, text);
    keepDraft(form);
  }

  /* A session that ended sends the autosave to the sign-in page: say so, swap nothing. */
  function toSignIn(xhr) {
    var login = word("login-url");
    try {
      return !!login && new URL(xhr.responseURL, window.location.href).pathname === login;
    } catch (e) {
      return false;
    }
  }

  function signedOut(event) {
    var form = event.detail && event.detail.elt;
    var xhr = event.detail && event.detail.xhr;
    if (!form || !form.hasAttribute || !form.hasAttribute("data-status") || !xhr) return;
    if (!toSignIn(xhr)) return;
    event.detail.shouldSwap = false;
    sayNotSaved(form, word("signed-out"));
    keepDraft(form);
  }

  /* Drafts: the fields of a form whose save did not succeed, by page and form action. */
  var DRAFT_FIELDS = "input[type=text], input:not([type]), textarea, select, input[type=checkbox], input[type=radio]";

  function draftKey(form) {
    return "par-draft:" + window.location.pathname + ":" + form.getAttribute("action");
  }

  function keepDraft(form) {
    var values = {};
    form.querySelectorAll(DRAFT_FIELDS).forEach(function (field) {
      if (!field.id) return;
      values[field.id] = field.type === "checkbox" || field.type === "radio" ? field.checked : field.value;
    });
    try {
      window.sessionStorage.setItem(draftKey(form), JSON.stringify(values));
    } catch (e) {
      /* storage full or disabled: the fields on the page still hold the text */
    }
    form.setAttribute("data-unsaved", "true");
  }

  function dropDraft(event) {
    var form = event.detail && event.detail.elt;
    var xhr = event.detail && event.detail.xhr;
    if (!form || !form.hasAttribute || !form.hasAttribute("data-status") || !xhr) return;
    if (xhr.status >= 200 && xhr.status < 300 && !toSignIn(xhr)) {
      try {
        window.sessionStorage.removeItem(draftKey(form));
      } catch (e) {
        /* nothing was kept */
      }
      form.removeAttribute("data-unsaved");
    } else if (xhr.status >= 400) {
      keepDraft(form);
    }
  }

  function restoreDrafts() {
    document.querySelectorAll("form[data-status][action]").forEach(function (form) {
      var stored;
      try {
        stored = window.sessionStorage.getItem(draftKey(form));
      } catch (e) {
        return;
      }
      if (!stored) return;
      var values = JSON.parse(stored);
      Object.keys(values).forEach(function (id) {
        var field = document.getElementById(id);
        if (!field || !form.contains(field)) return;
        if (field.type === "checkbox" || field.type === "radio") field.checked = values[id];
        else field.value = values[id];
      });
      form.setAttribute("data-unsaved", "true");
      sayNotSaved(form, word("restored"));
    });
  }

  /* An upload says it is on its way as soon as it leaves. */
  function uploadStarts(event) {
    var form = event.detail && event.detail.elt;
    if (!form || !form.hasAttribute || !form.hasAttribute("data-upload")) return;
    var target = document.getElementById(form.getAttribute("data-status") || "");
    if (target) target.textContent = setting(form, "data-sending") || "";
    var button = form.querySelector("button[type=submit]");
    if (button) button.disabled = true;
  }

  /* Upload progress: a form with data-upload shows the bytes sent in its <progress>. */
  function uploadProgress(event) {
    var form = event.target.closest && event.target.closest("form[data-upload]");
    if (!form || !event.detail || !event.detail.lengthComputable) return;
    var bar = form.querySelector("progress");
    if (!bar) return;
    bar.hidden = false;
    bar.max = event.detail.total;
    bar.value = event.detail.loaded;
  }

  /* A new notification is said once, politely, in a corner (and to screen readers). */
  function announce(data) {
    var box = document.getElementById("live-notice");
    if (!box || typeof data.text !== "string") return;
    box.textContent = data.text;
    box.hidden = false;
    window.clearTimeout(announce.timer);
    announce.timer = window.setTimeout(function () {
      box.hidden = true;
    }, 10000);
  }

  /* The bell: the unread count, kept live over the WebSocket; the link works regardless.
     The socket opens with a single-use ticket the page asks for with its session (the
     session cookie is not what opens it); the server closes it when the session ends, and
     a new ticket is then refused, so the page stops trying. Asked too often (429), it says
     so on the bell, in the server's words, and asks again only after the wait given. */
  function startBell() {
    var bell = document.querySelector("[data-bell][data-bell-ws][data-bell-ticket]");
    if (!bell || !window.WebSocket || !window.fetch) return;
    var counter = bell.querySelector("[data-bell-count]");
    var unreadWord = counter ? counter.getAttribute("data-bell-unread-label") || "" : "";
    /* the server counts unread notifications up to one more than this: beyond, "99+" */
    var most = counter ? parseInt(counter.getAttribute("data-bell-most") || "", 10) : NaN;
    var csrf = document.querySelector("input[name=csrfmiddlewaretoken]");
    var delay = 1000;
    var socket;
    var seen = {};

    function show(n) {
      if (!counter || typeof n !== "number") return;
      var text = n > most ? most + "+" : String(n);
      counter.textContent = text;
      counter.setAttribute("aria-label", text + " " + unreadWord);
      counter.classList.toggle("is-zero", n === 0);
    }

    function waiting(text) {
      bell.classList.toggle("is-waiting", !!text);
      if (text) bell.setAttribute("title", text);
      else bell.removeAttribute("title");
    }

    function later() {
      window.setTimeout(connect, delay);
      delay = Math.min(delay * 2, 60000);
    }

    function connect() {
      window
        .fetch(bell.getAttribute("data-bell-ticket"), {
          method: "POST",
          credentials: "same-origin",
          headers: {
            "X-CSRFToken": csrf ? csrf.value : "",
            Accept: "application/json",
            /* the API negotiates its language; the page's is the one its reader chose */
            "Accept-Language": document.documentElement.getAttribute("lang") || "vi",
          },
        })
        .then(function (response) {
          if (response.status === 401 || response.status === 403) return null; /* signed out */
          if (response.status === 429) {
            /* too many tickets asked for: wait as long as the server says */
            var wait = parseInt(response.headers.get("Retry-After") || "", 10);
            if (wait > 0) delay = Math.max(delay, wait * 1000);
            return response.json().then(function (body) {
              if (body && typeof body.detail === "string") waiting(body.detail);
              throw new Error("no ticket yet: 429");
            });
          }
          if (!response.ok) throw new Error("no ticket: " + response.status);
          return response.json();
        })
        .then(function (body) {
          if (body && typeof body.ticket === "string") openSocket(body.ticket);
        })
        .catch(later);
    }

    function openSocket(ticket) {
      var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
      var address = bell.getAttribute("data-bell-ws") + "?ticket=" + encodeURIComponent(ticket);
      socket = new WebSocket(scheme + window.location.host + address);
      socket.addEventListener("open", function () {
        delay = 1000;
        waiting("");
        bell.classList.add("is-live");
      });
      socket.addEventListener("message", function (event) {
        var data;
        try {
          data = JSON.parse(event.data);
        } catch (e) {
          return;
        }
        if (data && (data.type === "hello" || data.type === "notification" || data.type === "unread")) {
          show(data.unread);
        }
        if (data && data.type === "notification" && typeof data.id === "number") {
          socket.send(JSON.stringify({ type: "ack", id: data.id }));
          if (!seen[data.id]) announce(data); /* pushes come at least once */
          seen[data.id] = true;
        }
      });
      socket.addEventListener("close", function () {
        bell.classList.remove("is-live");
        later(); /* a new ticket first: refused once the session has ended */
      });
    }
    connect();
  }

  document.addEventListener("DOMContentLoaded", function () {
    markInvalid(document);
    restoreDrafts();
    startBell();
    document.body.addEventListener("htmx:afterSettle", function (event) {
      markInvalid(document);
    });
    document.body.addEventListener("htmx:sendError", notSaved);
    document.body.addEventListener("htmx:responseError", notSaved);
    document.body.addEventListener("htmx:beforeSwap", signedOut);
    document.body.addEventListener("htmx:afterRequest", dropDraft);
    document.body.addEventListener("htmx:xhr:progress", uploadProgress);
    document.body.addEventListener("htmx:beforeRequest", uploadStarts);
  });
})();
