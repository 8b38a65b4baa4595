// Fallback renderer for Mermaid diagrams when the book is opened from disk (file:// URLs).
//
// Browsers refuse ES-module imports from file:// pages, so there sphinxcontrib-mermaid's module
// script (and esm-shim.mjs, which loads Mermaid) never runs. Jupyter Book loads this small
// classic script on every page; once the page has loaded, and only if it has diagrams and
// sphinxcontrib-mermaid did not start (it defines window.runMermaid when it does, e.g. on a web
// server), it loads Mermaid's single-file build as a classic script and renders them itself.
(function () {
  "use strict";

  // This script's own URL, to find mermaid.tiny.mjs next to it.
  var here = document.currentScript ? document.currentScript.src : "";

  function render(diagrams) {
    var dark = document.documentElement.dataset.theme === "dark";
    window.mermaid.initialize({
      startOnLoad: false,
      theme: dark ? "dark" : "default",
      flowchart: { useMaxWidth: false },
    });
    window.mermaid.run({ nodes: diagrams });
  }

  function renderDiagrams() {
    var diagrams = Array.prototype.slice.call(document.querySelectorAll("pre.mermaid"));
    if (diagrams.length === 0 || window.runMermaid || !here) {
      return;
    }
    if (window.mermaid) {
      render(diagrams);
      return;
    }
    var script = document.createElement("script");
    script.src = here.replace(/render-offline\.js(\?.*)?$/, "mermaid.tiny.mjs");
    script.onload = function () { render(diagrams); };
    document.head.appendChild(script);
  }

  window.addEventListener("load", renderDiagrams);
})();
