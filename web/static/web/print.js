// The Print button of a statement (<button data-print>): a handler attached here, since the
// Content-Security-Policy runs scripts from the app's static files only, never inline ones.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("button[data-print]").forEach((button) => {
    button.addEventListener("click", () => window.print());
  });
});
