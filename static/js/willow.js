// Console behaviour without a build step: copy buttons, the options menu, clickable log rows.
"use strict";

(function () {
  // Copy buttons: <button data-copy-target="id">. Without the clipboard API (plain http
  // hosts), the text is selected so the admin can press Ctrl+C, and the button says so.
  function setupCopyButtons() {
    document.querySelectorAll("[data-copy-target]").forEach(function (button) {
      var target = document.getElementById(button.dataset.copyTarget);
      var status = document.getElementById(button.dataset.copyStatus);
      if (!target) return;
      button.hidden = false;
      button.addEventListener("click", function () {
        var text = target.value !== undefined ? target.value : target.textContent;
        function say(message) { if (status) status.textContent = message; }
        function fallback() {
          if (typeof target.select === "function") target.select();
          else {
            var range = document.createRange();
            range.selectNodeContents(target);
            var selection = window.getSelection();
            selection.removeAllRanges();
            selection.addRange(range);
          }
          var what = button.dataset.copyWhat || "text";
          say("Copying is not available here: the " + what + " is selected, press Ctrl+C (⌘C on a Mac).");
        }
        if (navigator.clipboard && window.isSecureContext) {
          navigator.clipboard.writeText(text).then(function () { say("Copied to the clipboard."); }, fallback);
        } else {
          fallback();
        }
      });
    });
  }

  // Options menus: <div data-menu><button aria-haspopup="true" aria-expanded="false"
  // aria-controls="id"> + <ul id="id" role="menu" hidden> with role="menuitem" links.
  function setupMenus() {
    document.querySelectorAll("[data-menu]").forEach(function (root) {
      var button = root.querySelector("[aria-haspopup]");
      var menu = document.getElementById(button.getAttribute("aria-controls"));
      if (!button || !menu) return;
      function items() { return Array.prototype.slice.call(menu.querySelectorAll("[role=menuitem]")); }
      function open(focusIndex) {
        menu.hidden = false;
        button.setAttribute("aria-expanded", "true");
        var list = items();
        if (list.length) list[(focusIndex + list.length) % list.length].focus();
      }
      function close(returnFocus) {
        menu.hidden = true;
        button.setAttribute("aria-expanded", "false");
        if (returnFocus) button.focus();
      }
      button.addEventListener("click", function () {
        if (menu.hidden) open(0); else close(false);
      });
      button.addEventListener("keydown", function (event) {
        if (event.key === "ArrowDown") { event.preventDefault(); open(0); }
        if (event.key === "ArrowUp") { event.preventDefault(); open(-1); }
      });
      menu.addEventListener("keydown", function (event) {
        var list = items();
        var index = list.indexOf(document.activeElement);
        if (event.key === "Escape") { event.preventDefault(); close(true); }
        else if (event.key === "ArrowDown") { event.preventDefault(); list[(index + 1) % list.length].focus(); }
        else if (event.key === "ArrowUp") { event.preventDefault(); list[(index - 1 + list.length) % list.length].focus(); }
        else if (event.key === "Home") { event.preventDefault(); list[0].focus(); }
        else if (event.key === "End") { event.preventDefault(); list[list.length - 1].focus(); }
        else if (event.key === "Tab") { close(false); }
      });
      document.addEventListener("click", function (event) {
        if (!menu.hidden && !root.contains(event.target)) close(false);
      });
    });
  }

  // Log rows: <tr data-href="…"> opens the entry when clicked anywhere on the row, as
  // request logs do; links inside the row and text being selected keep working.
  function setupRowLinks() {
    document.querySelectorAll("tr[data-href]").forEach(function (row) {
      row.addEventListener("click", function (event) {
        if (event.target.closest("a, button, input, select, label")) return;
        if (String(window.getSelection())) return;
        if (event.ctrlKey || event.metaKey) window.open(row.dataset.href, "_blank");
        else window.location.assign(row.dataset.href);
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    setupCopyButtons();
    setupMenus();
    setupRowLinks();
  });
})();
