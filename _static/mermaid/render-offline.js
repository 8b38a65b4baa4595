// Fallback renderer for Mermaid diagrams when the book is opened from disk (file:// URLs).
//
// Browsers refuse ES-module imports from file:// pages, so there sphinxcontrib-mermaid's module
// script never runs. Jupyter Book loads this classic script (and mermaid.tiny.js) on every page;
// once the page has loaded, it renders the diagrams itself, but only when sphinxcontrib-mermaid
// did not start (it defines window.runMermaid when it does, e.g. on a web server).
(function () {
  "use strict";

  function renderDiagrams() {
    var diagrams = document.querySelectorAll(".mermaid");
    if (diagrams.length === 0 || window.runMermaid || !window.mermaid) {
      return;
    }
    var dark = document.documentElement.dataset.theme === "dark";
    window.mermaid.initialize({ startOnLoad: false, theme: dark ? "dark" : "default" });
    window.mermaid.run({ nodes: Array.prototype.slice.call(diagrams) });
  }

  window.addEventListener("load", renderDiagrams);
})();
