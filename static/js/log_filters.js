// The log filter form submits only the fields that are filled: a GET form sends every
// field, and "?from=&to=&method=&…" is a URL nobody wants to bookmark or share. Without
// JavaScript the server redirects such a URL to its clean form (monitor.views), so this
// only saves that round trip.
"use strict";

(function () {
  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("log-filters");
    if (!form) return;
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var params = new URLSearchParams();
      new FormData(form).forEach(function (value, name) {
        if (typeof value === "string" && value.trim() !== "") params.append(name, value.trim());
      });
      var query = params.toString();
      window.location.assign(form.action + (query ? "?" + query : ""));
    });
  });
})();
